/**
 * `npm run pulumi -- <args>`: this project's own `pulumi` with its environment (the CLI and plugins
 * `npm run tools` built, the project's PULUMI_HOME, backend and example passphrase), so a hint such as
 * `npm run pulumi -- config get syntheticPassword --stack dev` works exactly as printed.
 */
import execa from "execa";
import { projectDir, pulumiEnvironment, requirePulumi } from "../toolchain/toolchain";

async function main() {
  const env = pulumiEnvironment();
  await requirePulumi(env);
  const run = await execa("pulumi", process.argv.slice(2), { cwd: projectDir, env, stdio: "inherit", reject: false });
  process.exit(run.exitCode ?? 1);
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
