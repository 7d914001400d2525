import { secretsDirectory } from "../../render/deployment";

export type FileSet = Record<string, { content: string; secret: boolean }>;

export const redactedValue = "<redacted>";

/** Replaces the body of every PEM or OpenSSH private key, wherever it appears (YAML block scalars included). */
export function redactPrivateKeys(text: string): string {
  return text.replace(
    /-----BEGIN ([A-Z ]*PRIVATE KEY)-----[\s\S]*?-----END \1-----/g,
    `-----BEGIN $1-----\n${redactedValue}\n-----END $1-----`,
  );
}

/**
 * Redacts the secret values of secret files: a secret variable's file whole, .env values, private keys.
 * Everything else in them (names, structure) stays, so the output still shows what would be deployed.
 */
export function redact(files: FileSet): FileSet {
  const redacted: FileSet = {};
  for (const [path, file] of Object.entries(files)) {
    let content = file.content;
    if (file.secret && path.startsWith(`${secretsDirectory}/`)) content = redactedValue;
    else if (file.secret) {
      content = redactPrivateKeys(content.replace(/^([A-Z0-9_]+)='.*'$/gm, `$1='${redactedValue}'`));
    }
    redacted[path] = { content, secret: file.secret };
  }
  return redacted;
}

interface StateExport {
  deployment?: {
    resources?: { type: string; urn: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[];
  };
}

/**
 * A value of `pulumi stack export --show-secrets` with every secret revealed: each one is an object
 * carrying its JSON as `plaintext`, at any depth (a secret field inside a secret object included).
 */
export function revealed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revealed);
  if (!value || typeof value !== "object") return value;
  if ("plaintext" in value) return revealed(JSON.parse((value as { plaintext: string }).plaintext));
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, revealed(child)]));
}

/**
 * The files of a stack's last deployment, decoded from the install steps' stdin in its state
 * (`pulumi stack export --show-secrets`): path, mode and base64 content per line.
 */
export function filesFromState(state: StateExport): FileSet {
  const installs = (state.deployment?.resources ?? []).filter(
    (resource) => resource.type === "command:remote:Command" && /-install-(config|secrets)$/.test(resource.urn),
  );
  const bundles = installs
    .map((install) => revealed(install.inputs?.stdin))
    .filter((bundle): bundle is string => typeof bundle === "string");
  if (bundles.length === 0)
    throw new Error(
      "the stack has no deployment in its state yet; run `npm run pulumi -- up --stack <stack>` first, or render without --reveal",
    );
  const files: FileSet = {};
  for (const line of bundles.join("\n").split("\n").filter(Boolean)) {
    const [path, mode, content] = line.split("\t");
    if (!path || !mode || content === undefined) throw new Error(`malformed bundle line for ${path ?? "?"}`);
    files[path] = { content: Buffer.from(content, "base64").toString("utf8"), secret: mode === "0600" };
  }
  return files;
}
