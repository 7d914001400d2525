/**
 * `npm run restore -- <stack> (--latest | --to <ISO time> | --point <name>)`: restores the stack's
 * PostgreSQL from its own backup repository, on its own host: the deploy script stops every writer,
 * restores the cluster (into the volume it finds, empty or not) and brings the platform back through its
 * health-gated phases. A restore from another stack's repository is refused before anything stops.
 */
import { parseArgs } from "node:util";
import { runOverSsh } from "../../clients/tunnel";
import { projectDir } from "../toolchain/toolchain";
import { deployScriptCommand, hostAccess } from "./hostAccess";
import { restoreArguments, restoreRequest } from "./restorePlan";

async function main() {
  const { values, positionals } = parseArgs({
    options: {
      to: { type: "string" },
      latest: { type: "boolean", default: false },
      point: { type: "string" },
      from: { type: "string" },
    },
    allowPositionals: true,
  });
  const request = restoreRequest(projectDir, { stack: positionals[0], ...values });
  const started = performance.now();
  const code = await runOverSsh(
    await hostAccess(request.stack),
    deployScriptCommand(...restoreArguments(request.target)),
    (text) => process.stdout.write(text),
  );
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (code !== 0)
    throw new Error(`the restore of ${request.stack} failed after ${seconds} s (exit ${code}); see above`);
  console.log(`restored ${request.stack} in ${seconds} s; the platform is up`);
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
