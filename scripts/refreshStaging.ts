/** `npm run refresh-staging [-- --full] [--stack STACK] [--cwd DIR]`: see refreshPlan in stagingOps.ts. */
import { parseArgs } from "node:util";
import execa from "execa";
import { refreshPlan } from "./stagingOps";
import { runSteps, stackEnvironment } from "./stacks";

async function main() {
  const { values } = parseArgs({ options: { full: { type: "boolean", default: false }, stack: { type: "string", default: "staging" }, cwd: { type: "string" } } });
  const dir = values.cwd ?? process.cwd();
  const stack = values.stack!;
  const environment = stackEnvironment(dir, stack);
  const { stdout } = await execa("pulumi", ["stack", "export", "--stack", stack], { cwd: dir });
  const steps = refreshPlan(stack, environment, values.full!, JSON.parse(stdout));
  if (steps.length === 0) console.log(`${stack} holds no synthetic users; the next up seeds them`);
  await runSteps(dir, steps);
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
