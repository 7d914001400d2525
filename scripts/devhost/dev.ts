/**
 * `npm run dev`: makes this machine the dev tier's host (scripts/devhost/devHost.ts), runs `pulumi up --stack dev`
 * with the policy pack, and prints where to log in. `npm run dev -- down` (npm run dev:down) runs
 * `pulumi destroy --stack dev` and releases the host's sshd and names.
 */
import { parseArgs } from "node:util";
import execa from "execa";
import { syntheticEmailDomain } from "../../clients/identities";
import { parsePlainConfig } from "../../lib/config/schema";
import { readStackFile } from "../../lib/config/stackFiles";
import { hostUrl } from "../../lib/services";
import { ensureStack, stackOutputs } from "../operations/stacks";
import { projectDir, pulumiEnvironment } from "../toolchain/toolchain";
import { devStack, prepareDevHost, reachDevHost, releaseDevHost } from "./devHost";

const pulumi = (args: string[]) =>
  execa("pulumi", [...args, "--stack", devStack, "--non-interactive"], {
    cwd: projectDir,
    env: pulumiEnvironment(),
    stdio: "inherit",
  });

async function up() {
  await prepareDevHost();
  await ensureStack(projectDir, devStack);
  await pulumi(["up", "--yes", "--policy-pack", "policy"]);
  const { config } = parsePlainConfig(readStackFile(projectDir, devStack).raw);
  const { urls, leftOut } = (await stackOutputs(projectDir, devStack)) as {
    urls: Record<string, string>;
    leftOut: string[];
  };
  console.log(`
The dev tier runs on this machine (published on 127.0.0.1 only; certificates from Caddy's internal CA,
its root: npm run pulumi -- stack output edgeCa --stack dev).

  Mailpit (every mail the stack sends):  ${hostUrl("mailpit", "ui")}
  Monitoring (what fires, the targets):  npm run status -- dev (Prometheus's API: ${hostUrl("prometheus", "http")})
  CIAM login (Kratos's API through Caddy): ${urls.ciamLogin}/self-service/login/api
  OIDC discovery:                          ${urls.ciamOauth}/.well-known/openid-configuration
                                           ${urls.iamOauth}/.well-known/openid-configuration
  Seeded users:                            ${config?.seeding.count} at @${syntheticEmailDomain(devStack)}
                                           password: npm run pulumi -- config get syntheticPassword --stack dev
  Left out (no image can be built here):   ${leftOut.join(", ") || "nothing"}

Take it down with: npm run dev:down`);
}

async function down() {
  await ensureStack(projectDir, devStack);
  await reachDevHost();
  await pulumi(["destroy", "--yes"]);
  await releaseDevHost();
}

const { positionals } = parseArgs({ allowPositionals: true });
(positionals[0] === "down" ? down() : up()).catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
