import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Environment } from "../lib/config";
import type { EdgeSettings } from "../lib/edge";
import type { MailSettings } from "../lib/mail";
import { hostnames, type PublicSite } from "../lib/topology";
import type { ImageName } from "../lib/versions";
import { renderCaddyfile } from "./caddyfile";
import { loginSimulatorService, mailSandboxService, renderCompose, startupPhases } from "./compose";
import { environmentVariables, renderDotenv, secretFormatProblems, type DeploymentSecrets } from "./environment";
import { renderIdentitySchemas } from "./identitySchemas";
import { renderOryConfigs } from "./ory";
import { renderInitDb, renderSettingsSql } from "./sql";

/** What decides the configuration files: config only, never a secret, so they are known at preview. */
export interface ConfigInput {
  stack: string;
  environment: Environment;
  domain: string;
  siteSubdomain: string;
  images: Record<ImageName, string>;
  mail: MailSettings;
  edge: EdgeSettings;
  /** Synthetic logins per hour (0 = no simulator) and the addresses it may use. */
  loginSimulation: { loginsPerHour: number; emails: string[] };
}

/** Secrets and key material: generated per stack, so unknown until the stack's random resources exist. */
export interface SecretInput {
  mail: MailSettings;
  /** Keys the deploy user accepts from now on (the deploy step keeps authorized_keys in sync). */
  authorizedKeys: string[];
  secrets: DeploymentSecrets;
}

export type DeploymentInput = ConfigInput & SecretInput;

export interface RenderedFile {
  content: string;
  /** Octal file mode on the host. */
  mode: "0600" | "0644" | "0755";
  /** Holds secret values: redacted by `npm run render` and never logged. */
  secret: boolean;
}

export type RenderedFiles = Record<string, RenderedFile>;

const asset = (name: string) => readFileSync(join(__dirname, "assets", name), "utf8");
const plain = (content: string, mode: RenderedFile["mode"] = "0644"): RenderedFile => ({ content, mode, secret: false });
const secretFile = (content: string): RenderedFile => ({ content, mode: "0600", secret: true });

/** The compose project, Ory, Caddy and SQL configuration and the deploy script: identical in shape for every stack. */
export function renderConfigFiles(input: ConfigInput): RenderedFiles {
  const names = hostnames(input.domain, input.siteSubdomain);
  const url = (site: PublicSite) => `https://${names[site]}`;
  const simulate = input.loginSimulation.loginsPerHour > 0;
  const composeInput = {
    environment: input.environment,
    images: input.images,
    hostnames: names,
    domain: input.domain,
    captcha: input.edge.captcha,
    mailpit: input.mail.mode === "mailpit",
    loginSimulation: simulate,
  };
  const extras = [...(composeInput.mailpit ? [mailSandboxService] : []), ...(simulate ? [loginSimulatorService] : [])];

  const files: RenderedFiles = {
    "compose.yml": plain(renderCompose(composeInput)),
    Caddyfile: plain(renderCaddyfile({ acmeEmail: input.mail.fromAddress, hostnames: names, rateLimits: input.edge.caddyZones })),
    "init-db.sql": plain(renderInitDb()),
    "olympus-settings.sql": plain(renderSettingsSql(input.edge.sdkSettings, "security")),
    "phases.json": plain(`${JSON.stringify({ ...startupPhases, extras }, null, 2)}\n`),
    "olympus-deploy.sh": plain(asset("olympus-deploy.sh"), "0755"),
  };
  for (const [path, content] of Object.entries(
    renderOryConfigs({
      ciam: { loginUrl: url("ciamLogin"), returnUrls: [url("ciamAdmin"), url("site")], fromAddress: input.mail.fromAddress },
      iam: { loginUrl: url("iamLogin"), returnUrls: [url("iamAdmin"), url("site")], fromAddress: input.mail.fromAddress },
    }),
  )) {
    files[path] = plain(content);
  }
  for (const [path, content] of Object.entries(renderIdentitySchemas())) files[path] = plain(content);
  if (simulate) {
    files["login-simulator/login-simulator.sh"] = plain(asset("login-simulator.sh"), "0755");
    files["login-simulator/synthetic-emails.txt"] = plain(`${input.loginSimulation.emails.join("\n")}\n`);
    files["login-simulator/logins-per-hour"] = plain(`${input.loginSimulation.loginsPerHour}\n`);
  }
  return files;
}

/** The .env the services read their secrets from, the PostgreSQL TLS material and the deploy user's keys. */
export function renderSecretFiles(input: SecretInput): RenderedFiles {
  const problems = secretFormatProblems(input.secrets);
  if (problems.length > 0) throw new Error(`generated secrets are malformed: ${problems.join("; ")}`);
  return {
    ".env": secretFile(renderDotenv(environmentVariables({ ...input.secrets, smtpUri: input.mail.sandboxUri ?? input.secrets.smtpUri }))),
    authorized_keys: plain(`${input.authorizedKeys.join("\n")}\n`, "0600"),
    "postgres/ca.crt": plain(input.secrets.postgresTls.caCertificate),
    "postgres/server.crt": plain(input.secrets.postgresTls.serverCertificate),
    "postgres/server.key": secretFile(input.secrets.postgresTls.serverKey),
  };
}

/** Every file the deploy step installs on the host, keyed by path under the compose project directory. */
export function renderDeployment(input: DeploymentInput): RenderedFiles {
  return { ...renderConfigFiles(input), ...renderSecretFiles(input) };
}

/** One line per file for the deploy script's `install`: path, mode and base64 content, tab-separated. */
export function bundleFiles(files: RenderedFiles): string {
  return Object.entries(files)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, file]) => `${path}\t${file.mode}\t${Buffer.from(file.content).toString("base64")}`)
    .join("\n") + "\n";
}

/**
 * What was deployed, as one hash: every file (secret ones included, so a rotated secret counts as a
 * release) and every image. Keys the soak gate and the `up` step so they run once per release.
 */
export function releaseFingerprint(files: RenderedFiles, images: Record<string, string>): string {
  const hash = createHash("sha256");
  for (const [path, file] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) hash.update(`${path}\0${file.mode}\0${file.content}\0`);
  for (const [name, image] of Object.entries(images).sort(([a], [b]) => a.localeCompare(b))) hash.update(`${name}\0${image}\0`);
  return hash.digest("hex");
}
