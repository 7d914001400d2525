/** `npm run refresh-staging [-- --full] [--stack STACK] [--cwd DIR]`: see refreshPlan in stagingOps.ts. */
import { parseArgs } from "node:util";
import { exportedState, runSteps, stackEnvironment, stackOutputs } from "./stacks";
import { refreshPlan } from "./stagingOps";

async function main() {
  const { values } = parseArgs({
    options: {
      full: { type: "boolean", default: false },
      stack: { type: "string", default: "staging" },
      cwd: { type: "string" },
    },
  });
  const dir = values.cwd ?? process.cwd();
  const stack = values.stack!;
  const environment = stackEnvironment(dir, stack);
  const awake = (await stackOutputs(dir, stack)).awake !== false;
  await runSteps(dir, refreshPlan(stack, environment, values.full!, await exportedState(dir, stack), awake));
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
