/** `npm run teardown -- [--stack STACK] [--confirm STACK] [--cwd DIR]`: see teardownPlan in stagingOps.ts. */
import { parseArgs } from "node:util";
import { exportedState, runSteps, stackEnvironment } from "./stacks";
import { teardownPlan } from "./stagingOps";

async function main() {
  const { values } = parseArgs({
    options: { stack: { type: "string", default: "staging" }, confirm: { type: "string" }, cwd: { type: "string" } },
  });
  const dir = values.cwd ?? process.cwd();
  const stack = values.stack!;
  await runSteps(
    dir,
    teardownPlan(stack, stackEnvironment(dir, stack), values.confirm, await exportedState(dir, stack)),
  );
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
