import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import execa from "execa";
import { describe, expect, it } from "vitest";
import { createIdentity, deleteIdentity, listIdentities } from "../../clients/kratosAdmin";
import { apiLogin } from "../../clients/soakGate";
import { adminHostUrl, hostUrl } from "../../lib/services";
import { localBuilds, localImage } from "../../lib/versions";
import { backupRepositoryPid, repositoryData } from "../../scripts/devhost/backupRepository";
import { loginThroughEdge, stackContainers } from "../../scripts/devhost/devCycle";
import { type BackupState, backupState } from "../../scripts/operations/backups";
import { type DevStack, failingUp, pause, seededEmail, useDevStack, waitUntil } from "../helpers/devStack";

/**
 * PostgreSQL's backups on the dev stack, proven by restoring: continuous WAL archiving and full backups
 * into a real S3 server (versitygw) encrypted on the client, point-in-time restore after damage, a lost
 * volume brought back, an outage of the repository that loses nothing, and the restores that are refused.
 */
let dev: DevStack;
const kratosAdmin = adminHostUrl("ciam-kratos");
const kratosPublic = hostUrl("ciam-kratos", "public");
const hydraPublic = hostUrl("ciam-hydra", "public");
const seededCount = 100;
const backups = () => backupState("dev", dev.dir, dev.env);

/** Until PostgreSQL reports a WAL segment archived after `since` (epoch ms). */
const archivedAfter = (since: number, timeoutMs = 180_000) =>
  waitUntil(
    `a WAL segment archived after ${new Date(since).toISOString()}`,
    async () => {
      const state = await backups();
      return (state.archiver.lastArchived ?? 0) * 1000 > since ? state : undefined;
    },
    timeoutMs,
  );

/** A verified identity with a password, as an operator (or a registration that was verified) makes it. */
const createUser = (email: string, password: string) =>
  createIdentity(kratosAdmin, {
    schema_id: "default",
    state: "active",
    traits: { email, username: email.split("@")[0], first_name: "Restore", last_name: "Check" },
    verifiable_addresses: [{ value: email, via: "email", verified: true, status: "completed" }],
    credentials: { password: { config: { password } } },
  });

const emails = async () => new Set((await listIdentities(kratosAdmin)).map((identity) => identity.traits.email));

/** Every seeded user (and the extra ones) logs in with the real password check, four at a time. */
async function everyoneLogsIn(extra: [string, string][] = []) {
  const logins: [string, string][] = [
    ...Array.from({ length: seededCount }, (_, index) => [seededEmail(index), dev.password] as [string, string]),
    ...extra,
  ];
  const failures: string[] = [];
  for (let start = 0; start < logins.length; start += 4)
    await Promise.all(
      logins
        .slice(start, start + 4)
        .map(([email, password]) =>
          apiLogin(kratosPublic, email, password).catch((error: Error) => failures.push(error.message)),
        ),
    );
  expect(failures).toEqual([]);
}

const restore = (...args: string[]) => dev.npm("restore", ["dev", ...args]);
const postgresStartedAt = async () =>
  (await execa("podman", ["inspect", "--format", "{{.State.StartedAt}}", "olympus_postgres_1"])).stdout;
const psql = (database: string, sql: string) =>
  execa("podman", ["exec", "olympus_postgres_1", "psql", "-U", "olympus", "-d", database, "-Atc", sql]);

/** Every file under a directory, as its path and bytes. */
function files(dir: string): { path: string; bytes: Buffer }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .map((path) => ({ path, bytes: readFileSync(path) }));
}

useDevStack((started) => {
  dev = started;
});

describe("PostgreSQL's backups on the dev stack", () => {
  it("takes a full backup on the first deploy and archives WAL, all of it encrypted before it leaves the host", async () => {
    const seededAt = Date.now();
    const state: BackupState = await archivedAfter(seededAt);
    expect(state.stanza).toBe("olympus-dev");
    expect(state.backups.length).toBeGreaterThanOrEqual(1);
    expect(state.backups[0]!.type).toBe("full");
    expect(dev.devOutput).toMatch(/restore point release-\d{8}T\d{6}Z is archived/);

    // The seeded addresses are in the cluster's files in plain text (so the check below can fail) ...
    const clusterFiles = files("/srv/olympus/volumes/postgres");
    const addresses = Array.from({ length: seededCount }, (_, index) => seededEmail(index));
    expect(clusterFiles.some(({ bytes }) => addresses.some((address) => bytes.includes(address)))).toBe(true);
    // ... and in none of the repository's, though it holds the backup and the WAL written since the seeding.
    const repository = files(repositoryData(dev.dir)).filter(({ path }) => !path.includes(".vgwlocks"));
    expect(repository.reduce((total, { bytes }) => total + bytes.length, 0)).toBeGreaterThan(1_000_000);
    const readable = repository.filter(({ bytes }) => addresses.some((address) => bytes.includes(address)));
    expect(readable.map(({ path }) => path)).toEqual([]);
  });

  it("restores to a moment before damage: deleted users, a dropped table, all back, served through Caddy again", async () => {
    const registered: [string, string] = [`restored.${Date.now()}@dev.olympus.test`, "a-Long-restore-passphrase-4821"];
    await createUser(...registered);
    await pause(2000);
    const moment = new Date();
    await pause(2000);
    // Damage after the moment: ten customers deleted, a table Kratos cannot work without dropped.
    const doomed = (await listIdentities(kratosAdmin)).filter((identity) =>
      Array.from({ length: 10 }, (_, index) => seededEmail(index)).includes(identity.traits.email as string),
    );
    expect(doomed).toHaveLength(10);
    for (const identity of doomed) await deleteIdentity(kratosAdmin, identity.id);
    await psql("ciam_kratos", "drop table identity_credential_identifiers cascade");
    await expect(apiLogin(kratosPublic, seededEmail(20), dev.password)).rejects.toThrow();

    const restored = await restore("--to", moment.toISOString());
    expect(restored.exitCode, restored.all?.slice(-3000)).toBe(0);
    expect(restored.all).toContain(`restoring olympus-dev to ${moment.toISOString().slice(0, 10)}`);

    await everyoneLogsIn([registered]);
    for (const email of [seededEmail(0), registered[0]]) {
      const login = await loginThroughEdge(
        dev.client,
        dev.names.ciamLogin,
        email,
        email === registered[0] ? registered[1] : dev.password,
      );
      expect(login.status, email).toBe(200);
    }
  });

  it("brings a lost volume back from the repository: users, OAuth2 clients and Hydra's signing keys", async () => {
    const jwks = await (await fetch(`${hydraPublic}/.well-known/jwks.json`)).text();
    const clientIds = async () =>
      (
        (await (await fetch(`${adminHostUrl("iam-hydra")}/admin/clients`)).json()) as {
          client_id: string;
        }[]
      )
        .map((client) => client.client_id)
        .sort();
    const clients = await clientIds();
    expect(clients.length).toBeGreaterThan(0);
    // Hydra writes a key the first time it is asked for it: what the loss can take is only what the archive
    // did not hold yet (the RPO), so the comparison starts once a segment written after it is archived.
    // archive_timeout closes only a segment with writes in it: on a platform nobody uses, one is made here
    // (a WAL message) and the segment closed, so the wait does not depend on what else wrote, or when.
    const since = Date.now();
    await psql("postgres", "select pg_logical_emit_message(false, 'olympus-backup-test', 'mark'), pg_switch_wal()");
    await archivedAfter(since);
    // The volume is gone without warning: the containers with it, PostgreSQL's files under them.
    await execa("sh", ["-c", "podman rm -f -t 0 $(podman ps -aq --filter label=com.docker.compose.project=olympus)"]);
    await execa("sh", ["-c", "rm -rf /srv/olympus/volumes/postgres/*"]);
    expect(readdirSync("/srv/olympus/volumes/postgres")).toEqual([]);

    const restored = await restore("--latest");
    expect(restored.exitCode, restored.all?.slice(-3000)).toBe(0);
    // The bridges came back with the containers: each keeps a MAC set by hand (addr_assign_type 3), so
    // no container's cached gateway address goes stale as the others come and go.
    const bridgeAddressTypes = await execa("sh", [
      "-c",
      "for network in $(podman network ls -q --filter label=com.docker.compose.project=olympus); do cat /sys/class/net/$(podman network inspect --format '{{.NetworkInterface}}' $network)/addr_assign_type; done",
    ]);
    expect(bridgeAddressTypes.stdout.split("\n")).toEqual(["3", "3"]);
    await everyoneLogsIn();
    expect(await clientIds()).toEqual(clients);
    // The same keys: a token Hydra signed before the loss still validates against what it publishes now.
    expect(await (await fetch(`${hydraPublic}/.well-known/jwks.json`)).text()).toBe(jwks);
    // And the stack converges on the restored platform.
    expect((await dev.stack.up({ onEvent: dev.onEvent })).summary.result).toBe("succeeded");
  });

  it("keeps serving while the repository does not answer, catches up once it does, and restores into the outage", async () => {
    const pid = backupRepositoryPid(dev.dir);
    const written: { email: string; at: number }[] = [];
    process.kill(pid, "SIGSTOP");
    try {
      for (let index = 0; index < 30; index++) {
        const email = `outage.${index}.${Date.now()}@dev.olympus.test`;
        await createUser(email, "a-Long-outage-passphrase-1937");
        written.push({ email, at: Date.now() });
        await pause(2000);
      }
      // The platform served throughout: every write above succeeded, and a login through Caddy does.
      expect((await loginThroughEdge(dev.client, dev.names.ciamLogin, seededEmail(30), dev.password)).status).toBe(200);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const lastWrite = written.at(-1)!.at;
    const caughtUp = await archivedAfter(lastWrite, 300_000);
    expect((caughtUp.archiver.lastArchived ?? 0) * 1000).toBeGreaterThan(lastWrite);

    const inside = written[14]!.at + 500;
    const restored = await restore("--to", new Date(inside).toISOString());
    expect(restored.exitCode, restored.all?.slice(-3000)).toBe(0);
    const present = await emails();
    expect(written.filter(({ at }) => at <= inside).every(({ email }) => present.has(email))).toBe(true);
    expect(written.filter(({ at }) => at > inside).some(({ email }) => present.has(email))).toBe(false);
  });

  it("refuses a restore from another environment's repository before anything stops", async () => {
    const startedAt = await postgresStartedAt();
    const refused = await restore("--latest", "--from", "staging");
    expect(refused.exitCode).toBe(1);
    expect(refused.all).toContain("refusing to restore dev (dev) from staging's repository (staging)");
    expect(refused.all).toContain("dev never receives staging's data; nothing was stopped");
    expect(await postgresStartedAt()).toBe(startedAt);
    expect(Object.values(await stackContainers()).every((container) => container.state === "running")).toBe(true);
  });

  it("refuses a PostgreSQL major bump that would start an empty cluster beside the data, and runs on", async () => {
    const startedAt = await postgresStartedAt();
    const bumped = localImage("postgres", "19-debian");
    await execa("podman", ["tag", localImage("postgres", localBuilds.postgres!.tag), bumped]);
    await dev.stack.setConfig("stagedRollout.postgres", { value: "19-debian" }, true);
    const output = await failingUp(dev.stack);
    expect(output).toContain(
      "PostgreSQL 18's data is in /srv/olympus/volumes/postgres/18; this release runs PostgreSQL 19, which would start an empty cluster beside it",
    );
    expect(existsSync("/srv/olympus/volumes/postgres/19")).toBe(false);
    expect(await postgresStartedAt()).toBe(startedAt);
    expect((await stackContainers()).postgres?.image).toBe(localImage("postgres", localBuilds.postgres!.tag));

    await dev.stack.removeConfig("stagedRollout.postgres", true);
    await execa("podman", ["rmi", bumped]);
    expect((await dev.stack.up({ onEvent: dev.onEvent })).summary.result).toBe("succeeded");
    expect(statSync("/srv/olympus/volumes/postgres/18/docker/PG_VERSION").isFile()).toBe(true);
  });
});
