/**
 * `npm run preview -- STACK [--comment FILE]`: a real `pulumi preview --diff` of a committed stack with the
 * policy pack, against the project-local file backend and the example passphrase (or the caller's backend
 * and passphrase), printing the full plan. With --comment, also writes the pull-request comment for it.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import execa from "execa";
import { projectDir, pulumiEnvironment } from "../toolchain/toolchain";
import { previewComment } from "./previewComment";
import { decryptedConfig, ensureStack } from "./stacks";

async function main() {
  const { values, positionals } = parseArgs({ options: { comment: { type: "string" } }, allowPositionals: true });
  const [stack = "staging"] = positionals;
  await ensureStack(projectDir, stack);
  const preview = execa(
    "pulumi",
    ["preview", "--diff", "--non-interactive", "--stack", stack, "--policy-pack", "policy"],
    {
      cwd: projectDir,
      env: pulumiEnvironment(),
      all: true,
      reject: false,
    },
  );
  preview.all?.pipe(process.stdout);
  const { exitCode, all = "" } = await preview;
  if (values.comment) {
    const { raw, encrypted } = await decryptedConfig(projectDir, stack);
    writeFileSync(
      values.comment,
      previewComment({
        stack,
        ok: exitCode === 0,
        output: all,
        secretValues: [...encrypted].map((key) => raw[key] ?? ""),
      }),
    );
  }
  process.exit(exitCode);
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
