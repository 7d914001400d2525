/** `npm run staging-power -- sleep|wake [STACK] [--cwd DIR]`: staging sleep and wake (see stagingOps.ts). */
import { parseArgs } from "node:util";
import type { PowerRequest } from "../../lib/power";
import { runSteps, stackEnvironment } from "./stacks";
import { powerPlan } from "./stagingOps";

async function main() {
  const { values, positionals } = parseArgs({ options: { cwd: { type: "string" } }, allowPositionals: true });
  const [action, stack = "staging"] = positionals;
  if (action !== "sleep" && action !== "wake") throw new Error("usage: npm run staging-power -- sleep|wake [STACK]");
  const dir = values.cwd ?? process.cwd();
  await runSteps(dir, powerPlan(action as PowerRequest, stack, stackEnvironment(dir, stack)));
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
