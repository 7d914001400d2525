/**
 * `npm run bench:dev`: the dev tier's figures, in one run on this machine, from a throwaway copy of the
 * project: cold up (images and root filesystems built) and warm up to every service healthy, a release
 * under steady logins (switch time and failed requests), and destroy. Times to healthy are taken when
 * the deploy step reports every service up; the whole `npm run dev` (seeding, the one-minute soak) is
 * printed beside them. Last line: `dev: up <s> s, release <s> s with <n> failed requests, destroy <s> s`.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import execa from "execa";
import { syntheticIdentity } from "../../clients/identities";
import { parsePlainConfig } from "../../lib/config/schema";
import { readStackFile } from "../../lib/config/stackFiles";
import { hostnames } from "../../lib/topology";
import { type ImageName, localBuilds, localImage, localRepository } from "../../lib/versions";
import { edgeClient, projectCopy, stackContainers, steadyTraffic } from "../devhost/devCycle";
import { cacheRoot } from "../toolchain/toolchain";

const seconds = (since: number) => (performance.now() - since) / 1000;

/** Runs a command, returning its duration and when (seconds after start) a line matching `marker` appeared. */
async function timed(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
  marker: RegExp,
) {
  const started = performance.now();
  let markedAt: number | undefined;
  const child = execa(command, args, { ...options, all: true });
  child.all?.on("data", (chunk: Buffer) => {
    if (markedAt === undefined && marker.test(chunk.toString())) markedAt = seconds(started);
  });
  await child;
  return { total: seconds(started), markedAt: markedAt ?? Number.NaN };
}

async function main() {
  if (Object.keys(await stackContainers()).length > 0)
    throw new Error("a dev stack already runs on this machine: npm run dev:down first");
  const { dir, env } = await projectCopy();
  const healthy = /all services are up/;
  const dev = (verb: string) => timed("npx", ["tsx", "scripts/devhost/dev.ts", verb], { cwd: dir, env }, healthy);
  const pulumi = (args: string[]) =>
    execa("pulumi", [...args, "--stack", "dev", "--non-interactive"], { cwd: dir, env });
  try {
    console.log("[bench:dev] cold: removing the local images and root filesystems");
    const { stdout: images } = await execa("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    const ours = images.split("\n").filter((image) => image.startsWith(`${localRepository}/`));
    if (ours.length > 0) await execa("podman", ["rmi", "--force", ...ours]);
    rmSync(join(cacheRoot, "rootfs"), { recursive: true, force: true });
    const cold = await dev("up");
    const firstDestroy = await dev("down");
    const warm = await dev("up");

    const { config } = parsePlainConfig(readStackFile(dir, "dev").raw);
    const loginHost = hostnames(config!.domain, config!.siteSubdomain).ciamLogin;
    const ca = JSON.parse((await pulumi(["stack", "output", "edgeCa", "--json"])).stdout) as string;
    const password = (await pulumi(["config", "get", "syntheticPassword"])).stdout;
    const tag = "v26.2.0-bench";
    await execa("podman", [
      "tag",
      localImage("kratos", localBuilds.kratos!.tag),
      localImage("kratos" as ImageName, tag),
    ]);
    await pulumi(["config", "set", "--path", "stagedRollout.kratos", tag]);
    const client = edgeClient(ca);
    let index = 0;
    const traffic = steadyTraffic(
      client,
      loginHost,
      () =>
        syntheticIdentity(
          { stack: "dev", seed: config!.seeding.seed, run: `seed-${config!.seeding.seed}` },
          index++ % config!.seeding.count,
        ).traits.email,
      password,
      40,
    );
    const release = await timed(
      "pulumi",
      ["up", "--yes", "--stack", "dev", "--non-interactive"],
      { cwd: dir, env },
      healthy,
    );
    const counts = await traffic.stop();
    await client.close();
    const destroy = await dev("down");

    console.log(`
| step | to healthy | whole command |
|---|---|---|
| cold up (images and root filesystems built), npm run dev | ${cold.markedAt.toFixed(1)} s | ${cold.total.toFixed(1)} s |
| destroy, npm run dev:down | | ${firstDestroy.total.toFixed(1)} s |
| warm up, npm run dev | ${warm.markedAt.toFixed(1)} s | ${warm.total.toFixed(1)} s |
| release (Kratos recreated) under 40 logins/min and 10 flow requests/s | ${release.markedAt.toFixed(1)} s | ${release.total.toFixed(1)} s (with its soak) |
| destroy, npm run dev:down | | ${destroy.total.toFixed(1)} s |

requests during the release: ${counts.logins} logins and ${counts.flows} flow requests succeeded, ${counts.failures.length} failed${counts.failures.length ? `:\n  ${counts.failures.join("\n  ")}` : ""}
(npm run dev includes seeding ${config!.seeding.count} users and a ${config!.soak.durationSeconds} s soak; targets: warm up under 180 s, 0 failed requests, destroy under 60 s)`);
    console.log(
      `dev: up ${warm.markedAt.toFixed(1)} s, release ${release.markedAt.toFixed(1)} s with ${counts.failures.length} failed requests, destroy ${destroy.total.toFixed(1)} s`,
    );
  } finally {
    await execa("npx", ["tsx", "scripts/devhost/dev.ts", "down"], { cwd: dir, env, reject: false });
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
