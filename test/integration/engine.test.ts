import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import execa from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countSyntheticUsers } from "../../clients/seeder";
import { type Kratos, type Mailpit, startKratos, startMailpit } from "../../scripts/bench/localServices";
import { lastSoakOf, type StateExport } from "../../scripts/operations/stagingOps";
import { projectDir, pulumiDir, pulumiEnvironment } from "../../scripts/toolchain/toolchain";

/**
 * The real Pulumi engine (CLI, Node.js language host, dynamic-provider plugin, policy pack) running a
 * stack made only of local resources: this project's SyntheticUsers and Soak against a local Kratos
 * and Mailpit. Proves the dynamic providers serialize and run inside the engine, round-trip up and
 * destroy, converge without perpetual diffs, and keep secrets out of the state in plain text.
 */
const workDir = join(projectDir, "test", "fixtures", "local-stack");
const password = "e2e-Synthetic-Passw0rd";
const backend = mkdtempSync(join(tmpdir(), "olympus-e2e-state-"));
const env = pulumiEnvironment({ PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase" });
const plan = (stack: string) => ({ stack, seed: 7, run: "seed-7" });

let kratos: Kratos;
let mailpit: Mailpit;
const stacks: Stack[] = [];
let output = "";

async function stackNamed(name: string, config: Record<string, string>): Promise<Stack> {
  const pulumiCommand = await PulumiCommand.get({ root: pulumiDir, skipVersionCheck: false });
  const stack = await LocalWorkspace.createOrSelectStack({ stackName: name, workDir }, { envVars: env, pulumiCommand });
  for (const [key, value] of Object.entries(config)) await stack.setConfig(key, { value, secret: key === "password" });
  stacks.push(stack);
  return stack;
}

/** OLYMPUS_POWER for the stack's next operations; unset keeps what its backend recorded. */
function setPower(target: Stack, request?: "sleep" | "wake"): void {
  const workspace = target.workspace as LocalWorkspace;
  if (request) workspace.envVars.OLYMPUS_POWER = request;
  else delete workspace.envVars.OLYMPUS_POWER;
}

const onOutput = (text: string) => {
  output += text;
};

beforeAll(async () => {
  mailpit = await startMailpit();
  kratos = await startKratos(mailpit);
});

afterAll(async () => {
  for (const stack of stacks) {
    await stack.destroy({ onOutput }).catch(() => undefined);
    await stack.workspace.removeStack(stack.name).catch(() => undefined);
  }
  await kratos?.stop();
  await mailpit?.stop();
  rmSync(backend, { recursive: true, force: true });
});

/** What the stack's state says the soak last passed and how many users it seeded (no output waits for either). */
const soakOf = async (stack: Stack) => lastSoakOf((await stack.exportStack()) as StateExport);
const usersOf = async (stack: Stack) =>
  ((await stack.exportStack()) as StateExport).deployment?.resources?.find((resource) =>
    resource.type.endsWith("olympus:seed:SyntheticUsers"),
  )?.outputs?.total;

const config = (count: number, adminUrl = kratos.adminUrl) => ({
  kratosAdminUrl: adminUrl,
  kratosPublicUrl: kratos.publicUrl,
  mailpitUrl: mailpit.apiUrl,
  count: String(count),
  password,
  soakSeconds: "2",
});

describe("the real engine", () => {
  let stack: Stack;

  it("runs up: the dynamic providers serialize, seed Kratos and pass the soak gate", async () => {
    stack = await stackNamed("e2e", config(30));
    const result = await stack.up({ onOutput });
    expect(result.summary.result).toBe("succeeded");
    expect(await usersOf(stack)).toBe(30);
    expect(await soakOf(stack)).toMatchObject({
      successRate: 1,
      smoke: expect.arrayContaining([
        expect.objectContaining({ check: "recovery mail reaches the sandbox", ok: true }),
      ]),
    });
    expect(await countSyntheticUsers(kratos.adminUrl, plan("e2e"))).toBe(30);
    expect(output).toContain("synthetic users: created 30/30");
    expect(output).not.toMatch(/plugin.*download|downloading plugin/i);
  });

  it("converges: a second up changes nothing and a preview expects no changes", async () => {
    const again = await stack.up({ onOutput });
    // "read" is the stack reading its own last outputs (its sleep state), not a change.
    const changes = (summary: Record<string, number> = {}) =>
      Object.keys(summary).filter((kind) => kind !== "same" && kind !== "read");
    expect(changes(again.summary.resourceChanges)).toEqual([]);
    const preview = await stack.preview({ expectNoChanges: true, onOutput });
    expect(changes(preview.changeSummary)).toEqual([]);
    expect(preview.changeSummary.same).toBe(3);
  });

  it("keeps secrets out of `pulumi stack export` in plain text", async () => {
    const { stdout: exported } = await execa("pulumi", ["stack", "export", "--stack", "e2e"], { cwd: workDir, env });
    expect(exported).toContain("ciphertext");
    expect(exported).not.toContain(password);
    expect(exported).not.toMatch(/"plaintext"/);
  });

  it("updates a new count in place, and the soak runs again for the new release", async () => {
    await stack.setConfig("count", { value: "45" });
    const preview = await stack.preview({ onOutput });
    expect(preview.changeSummary).toMatchObject({ update: 2, same: 1 });
    expect((await stack.up({ onOutput })).summary.result).toBe("succeeded");
    expect(await usersOf(stack)).toBe(45);
    expect(await countSyntheticUsers(kratos.adminUrl, plan("e2e"))).toBe(45);
  });

  it("fails the update when a release misses the soak SLO, naming what failed", async () => {
    await stack.setConfig("maxP95Ms", { value: "1" });
    await stack.setConfig("count", { value: "46" });
    output = "";
    await expect(stack.up({ onOutput })).rejects.toThrow();
    expect(output).toMatch(/soak SLO missed for e2e: p95 \d+ ms > 1 ms/);
    await stack.setConfig("maxP95Ms", { value: "5000" });
    // The gate stays closed until a passing run: the next up runs the soak again.
    expect((await stack.up({ onOutput })).summary.result).toBe("succeeded");
    expect(await soakOf(stack)).toMatchObject({ successRate: 1 });
  });

  it("records nothing when Kratos is unreachable, and says why", async () => {
    const broken = await stackNamed("e2e-unreachable", config(5, "http://127.0.0.1:9"));
    output = "";
    await expect(broken.up({ onOutput })).rejects.toThrow();
    expect(output).toMatch(/GET http:\/\/127\.0\.0\.1:9\/admin\/identities\S* failed: fetch failed/);
    const exported = await broken.exportStack();
    const types = (exported.deployment.resources ?? []).map((resource: { type: string }) => resource.type);
    expect(types.some((type: string) => type.includes("SyntheticUsers"))).toBe(false);
  });

  it("enforces the policy pack: synthetic users in a prod stack are refused, staging passes", async () => {
    const policyPack = join(projectDir, "policy");
    const staging = await stack.preview({ policyPacks: [policyPack], onOutput });
    expect(staging.stdout).toContain("olympus-guardrails");
    const prod = await stackNamed("prod", config(5));
    const refused = await prod.preview({ policyPacks: [policyPack], onOutput }).catch((error: Error) => error);
    expect(refused).toBeInstanceOf(Error);
    expect(String((refused as Error).message)).toContain("no-synthetic-traffic-in-prod");
  });

  it("refreshes staging's synthetic data with the workflow's script: removed, then seeded again", async () => {
    const before = await stack.exportStack();
    const refresh = await execa(
      "npm",
      ["run", "--silent", "refresh-staging", "--", "--stack", "e2e", "--cwd", workDir],
      { cwd: projectDir, env, all: true },
    );
    expect(refresh.all).toContain("e2e: delete the synthetic users and the soak that depends on them");
    expect(refresh.all).toContain("e2e: seed the synthetic users again");
    expect(await countSyntheticUsers(kratos.adminUrl, plan("e2e"))).toBe(46);
    // New identities, not the old ones kept: the resource was deleted and created again.
    const usersCreated = (state: typeof before) =>
      state.deployment.resources.find((resource: { type: string }) => resource.type.endsWith("SyntheticUsers"))
        ?.created;
    expect(usersCreated(await stack.exportStack())).not.toBe(usersCreated(before));
  });

  describe("sleep, kept in the backend", () => {
    const dead = "http://127.0.0.1:9";
    const pointAt = async (url: string) => {
      for (const key of ["kratosAdminUrl", "kratosPublicUrl", "mailpitUrl"])
        await stack.setConfig(key, { value: url === dead ? dead : config(0)[key as keyof ReturnType<typeof config>]! });
    };
    const power = (request?: "sleep" | "wake") => setPower(stack, request);
    const releaseStatus = () =>
      execa("npm", ["run", "--silent", "release-status", "--", "e2e", "--cwd", workDir], {
        cwd: projectDir,
        env,
        all: true,
      });
    let soakedAt: string;

    it("records a sleep request; every later run stays asleep, contacts nothing, and holds a new release back", async () => {
      soakedAt = ((await soakOf(stack)) as { finishedAt: string }).finishedAt;
      // Every service address is dead from here on: any contact would fail the run.
      await pointAt(dead);
      power("sleep");
      expect((await stack.up({ onOutput })).outputs.awake?.value).toBe(false);
      // A plain run (a deploy, from any checkout) with a new release: still asleep, nothing soaked.
      power();
      await stack.setConfig("count", { value: "47" });
      const deploy = await stack.up({ onOutput });
      expect(deploy.outputs.awake?.value).toBe(false);
      expect(deploy.outputs.releaseFingerprint?.value).toBe("local-release-47");
      expect(await soakOf(stack)).toMatchObject({
        releaseFingerprint: "local-release-46",
        finishedAt: soakedAt,
      });
      expect(await countSyntheticUsers(kratos.adminUrl, plan("e2e"))).toBe(46);
      expect((await releaseStatus()).all).toMatch(
        /e2e is asleep: release \S+ waits for the wake's soak before it may reach prod\npromote=false awake=false/,
      );
      // refresh and preview of the sleeping stack contact nothing either.
      expect((await stack.refresh({ onOutput })).summary.result).toBe("succeeded");
      await stack.preview({ expectNoChanges: true, onOutput });
    });

    it("wakes on request: the release deployed meanwhile is seeded and soaked, and may then be promoted", async () => {
      await pointAt("live");
      power("wake");
      const woken = await stack.up({ onOutput });
      expect(woken.outputs.awake?.value).toBe(true);
      expect(await soakOf(stack)).toMatchObject({ releaseFingerprint: "local-release-47", successRate: 1 });
      expect(await countSyntheticUsers(kratos.adminUrl, plan("e2e"))).toBe(47);
      const status = await releaseStatus();
      expect(status.all).toMatch(/e2e's soak passed release \S+ at /);
      expect(status.all).toContain("promote=true awake=true");
      soakedAt = ((await soakOf(stack)) as { finishedAt: string }).finishedAt;
    });

    it("does not soak again when a night passes without a new release", async () => {
      power("sleep");
      await stack.up({ onOutput });
      power("wake");
      await stack.up({ onOutput });
      expect(((await soakOf(stack)) as { finishedAt: string }).finishedAt).toBe(soakedAt);
      power();
    });

    it("keeps a wake recorded when its soak fails: the next plain up keeps the stack awake and soaks again", async () => {
      power("sleep");
      await stack.up({ onOutput });
      // The morning wake brings a release whose soak misses its SLO.
      await stack.setConfig("count", { value: "48" });
      await stack.setConfig("maxP95Ms", { value: "1" });
      power("wake");
      await expect(stack.up({ onOutput })).rejects.toThrow();
      expect((await stack.outputs()).awake?.value).toBe(true);
      // A plain up (a deploy, from any checkout): awake, the release soaked again, the users kept.
      power();
      await stack.setConfig("maxP95Ms", { value: "5000" });
      const next = await stack.up({ onOutput });
      expect(next.outputs.awake?.value).toBe(true);
      expect(await soakOf(stack)).toMatchObject({ releaseFingerprint: "local-release-48", successRate: 1 });
      expect(await countSyntheticUsers(kratos.adminUrl, plan("e2e"))).toBe(48);
    });

    it("refreshes a sleeping stack with the workflow's script: woken, reseeded, and put back to sleep", async () => {
      power("sleep");
      await stack.up({ onOutput });
      power();
      const refresh = await execa(
        "npm",
        ["run", "--silent", "refresh-staging", "--", "--stack", "e2e", "--cwd", workDir],
        { cwd: projectDir, env, all: true },
      );
      const steps = refresh.all!.split("\n").filter((line) => line.startsWith("==> "));
      expect(steps.map((line) => line.split(":")[1]!.trim())).toEqual([
        "asleep; wake it, the synthetic users live in its database",
        "delete the synthetic users and the soak that depends on them",
        "seed the synthetic users again",
        "back to sleep",
      ]);
      expect(await countSyntheticUsers(kratos.adminUrl, plan("e2e"))).toBe(48);
      expect((await stack.outputs()).awake?.value).toBe(false);
    });
  });

  it("refuses a teardown while anything is protected, before deleting anything", async () => {
    await stack.setConfig("protect", { value: "true" });
    await stack.up({ onOutput });
    const before = (await stack.exportStack()).deployment.resources.length;
    const teardown = await execa("npm", ["run", "--silent", "teardown", "--", "--stack", "e2e", "--cwd", workDir], {
      cwd: projectDir,
      env,
      all: true,
      reject: false,
    });
    expect(teardown.exitCode).toBe(1);
    expect(teardown.all).toMatch(/refusing to destroy e2e: 1 resources are protected \(users\); nothing was deleted/);
    expect((await stack.exportStack()).deployment.resources.length).toBe(before);
    await stack.setConfig("protect", { value: "false" });
  });

  it("tears down a sleeping stack without its server: nothing there is contacted", async () => {
    const sleeper = await stackNamed("e2e-asleep", config(3));
    await sleeper.up({ onOutput });
    setPower(sleeper, "sleep");
    await sleeper.up({ onOutput });
    setPower(sleeper);
    for (const key of ["kratosAdminUrl", "kratosPublicUrl", "mailpitUrl"])
      await sleeper.setConfig(key, { value: "http://127.0.0.1:9" });
    const teardown = await execa(
      "npm",
      ["run", "--silent", "teardown", "--", "--stack", "e2e-asleep", "--cwd", workDir],
      { cwd: projectDir, env, all: true },
    );
    expect(teardown.all).toContain(
      "synthetic users e2e-asleep/seed-7: the host is asleep, so they stay in its database",
    );
    expect((await sleeper.exportStack()).deployment.resources ?? []).toEqual([]);
  });

  it("tears down an awake stack with the workflow's script: every synthetic identity of the stack is gone", async () => {
    setPower(stack, "wake");
    await stack.up({ onOutput });
    setPower(stack);
    await execa("npm", ["run", "--silent", "teardown", "--", "--stack", "e2e", "--cwd", workDir], {
      cwd: projectDir,
      env,
      all: true,
    });
    expect(await countSyntheticUsers(kratos.adminUrl, plan("e2e"))).toBe(0);
  });
});
