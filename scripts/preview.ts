/**
 * `npm run preview -- STACK`: a real `pulumi preview --diff` of a committed stack with the policy pack,
 * against the project-local file backend and the example passphrase (or the caller's backend and
 * passphrase), printing the full plan.
 */
import { parseArgs } from "node:util";
import execa from "execa";
import { ensureStack } from "./stacks";
import { projectDir, pulumiEnvironment } from "./toolchain";

async function main() {
  const { positionals } = parseArgs({ allowPositionals: true });
  const [stack = "staging"] = positionals;
  await ensureStack(projectDir, stack);
  const preview = await execa("pulumi", ["preview", "--diff", "--non-interactive", "--stack", stack, "--policy-pack", "policy"], {
    cwd: projectDir,
    env: pulumiEnvironment(),
    stdio: "inherit",
    reject: false,
  });
  process.exit(preview.exitCode);
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
