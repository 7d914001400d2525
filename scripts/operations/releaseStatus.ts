/**
 * `npm run release-status -- [STACK] [--soaked-since ISO] [--cwd DIR]`: whether prod may take the release
 * STACK (staging) runs (see promotion in stagingOps.ts). Prints the reason; in GitHub Actions also writes
 * `promote`, `awake` and `fresh` (soaked after --soaked-since) to the step's outputs.
 */
import { appendFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { exportedState, stackOutputs } from "./stacks";
import { lastSoakOf, promotion, type ReleaseOutputs } from "./stagingOps";

async function main() {
  const { values, positionals } = parseArgs({
    options: { "soaked-since": { type: "string" }, cwd: { type: "string" } },
    allowPositionals: true,
  });
  const stack = positionals[0] ?? "staging";
  const dir = values.cwd ?? process.cwd();
  const outputs = (await stackOutputs(dir, stack)) as ReleaseOutputs;
  const status = promotion(stack, { ...outputs, lastSoak: lastSoakOf(await exportedState(dir, stack)) });
  const since = values["soaked-since"];
  const fresh = Boolean(status.soakedAt && since && Date.parse(status.soakedAt) >= Date.parse(since));
  console.log(status.reason);
  console.log(`promote=${status.promote} awake=${status.awake} fresh=${fresh}`);
  if (process.env.GITHUB_OUTPUT)
    appendFileSync(process.env.GITHUB_OUTPUT, `promote=${status.promote}\nawake=${status.awake}\nfresh=${fresh}\n`);
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
