/**
 * `npm run bench:restore`: what losing the data volume without warning costs on the dev stack with 10,000
 * seeded identities. A writer commits a new identity every 200 ms; PostgreSQL is killed (no shutdown, no
 * last archive) and its files deleted; `npm run restore -- dev --latest` brings the platform back.
 *   RPO: seconds of committed writes lost (the kill's time minus the newest write the restore holds);
 *        bounded by archive_timeout (60 s).
 *   RTO: from the restore command to the platform answering through Caddy (target under 120 s).
 * Last line: `restore: rpo <s> s, rto <s> s for <n> identities`.
 */
import execa from "execa";
import { createIdentity, listIdentities } from "../../clients/kratosAdmin";
import { backupPolicy } from "../../lib/backup";
import { parsePlainConfig } from "../../lib/config/schema";
import { readStackFile } from "../../lib/config/stackFiles";
import { adminHostUrl } from "../../lib/services";
import { hostnames } from "../../lib/topology";
import { edgeClient, projectCopy, stackContainers } from "../devhost/devCycle";
import { ensureStack } from "../operations/stacks";

const identities = 10_000;
const seconds = (since: number) => (performance.now() - since) / 1000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  if (Object.keys(await stackContainers()).length > 0)
    throw new Error("a dev stack already runs on this machine: npm run dev:down first");
  const { dir, env } = await projectCopy();
  const run = (script: string, args: string[]) => execa("npx", ["tsx", script, ...args], { cwd: dir, env, all: true });
  const pulumi = (args: string[]) =>
    execa("pulumi", [...args, "--stack", "dev", "--non-interactive"], { cwd: dir, env });
  const kratosAdmin = adminHostUrl("ciam-kratos");
  try {
    await ensureStack(dir, "dev", env);
    await pulumi(["config", "set", "--path", "seeding.count", String(identities)]);
    console.log(`[bench:restore] npm run dev with ${identities} synthetic identities`);
    await run("scripts/devhost/dev.ts", ["up"]);
    const { config } = parsePlainConfig(readStackFile(dir, "dev").raw);
    const names = hostnames(config!.domain, config!.siteSubdomain);
    const client = edgeClient(JSON.parse((await pulumi(["stack", "output", "edgeCa", "--json"])).stdout) as string);

    // Committed writes, each timed when Kratos answered (after its transaction committed).
    const committed: { email: string; at: number }[] = [];
    let writing = true;
    const writer = (async () => {
      for (let index = 0; writing; index++) {
        const email = `rpo.${index}@dev.olympus.test`;
        await createIdentity(kratosAdmin, { schema_id: "default", traits: { email, username: `rpo${index}` } });
        committed.push({ email, at: Date.now() });
        await pause(200);
      }
    })();
    // Long enough that segments were archived by the timeout and a partial one is in flight at the loss.
    await pause((backupPolicy.archiveTimeoutSeconds * 1.5 + 7) * 1000);
    await execa("podman", ["kill", "--signal", "KILL", "olympus_postgres_1"]);
    const lostAt = Date.now();
    writing = false;
    await writer.catch(() => undefined);
    await execa("sh", ["-c", "podman rm -f -t 0 $(podman ps -aq --filter label=com.docker.compose.project=olympus)"]);
    await execa("sh", ["-c", "rm -rf /srv/olympus/volumes/postgres/*"]);
    console.log(`[bench:restore] ${committed.length} writes committed; PostgreSQL killed and its files deleted`);

    const started = performance.now();
    await run("scripts/operations/restore.ts", ["dev", "--latest"]);
    for (;;) {
      const flow = await client.get(`https://${names.ciamLogin}/self-service/login/api`).catch(() => undefined);
      const discovery = await client
        .get(`https://${names.ciamOauth}/.well-known/openid-configuration`)
        .catch(() => undefined);
      if (flow?.status === 200 && discovery?.status === 200) break;
      await pause(250);
    }
    const rto = seconds(started);
    await client.close();

    const present = new Set((await listIdentities(kratosAdmin)).map((identity) => identity.traits.email));
    const kept = committed.filter(({ email }) => present.has(email));
    const newestKept = kept.at(-1)?.at ?? 0;
    const rpo = (lostAt - newestKept) / 1000;
    const total = present.size;
    console.log(`
| measure                                    | value                      | target     |
| ------------------------------------------ | -------------------------- | ---------- |
| identities in the restored cluster         | ${String(total).padEnd(26)} |            |
| writes committed before the loss           | ${String(committed.length).padEnd(26)} |            |
| writes the restore holds                   | ${String(kept.length).padEnd(26)} |            |
| RPO (loss - newest write restored)         | ${`${rpo.toFixed(1)} s`.padEnd(26)} | <= ${backupPolicy.archiveTimeoutSeconds} s    |
| RTO (restore command to healthy via Caddy) | ${`${rto.toFixed(1)} s`.padEnd(26)} | < 120 s    |
`);
    console.log(`restore: rpo ${rpo.toFixed(1)} s, rto ${rto.toFixed(1)} s for ${total} identities`);
  } finally {
    await run("scripts/devhost/dev.ts", ["down"]).catch((error: { all?: string }) => console.error(error.all));
  }
}

main().catch((error) => {
  console.error((error as { all?: string }).all ?? (error as Error).message);
  process.exit(1);
});
