/**
 * `npm run render -- STACK OUT_DIR [--reveal]`: writes the files that would be deployed for a stack
 * (compose project, Ory and Caddy configuration, schemas, SQL, TLS material, cloud-init), rendered
 * from the stack's config by the same functions the program uses. Secret values are redacted; with
 * --reveal, the files come from the stack's last deployment in its Pulumi state instead.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import execa from "execa";
import { parsePlainConfig } from "../../lib/config/schema";
import { readStackFile } from "../../lib/config/stackFiles";
import { dataMountPath, deployUser } from "../../lib/topology";
import { renderForConfig } from "../../ops/parity";
import { renderCloudInit } from "../../render/cloudInit";
import { projectDir, pulumiEnvironment } from "../toolchain/toolchain";
import { type FileSet, filesFromState, redact, redactedValue } from "./renderedFiles";
import { ensureStack } from "./stacks";

async function fromState(stack: string): Promise<FileSet> {
  await ensureStack(projectDir, stack);
  const { stdout } = await execa("pulumi", ["stack", "export", "--show-secrets", "--stack", stack], {
    cwd: projectDir,
    env: pulumiEnvironment(),
  });
  return filesFromState(JSON.parse(stdout));
}

async function fromConfig(stack: string): Promise<FileSet> {
  const { config, problems } = parsePlainConfig(readStackFile(projectDir, stack).raw);
  if (!config) throw new Error(`invalid config for ${stack}:\n  - ${problems.join("\n  - ")}`);
  const files: FileSet = Object.fromEntries(
    Object.entries(await renderForConfig(config, stack)).map(([path, file]) => [
      path,
      { content: file.content, secret: file.secret },
    ]),
  );
  // The real keys are generated per stack at deploy time; placeholders stand in for them.
  const placeholder = (role: string) => `ssh-ed25519 <generated at deploy> ${role}@olympus-${stack}`;
  const hostKey = { publicKey: placeholder("host"), privateKey: redactedValue };
  const redactedFiles = redact(files);
  redactedFiles["cloud-init.yaml"] = {
    content: renderCloudInit({
      deployUser,
      authorizedKeys: [placeholder("deploy"), ...config.adminSshPublicKeys],
      hostKey,
      volumeId: "VOLUME_ID",
      mountPath: dataMountPath,
    }),
    secret: false,
  };
  return redactedFiles;
}

async function main() {
  const { values, positionals } = parseArgs({
    options: { reveal: { type: "boolean", default: false } },
    allowPositionals: true,
  });
  const [stack, outDir] = positionals;
  if (!stack || !outDir) throw new Error("usage: npm run render -- STACK OUT_DIR [--reveal]");
  const files = values.reveal ? await fromState(stack) : await fromConfig(stack);
  const root = resolve(outDir);
  for (const [path, file] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), file.content, { mode: file.secret ? 0o600 : 0o644 });
  }
  console.log(
    `wrote ${Object.keys(files).length} files for ${stack} to ${root}${values.reveal ? " (secrets revealed)" : " (secret values redacted)"}`,
  );
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
