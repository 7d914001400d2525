import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import execa from "execa";
import { describe, expect, it, onTestFinished } from "vitest";
import { indexOfExternalId, syntheticEmails, syntheticIdentity } from "../../clients/identities";
import { planIndex } from "../../clients/seeder";
import { generateSshKeyPair, sshFingerprint } from "../../lib/keys";
import { type SoakInputs, soakProvider } from "../../providers/soak";
import { sshKeyPairProvider } from "../../providers/sshKeyPair";
import { type SyntheticUsersInputs, syntheticUsersProvider } from "../../providers/syntheticUsers";

const plan = { stack: "staging", seed: 42, run: "seed-42" };
const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const inputs: SyntheticUsersInputs = {
  providerVersion: "1",
  hostAwake: true,
  stack: "staging",
  environment: "staging",
  seed: 42,
  run: "seed-42",
  count: 1000,
  endpoint: { kind: "direct", url: "http://127.0.0.1:4434" },
  password: "correct-horse-battery",
  batchSize: 250,
  concurrency: 4,
};

describe("synthetic identities", () => {
  it("are deterministic per seed and index, independent of the count", () => {
    expect(syntheticIdentity(plan, 7)).toEqual(syntheticIdentity(plan, 7));
    expect(syntheticEmails(plan, 10)).toEqual(syntheticEmails(plan, 20).slice(0, 10));
    expect(syntheticIdentity({ ...plan, seed: 43 }, 7).traits.email).not.toBe(syntheticIdentity(plan, 7).traits.email);
  });

  it("live on a reserved domain, verified, active and tagged, never as demo accounts", () => {
    const identity = syntheticIdentity(plan, 3);
    expect(identity.traits.email).toMatch(/^[a-z0-9.]+@staging\.olympus\.test$/);
    expect(identity.verifiable_addresses).toEqual([
      { value: identity.traits.email, via: "email", verified: true, status: "completed" },
    ]);
    expect(identity.state).toBe("active");
    expect(identity.metadata_admin).toEqual({ synthetic: true, stack: "staging", run: "seed-42", index: 3 });
    expect(identity.metadata_admin).not.toHaveProperty("demo");
    expect(new Set(syntheticEmails(plan, 2000)).size).toBe(2000);
    expect(indexOfExternalId(plan, identity.external_id)).toBe(3);
  });

  it("are recognised by tag, and identities of other runs or real users are not", () => {
    const tag = { synthetic: true, stack: "staging", run: "seed-42", index: 5 };
    expect(planIndex(plan, { id: "a", traits: {}, metadata_admin: tag })).toBe(5);
    expect(planIndex(plan, { id: "b", traits: {}, metadata_admin: { ...tag, run: "seed-41" } })).toBeUndefined();
    expect(planIndex(plan, { id: "c", traits: {}, metadata_admin: null })).toBeUndefined();
    expect(planIndex(plan, { id: "d", traits: {}, metadata_admin: { ...tag, synthetic: "yes" } })).toBeUndefined();
  });
});

describe("the SyntheticUsers provider", () => {
  it("refuses a prod environment and bad counts in check", async () => {
    const result = await syntheticUsersProvider.check!(inputs, { ...inputs, environment: "prod", count: -1 });
    expect(result.failures?.map((failure) => failure.property)).toEqual(["environment", "count"]);
  });

  it("tolerates values unknown during preview", async () => {
    const preview = {
      ...inputs,
      count: unknown,
      password: unknown,
      environment: unknown,
    } as unknown as SyntheticUsersInputs;
    expect((await syntheticUsersProvider.check!(inputs, preview)).failures).toEqual([]);
    expect((await syntheticUsersProvider.diff!("id", { ...inputs, total: 1000 }, preview)).changes).toBe(true);
  });

  it("diffs count as an update and a new run or password as a replacement, ignoring the endpoint", async () => {
    const olds = { ...inputs, total: 1000 };
    expect(await syntheticUsersProvider.diff!("id", olds, { ...inputs, count: 1500 })).toMatchObject({
      changes: true,
      replaces: [],
    });
    expect(await syntheticUsersProvider.diff!("id", olds, { ...inputs, run: "seed-43", seed: 43 })).toMatchObject({
      changes: true,
      replaces: ["run"],
    });
    expect(await syntheticUsersProvider.diff!("id", olds, { ...inputs, password: "another-password" })).toMatchObject({
      replaces: ["password"],
    });
    expect(
      await syntheticUsersProvider.diff!("id", olds, {
        ...inputs,
        endpoint: { kind: "direct", url: "http://10.0.0.1:3101" },
      }),
    ).toMatchObject({ changes: false });
  });

  it("refuses prod again at run time", async () => {
    await expect(syntheticUsersProvider.create!({ ...inputs, environment: "prod" })).rejects.toThrow(
      "refusing to seed synthetic users into staging: it is a prod environment",
    );
  });
});

describe("the Soak provider", () => {
  const soak: SoakInputs = {
    providerVersion: "1",
    hostAwake: true,
    environment: "staging",
    releaseFingerprint: "a".repeat(64),
    plan: {
      stack: "staging",
      https: [],
      trustedCa: null,
      health: [],
      oidcIssuers: [],
      kratosPublic: { kind: "direct", url: "http://x" },
      users: { ...plan, count: 10, password: "p" },
      mailSandbox: null,
      slo: { durationSeconds: 1, loginsPerMinute: 60, minSuccessRate: 0.99, maxP95Ms: 1000 },
    },
  };

  it("runs once per release: unchanged fingerprint, no change; new fingerprint, a change", async () => {
    const olds = { ...soak, result: {} as never };
    expect((await soakProvider.diff!("id", olds, soak)).changes).toBe(false);
    expect(
      (
        await soakProvider.diff!("id", olds, {
          ...soak,
          plan: { ...soak.plan, kratosPublic: { kind: "direct", url: "http://y" } },
        })
      ).changes,
    ).toBe(false);
    expect((await soakProvider.diff!("id", olds, { ...soak, releaseFingerprint: "b".repeat(64) })).changes).toBe(true);
  });

  it("refuses prod", async () => {
    expect((await soakProvider.check!(soak, { ...soak, environment: "prod" })).failures?.[0]?.property).toBe(
      "environment",
    );
  });

  it("while asleep keeps the soaked release on record, and soaks a release deployed meanwhile when it wakes", async () => {
    const passed = {
      smoke: [],
      attempts: 1,
      successes: 1,
      successRate: 1,
      p50Ms: 1,
      p95Ms: 1,
      finishedAt: "2026-11-26T07:00:00Z",
    };
    const soaked = { ...soak, result: passed };
    // Falling asleep is recorded without contacting anything (http://x would fail the soak).
    expect((await soakProvider.diff!("id", soaked, { ...soak, hostAwake: false })).changes).toBe(true);
    const asleep = (await soakProvider.update!("id", soaked, { ...soak, hostAwake: false })).outs!;
    expect(asleep).toMatchObject({ hostAwake: false, releaseFingerprint: soak.releaseFingerprint, result: passed });
    // A new release while asleep changes nothing until the wake.
    const nextRelease = { ...soak, releaseFingerprint: "b".repeat(64) };
    expect((await soakProvider.diff!("id", asleep, { ...nextRelease, hostAwake: false })).changes).toBe(false);
    expect((await soakProvider.diff!("id", asleep, nextRelease)).changes).toBe(true);
    // Waking with the same release keeps its results without a new soak.
    const woken = (await soakProvider.update!("id", asleep, soak)).outs!;
    expect(woken).toMatchObject({ hostAwake: true, result: passed });
    // A gate created while asleep has soaked nothing; it soaks at the wake.
    const created = (await soakProvider.create!({ ...soak, hostAwake: false })).outs!;
    expect(created.result).toBeNull();
    expect((await soakProvider.diff!("id", created, soak)).changes).toBe(true);
  });
});

describe("synthetic users of a sleeping stack", () => {
  const seeded = { ...inputs, total: 1000 };

  it("record the sleep without contacting Kratos, keep their record while asleep, and reconcile when woken", async () => {
    const asleepInputs = { ...inputs, hostAwake: false };
    expect((await syntheticUsersProvider.diff!("id", seeded, asleepInputs)).changes).toBe(true);
    const asleep = (await syntheticUsersProvider.update!("id", seeded, asleepInputs)).outs!;
    expect(asleep).toMatchObject({ hostAwake: false, total: 1000, count: 1000 });
    // Neither a new count nor a new password is acted on (no replacement) while asleep.
    expect(
      await syntheticUsersProvider.diff!("id", asleep, { ...asleepInputs, count: 5, password: "another-password" }),
    ).toEqual({ changes: false });
    // refresh and destroy of a sleeping stack contact nothing (the endpoint answers nowhere).
    expect((await syntheticUsersProvider.read!("id", asleep)).props).toEqual(asleep);
    await expect(syntheticUsersProvider.delete!("id", asleep)).resolves.toBeUndefined();
    expect((await syntheticUsersProvider.diff!("id", asleep, inputs)).changes).toBe(true);
  });
});

describe("SSH key pairs", () => {
  it("are always well-formed: a 32-byte Ed25519 key whose private half matches (ssh2 alone gets 1 in 256 wrong)", () => {
    const { utils } = require("ssh2") as typeof import("ssh2");
    for (let attempt = 0; attempt < 2000; attempt++) {
      const pair = generateSshKeyPair("check");
      const blob = Buffer.from(pair.publicKey.split(" ")[1]!, "base64");
      expect([blob.readUInt32BE(0), blob.subarray(4, 15).toString(), blob.readUInt32BE(15), blob.length]).toEqual([
        11,
        "ssh-ed25519",
        32,
        51,
      ]);
      const parsed = utils.parseKey(pair.privateKey);
      expect(parsed instanceof Error ? parsed.message : parsed.getPublicSSH().equals(blob)).toBe(true);
    }
  });

  it("are generated in OpenSSH's formats, with ssh-keygen's fingerprint, and never replaced", async () => {
    const outs = (await sshKeyPairProvider.create!({ comment: "host@olympus-test" })).outs!;
    expect(outs.privateKey).toMatch(
      /^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n$/,
    );
    expect(outs.publicKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ host@olympus-test$/);
    const dir = mkdtempSync(join(tmpdir(), "olympus-key-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "key.pub"), `${outs.publicKey}\n`);
    const { stdout } = await execa("ssh-keygen", ["-lf", join(dir, "key.pub")]);
    expect(stdout.split(" ")[1]).toBe(outs.fingerprint);
    expect(outs.fingerprint).toBe(sshFingerprint(outs.publicKey));
    // A new comment, or any other edit, never rotates the key.
    expect((await sshKeyPairProvider.diff!(outs.fingerprint, outs, { comment: "renamed" })).changes).toBe(false);
  });
});
