import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import execa from "execa";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countSyntheticUsers } from "../../seed/seeder";
import { projectDir, pulumiDir, pulumiEnvironment } from "../../scripts/toolchain";
import { startKratos, startMailpit, type Kratos, type Mailpit } from "../../scripts/localServices";

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
  await kratos?.kill();
  await mailpit?.stop();
  rmSync(backend, { recursive: true, force: true });
});

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
    expect(result.outputs.syntheticUsers?.value).toBe(30);
    expect(result.outputs.soakResult?.value).toMatchObject({ successRate: 1, smoke: expect.arrayContaining([expect.objectContaining({ check: "recovery mail reaches the sandbox", ok: true })]) });
    expect(await countSyntheticUsers(kratos.adminUrl, plan("e2e"))).toBe(30);
    expect(output).toContain("synthetic users: created 30/30");
    expect(output).not.toMatch(/plugin.*download|downloading plugin/i);
  });

  it("converges: a second up changes nothing and a preview expects no changes", async () => {
    const again = await stack.up({ onOutput });
    expect(Object.keys(again.summary.resourceChanges ?? {}).filter((kind) => kind !== "same")).toEqual([]);
    const preview = await stack.preview({ expectNoChanges: true, onOutput });
    expect(preview.changeSummary).toEqual({ same: 3 });
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
    const result = await stack.up({ onOutput });
    expect(result.outputs.syntheticUsers?.value).toBe(45);
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
    const retry = await stack.up({ onOutput });
    expect(retry.outputs.soakResult?.value).toMatchObject({ successRate: 1 });
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

  it("refreshes staging's synthetic data with the workflow's script: removed, then reseeded by the next up", async () => {
    const refresh = await execa("npm", ["run", "--silent", "refresh-staging", "--", "--stack", "e2e", "--cwd", workDir], { cwd: projectDir, env, all: true });
    expect(refresh.all).toContain("e2e: delete the synthetic users and the soak that depends on them");
    expect(await countSyntheticUsers(kratos.adminUrl, plan("e2e"))).toBe(0);
    const result = await stack.up({ onOutput });
    expect(result.outputs.syntheticUsers?.value).toBe(46);
    expect(await countSyntheticUsers(kratos.adminUrl, plan("e2e"))).toBe(46);
  });

  it("destroys: every synthetic identity of the stack is gone", async () => {
    const result = await stack.destroy({ onOutput });
    expect(result.summary.result).toBe("succeeded");
    expect(await countSyntheticUsers(kratos.adminUrl, plan("e2e"))).toBe(0);
  });
});
