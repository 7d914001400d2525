import { hashSync } from "bcryptjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticIdentity } from "../../clients/identities";
import { createIdentity, listIdentities } from "../../clients/kratosAdmin";
import { convergeSyntheticUsers, countSyntheticUsers, syntheticIdentitiesByIndex } from "../../clients/seeder";
import { runSoakGate, type SoakGateError, type SoakPlan } from "../../clients/soakGate";
import { seedSyntheticUsers, syntheticPasswordCost } from "../../clients/syntheticUsersRemote";
import { generateSshKeyPair } from "../../lib/keys";
import { type SyntheticUsersInputs, syntheticUsersProvider } from "../../providers/syntheticUsers";
import {
  type Hydra,
  type Kratos,
  type Mailpit,
  startHydra,
  startKratos,
  startMailpit,
  startSshd,
} from "../../scripts/bench/localServices";

const password = "synthetic-Passw0rd-staging";
const plan = { stack: "staging", seed: 20261126, run: "seed-20261126" };
let passwordHash: string;
let mailpit: Mailpit;
let kratos: Kratos;
let humanId: string;

const converge = (count: number, extra: Partial<Parameters<typeof convergeSyntheticUsers>[0]> = {}) =>
  convergeSyntheticUsers({ adminUrl: kratos.adminUrl, plan, count, passwordHash, retries: 3, ...extra });

/** Every identity of the plan, and whether each index appears exactly once. */
async function census() {
  const byIndex = await syntheticIdentitiesByIndex(kratos.adminUrl, plan);
  const duplicates = [...byIndex.values()].filter((ids) => ids.length > 1).length;
  return { total: [...byIndex.values()].flat().length, duplicates, indices: byIndex.size };
}

async function login(identifier: string, secret: string) {
  const flow = (await (await fetch(`${kratos.publicUrl}/self-service/login/api`)).json()) as { id: string };
  const response = await fetch(`${kratos.publicUrl}/self-service/login?flow=${flow.id}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ method: "password", identifier, password: secret }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { session?: { identity: { traits: { email: string } } } },
  };
}

beforeAll(async () => {
  passwordHash = hashSync(password, syntheticPasswordCost);
  mailpit = await startMailpit();
  kratos = await startKratos(mailpit);
  // A real customer the seeder must never touch.
  humanId = await createIdentity(kratos.adminUrl, {
    schema_id: "default",
    traits: { email: "real.customer@example.org", first_name: "Real", last_name: "Customer" },
    state: "active",
  });
});

afterAll(async () => {
  await kratos?.stop();
  await mailpit?.stop();
});

describe("seeding against a real Kratos", () => {
  it("seeds exactly 1,000 synthetic identities, and a sampled one logs in", async () => {
    const outcome = await converge(1000);
    expect(outcome).toEqual({ created: 1000, deleted: 0, total: 1000 });
    expect(await census()).toEqual({ total: 1000, duplicates: 0, indices: 1000 });
    const sample = syntheticIdentity(plan, 437).traits.email;
    // Each identity carries its external_id, so it can be found without listing everything.
    const byExternalId = await fetch(
      `${kratos.adminUrl}/admin/identities/by/external/${encodeURIComponent("synthetic:staging:seed-20261126:437")}`,
    );
    expect(byExternalId.status).toBe(200);
    expect(((await byExternalId.json()) as { traits: { email: string } }).traits.email).toBe(sample);
    const result = await login(sample, password);
    expect(result.status).toBe(200);
    expect(result.body.session?.identity.traits.email).toBe(sample);
    expect((await login(sample, "wrong-password")).status).toBe(400);
  });

  it("creating twice still leaves 1,000", async () => {
    expect(await converge(1000)).toEqual({ created: 0, deleted: 0, total: 1000 });
  });

  it("finishes a run that died mid-seed: exactly the target, no duplicates", async () => {
    await converge(0);
    let killed = false;
    const interrupted = converge(1000, {
      batchSize: 200,
      concurrency: 1,
      log: (message) => {
        if (!killed && /created [1-9]\d*\/1000/.test(message)) {
          killed = true;
          void kratos.kill("SIGKILL");
        }
      },
    });
    await expect(interrupted).rejects.toThrow(/ECONNREFUSED|fetch failed|failed/);
    await kratos.start();
    const partial = await census();
    expect(partial.total).toBeGreaterThan(0);
    expect(partial.total).toBeLessThan(1000);
    const outcome = await converge(1000, { batchSize: 200 });
    expect(outcome.created).toBe(1000 - partial.total);
    expect(await census()).toEqual({ total: 1000, duplicates: 0, indices: 1000 });
  });

  it("converges 1,000 -> 1,500 -> 200, then deletes only its own identities", async () => {
    expect(await converge(1500)).toMatchObject({ created: 500, deleted: 0, total: 1500 });
    expect(await converge(200)).toMatchObject({ created: 0, deleted: 1300, total: 200 });
    await syntheticUsersProvider.delete!("staging/seed-20261126", {
      ...providerInputs(200, { kind: "direct", url: kratos.adminUrl }),
      total: 200,
    });
    expect(await countSyntheticUsers(kratos.adminUrl, plan)).toBe(0);
    const remaining = await listIdentities(kratos.adminUrl);
    expect(remaining.map((identity) => identity.id)).toEqual([humanId]);
  });

  it("fails clearly when Kratos is unreachable", async () => {
    const closed = { kind: "direct" as const, url: "http://127.0.0.1:9" };
    await expect(syntheticUsersProvider.create!(providerInputs(10, closed))).rejects.toThrow(
      /GET http:\/\/127\.0\.0\.1:9\/admin\/identities\S* failed: fetch failed/,
    );
  });

  it("seeds through an SSH tunnel to a Kratos admin API bound to 127.0.0.1", async () => {
    const hostKey = generateSshKeyPair("host@test");
    const clientKey = generateSshKeyPair("deploy@test");
    const sshd = await startSshd(hostKey, clientKey);
    try {
      const adminPort = Number(new URL(kratos.adminUrl).port);
      const tunnel = {
        kind: "ssh" as const,
        ssh: {
          host: "127.0.0.1",
          port: sshd.port,
          user: sshd.user,
          privateKey: sshd.privateKey,
          hostKey: hostKey.publicKey,
        },
        remoteHost: "127.0.0.1",
        remotePort: adminPort,
      };
      expect(await seedSyntheticUsers(providerInputs(25, tunnel))).toBe(25);
      expect(await countSyntheticUsers(kratos.adminUrl, plan)).toBe(25);
      // A different host key is refused: the tunnel pins it.
      const wrongKey = generateSshKeyPair("impostor").publicKey;
      await expect(
        seedSyntheticUsers(providerInputs(25, { ...tunnel, ssh: { ...tunnel.ssh, hostKey: wrongKey } })),
      ).rejects.toThrow(/SSH to .* failed/);
    } finally {
      await sshd.stop();
    }
  });
});

function providerInputs(count: number, endpoint: SyntheticUsersInputs["endpoint"]): SyntheticUsersInputs {
  return {
    providerVersion: "1",
    environment: "staging",
    hostAwake: true,
    ...plan,
    count,
    endpoint,
    password,
    batchSize: 250,
    concurrency: 4,
  };
}

describe("the soak gate against real services", () => {
  let hydra: Hydra;
  const soakPlan = (durationSeconds: number): SoakPlan => ({
    stack: "staging",
    https: [],
    trustedCa: null,
    health: [
      { name: "ciam kratosPublic", endpoint: { kind: "direct", url: kratos.publicUrl }, path: "/health/ready" },
      { name: "ciam kratosAdmin", endpoint: { kind: "direct", url: kratos.adminUrl }, path: "/health/ready" },
    ],
    oidcIssuers: [hydra.publicUrl],
    kratosPublic: { kind: "direct", url: kratos.publicUrl },
    users: { ...plan, count: 50, password },
    mailSandbox: { kind: "direct", url: mailpit.apiUrl },
    slo: { durationSeconds, loginsPerMinute: 120, minSuccessRate: 0.99, maxP95Ms: 3000 },
  });

  beforeAll(async () => {
    await converge(50);
    hydra = await startHydra();
  });

  afterAll(async () => {
    await hydra?.stop();
  });

  it("passes against healthy services, with a recovery mail in Mailpit and latency figures", async () => {
    const result = await runSoakGate(soakPlan(5));
    expect(result.smoke.map((check) => [check.check, check.ok])).toEqual([
      ["ready ciam kratosPublic", true],
      ["ready ciam kratosAdmin", true],
      [`oidc discovery ${hydra.publicUrl}`, true],
      ["synthetic user login", true],
      ["recovery mail reaches the sandbox", true],
    ]);
    expect(result.attempts).toBeGreaterThanOrEqual(9);
    expect(result.successRate).toBe(1);
    expect(result.p95Ms).toBeGreaterThanOrEqual(result.p50Ms);
    expect(result.p50Ms).toBeGreaterThan(0);
  });

  it("fails with a clear error when Kratos stops mid-soak", async () => {
    const gate = runSoakGate(soakPlan(8));
    setTimeout(() => void kratos.kill("SIGKILL"), 5000);
    const error = await gate.catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(Error);
    expect((error as SoakGateError).name).toBe("SoakGateError");
    expect((error as SoakGateError).result).toMatchObject({ attempts: expect.any(Number) });
    expect((error as SoakGateError).message).toMatch(/soak SLO missed for staging: success rate 0\.\d+ < 0\.99/);
    expect((error as SoakGateError).message).toMatch(/last failure: .*(fetch failed|ECONNREFUSED)/);
    await kratos.start();
  });

  it("fails discovery when Hydra names another issuer than the one the release is reached at", async () => {
    const elsewhere = hydra.publicUrl.replace("127.0.0.1", "localhost");
    await expect(runSoakGate({ ...soakPlan(1), oidcIssuers: [elsewhere] })).rejects.toThrow(
      new RegExp(`oidc discovery ${elsewhere}: 200: .*"issuer":"${hydra.publicUrl}`),
    );
  });

  it("stops at the smoke checks when a check fails, quoting the failing response", async () => {
    const broken = { ...soakPlan(1), users: { ...plan, count: 50, password: "not-the-password" } };
    await expect(runSoakGate(broken)).rejects.toThrow(
      /smoke checks failed for staging:\n.*synthetic user login: POST \/self-service\/login for .* answered 400/,
    );
  });
});
