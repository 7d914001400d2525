/**
 * `npm run bench:preview`: wall time of the staging preview (as `npm run preview` runs it: --diff and the
 * policy pack) beside the preview of an empty TypeScript program, same CLI, same machine, same backend,
 * interleaved so both see the same load. Also the staging preview without the policy pack, to show
 * where the time goes. Last line: `preview: <ratio>x an empty program`.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import execa from "execa";
import { projectDir, pulumiEnvironment } from "../toolchain/toolchain";

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);

function emptyProgram(dir: string) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Pulumi.yaml"), "name: empty\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "empty", private: true, main: "index.ts" }));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: "ES2022",
        module: "commonjs",
        esModuleInterop: true,
        skipLibCheck: true,
      },
      include: ["index.ts"],
    }),
  );
  writeFileSync(join(dir, "index.ts"), "export {};\n");
  symlinkSync(join(projectDir, "node_modules"), join(dir, "node_modules"));
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), "olympus-bench-preview-"));
  const env = pulumiEnvironment({ PULUMI_BACKEND_URL: `file://${join(scratch, "state")}` });
  mkdirSync(join(scratch, "state"));
  const empty = join(scratch, "empty");
  emptyProgram(empty);
  const cases = [
    { name: "empty TypeScript program", cwd: empty, stack: "bench", args: [] as string[] },
    {
      name: "staging (npm run preview: --diff, policy pack)",
      cwd: projectDir,
      stack: "staging",
      args: ["--diff", "--policy-pack", "policy"],
    },
    { name: "staging without the policy pack", cwd: projectDir, stack: "staging", args: ["--diff"] },
  ];
  try {
    for (const { cwd, stack } of cases)
      await execa("pulumi", ["stack", "select", "--create", stack, "--non-interactive"], { cwd, env });
    const times = cases.map(() => [] as number[]);
    // One warm-up round (file caches, compiled TypeScript), not counted.
    for (let round = -1; round < rounds; round++) {
      for (const [index, { cwd, stack, args }] of cases.entries()) {
        const started = performance.now();
        await execa("pulumi", ["preview", "--non-interactive", "--stack", stack, ...args], { cwd, env });
        if (round >= 0) times[index]!.push((performance.now() - started) / 1000);
      }
    }
    const [baseline, staging, withoutPolicies] = times.map(median) as [number, number, number];
    console.log(`pulumi preview, median of ${rounds} interleaved runs after one warm-up:\n`);
    console.log("| program | median | min | vs empty |");
    console.log("|---|---|---|---|");
    for (const [index, { name }] of cases.entries()) {
      const series = times[index]!;
      console.log(
        `| ${name} | ${median(series).toFixed(2)} s | ${Math.min(...series).toFixed(2)} s | ${(median(series) / baseline).toFixed(2)}x |`,
      );
    }
    console.log(
      `\npolicy pack: ${(staging - withoutPolicies).toFixed(2)} s; program and plugins beyond an empty program: ${(withoutPolicies - baseline).toFixed(2)} s`,
    );
    console.log(`preview: ${(staging / baseline).toFixed(2)}x an empty program`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
