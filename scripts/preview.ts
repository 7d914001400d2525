/**
 * `npm run preview -- STACK`: a real `pulumi preview --diff` of a committed stack, offline, against the
 * project-local file backend and the example passphrase, with the policy pack. It needs the command,
 * random and hcloud provider plugins; when `npm run tools` could not build them, it says which and why.
 */
import { parseArgs } from "node:util";
import execa from "execa";
import { ensureStack } from "./stacks";
import { projectDir, pulumiEnvironment, readManifest } from "./toolchain";

async function main() {
  const { positionals } = parseArgs({ allowPositionals: true });
  const [stack = "staging"] = positionals;
  const unavailable = Object.entries(readManifest().unavailablePlugins);
  if (unavailable.length > 0) {
    console.error(`cannot preview ${stack}: the program needs provider plugins that npm run tools could not build here:`);
    for (const [plugin, reason] of unavailable) console.error(`  - ${plugin}: ${reason}`);
    console.error("With a standard Pulumi installation (or a Go proxy that serves these modules) the preview runs as is.");
    process.exit(2);
  }
  await ensureStack(projectDir, stack);
  // The language host built here cannot start policy packs itself; the wrapper script starts this one.
  await execa("pulumi", ["preview", "--diff", "--non-interactive", "--stack", stack, "--policy-pack", "policy/run-policy-pack"], { cwd: projectDir, env: pulumiEnvironment(), stdio: "inherit" });
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
