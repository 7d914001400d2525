import { parse as parseIni } from "ini";
import { describe, expect, it } from "vitest";
import { backupPolicy, postgresMajor, stanza } from "../../lib/backup";
import { parseStackConfig } from "../../lib/config/parse";
import { backupRepositoryPath } from "../../lib/secrets";
import { releaseForConfig, renderForConfig } from "../../ops/parity";
import { describeBackups } from "../../scripts/operations/backups";
import { restoreArguments, restoreRequest } from "../../scripts/operations/restorePlan";
import { projectDir } from "../../scripts/toolchain/toolchain";
import { committedStackConfig } from "../helpers/stackConfig";

const stacks = ["staging", "prod", "dev"] as const;
const pgbackrest = async (stack: (typeof stacks)[number]) =>
  parseIni(
    (await renderForConfig(parseStackConfig(stack, committedStackConfig(stack)), stack))["pgbackrest/pgbackrest.conf"]!
      .content,
  );

describe("the backup configuration", () => {
  it("is the same in every environment but for where the repository is", async () => {
    const [staging, prod, dev] = await Promise.all(stacks.map(pgbackrest));
    const location = ["repo1-s3-endpoint", "repo1-s3-region", "repo1-s3-bucket", "repo1-storage-ca-file"];
    const shape = (config: Record<string, Record<string, string>>) => ({
      global: Object.fromEntries(Object.entries(config.global!).filter(([key]) => !location.includes(key))),
      stanza: Object.values(config).find((section) => section !== config.global),
    });
    expect(shape(prod!)).toEqual(shape(staging!));
    expect(shape(dev!)).toEqual(shape(staging!));
    expect(prod!.global).toMatchObject({
      "repo1-cipher-type": "aes-256-cbc",
      "repo1-retention-full": String(backupPolicy.retentionFull),
      "repo1-s3-uri-style": "path",
      "archive-push-queue-max": backupPolicy.archiveQueueMax,
    });
    // Synchronous archiving: PostgreSQL is PID 1 and would count an orphaned asynchronous archiver as a crash.
    expect(prod!.global).not.toHaveProperty("archive-async");
    // The keys, passphrase and folder come from the environment, never from a file.
    expect(JSON.stringify(prod)).not.toMatch(/repo1-s3-key|cipher-pass|repo1-path/);
    expect([prod!.global!["repo1-s3-bucket"], staging!.global!["repo1-s3-bucket"]]).toEqual([
      "olympus-prod-backups",
      "olympus-staging-backups",
    ]);
    expect(dev!.global!["repo1-storage-ca-file"]).toBe("/etc/pgbackrest/ca.crt");
    expect(prod!.global).not.toHaveProperty("repo1-storage-ca-file");
  });

  it("names each environment's stanza, and PostgreSQL archives into it at least every minute", () => {
    for (const stack of stacks) {
      const release = releaseForConfig(parseStackConfig(stack, committedStackConfig(stack)), stack);
      const compose = release.files["compose.yml"]!.content;
      expect(compose, stack).toContain(`archive_command=pgbackrest --stanza=${stanza(stack)} archive-push %p`);
      expect(compose, stack).toContain(`archive_timeout=${backupPolicy.archiveTimeoutSeconds}`);
      expect(release.plan.backup.stanza).toBe(`olympus-${stack}`);
      expect(release.plan.postgres).toMatchObject({
        major: 18,
        dataDirectory: "/srv/olympus/volumes/postgres/18/docker",
      });
      expect(release.services).toContain("backup");
    }
  });

  it("reads PostgreSQL's major version from the image's tag", () => {
    expect(["18.1-alpine-pgbackrest-2.60.0", "18-debian", "19beta1"].map(postgresMajor)).toEqual([18, 18, 19]);
    expect(() => postgresMajor("latest")).toThrow("cannot tell PostgreSQL's major version from the image tag latest");
  });

  it("keeps each passphrase's backups in a folder of its own, named by a digest that reveals nothing of it", () => {
    const first = backupRepositoryPath("a".repeat(64));
    expect(first).toMatch(/^\/pgbackrest\/[0-9a-f]{12}$/);
    expect(backupRepositoryPath("a".repeat(64))).toBe(first);
    expect(backupRepositoryPath("b".repeat(64))).not.toBe(first);
  });
});

describe("a restore request", () => {
  const now = new Date("2026-11-30T12:00:00Z");
  const request = (args: Parameters<typeof restoreRequest>[1]) => restoreRequest(projectDir, args, now);

  it("takes exactly one target: the latest state, a time with its zone in the past, or a named restore point", () => {
    expect(request({ stack: "dev", latest: true }).target).toEqual({ kind: "latest" });
    expect(request({ stack: "dev", to: "2026-11-30T10:15:00Z" }).target).toEqual({
      kind: "time",
      time: "2026-11-30 10:15:00.000+00",
    });
    expect(request({ stack: "dev", to: "2026-11-30T11:15:00+01:00" }).target).toEqual({
      kind: "time",
      time: "2026-11-30 10:15:00.000+00",
    });
    expect(restoreArguments(request({ stack: "prod", point: "release-20261130T100211Z" }).target)).toEqual([
      "restore",
      "point",
      "release-20261130T100211Z",
    ]);
    expect(() => request({ stack: "dev" })).toThrow("choose exactly one target");
    expect(() => request({ stack: "dev", latest: true, to: "2026-11-30T10:15:00Z" })).toThrow("exactly one");
    expect(() => request({ stack: "dev", to: "2026-11-30 10:15" })).toThrow("is not an ISO time with its zone");
    expect(() => request({ stack: "dev", to: "2026-12-01T00:00:00Z" })).toThrow("is in the future");
    expect(() => request({ stack: "dev", point: "x; rm -rf /" })).toThrow("is not a restore point's name");
  });

  it("restores a stack only from its own repository: never across environments, never another stack's", () => {
    expect(() => request({ stack: "staging", latest: true, from: "prod" })).toThrow(
      "refusing to restore staging (staging) from prod's repository (prod): staging never receives prod's data; nothing was stopped",
    );
    expect(() => request({ stack: "nonexistent", latest: true })).toThrow();
    expect(request({ stack: "prod", latest: true, from: "prod" }).stack).toBe("prod");
  });
});

describe("the backup state an operator reads", () => {
  it("says how old the newest backup and the last archived WAL are, and how often archiving failed", () => {
    const now = Date.UTC(2026, 10, 30, 12, 0, 0);
    expect(
      describeBackups(
        {
          stanza: "olympus-prod",
          backups: [{ label: "20261130-021500F", type: "full", stop: now / 1000 - 3 * 3600 - 1800 }],
          archiver: { archived: 412, lastArchived: now / 1000 - 42, failed: 3, lastFailed: now / 1000 - 600 },
        },
        now,
      ),
    ).toEqual([
      "stanza olympus-prod: 1 full backups in the repository",
      "newest backup: 20261130-021500F, finished 3.5 h ago",
      "last WAL archived: 42 s ago (412 since PostgreSQL started)",
      "archive failures: 3, the last 10 min ago",
    ]);
  });
});
