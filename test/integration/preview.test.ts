import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import execa from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { commentMarker } from "../../scripts/operations/previewComment";
import { projectDir, pulumiEnvironment } from "../../scripts/toolchain/toolchain";

/**
 * Real `pulumi preview` runs of the committed program (CLI, language host, the command, random and hcloud
 * plugins built here, the policy pack), offline, against a throwaway file backend: what a pull request
 * shows for staging and prod.
 */
const backend = mkdtempSync(join(tmpdir(), "olympus-preview-state-"));
const env = pulumiEnvironment({ PULUMI_BACKEND_URL: `file://${backend}` });
const pulumi = (args: string[], cwd = projectDir) => execa("pulumi", args, { cwd, env, all: true, reject: false });

afterAll(() => rmSync(backend, { recursive: true, force: true }));

interface PlannedStep {
  op: string;
  urn: string;
  newState?: { type: string; inputs: Record<string, unknown> };
}

async function plan(stack: string): Promise<PlannedStep[]> {
  await pulumi(["stack", "select", "--create", stack, "--non-interactive"]);
  const preview = await pulumi(["preview", "--json", "--non-interactive", "--stack", stack, "--policy-pack", "policy"]);
  expect(preview.exitCode, preview.all).toBe(0);
  expect(preview.all).not.toMatch(/download|installing plugin/i);
  return (JSON.parse(preview.stdout) as { steps: PlannedStep[] }).steps;
}

const typeOf = (step: PlannedStep) => step.newState?.type ?? step.urn.split("::")[2]!.split("$").pop()!;
const countTypes = (steps: PlannedStep[]) => {
  const counts: Record<string, number> = {};
  for (const step of steps) counts[typeOf(step)] = (counts[typeOf(step)] ?? 0) + 1;
  return counts;
};
const inputsOf = (steps: PlannedStep[], type: string) =>
  steps.filter((step) => typeOf(step) === type).map((step) => step.newState!.inputs);

describe("a real preview of each committed stack", () => {
  it.each([
    ["staging", "cax11"],
    ["prod", "cax21"],
  ] as const)(
    "plans %s: only creates (and reads its own last outputs), a %s with its firewall, addresses, volume, DNS, deploy steps and secrets",
    async (stack, serverType) => {
      const steps = await plan(stack);
      // The one read is the stack's reference to its own last outputs (what the previous run recorded).
      const reads = steps.filter((step) => step.op === "read");
      expect(reads.map(typeOf)).toEqual(["pulumi:pulumi:StackReference"]);
      expect(new Set(steps.filter((step) => step.op !== "read").map((step) => step.op))).toEqual(new Set(["create"]));
      const counts = countTypes(steps);
      expect(counts).toMatchObject({
        "hcloud:index/server:Server": 1,
        "hcloud:index/firewall:Firewall": 1,
        "hcloud:index/primaryIp:PrimaryIp": 2,
        "hcloud:index/rdns:Rdns": 2,
        "hcloud:index/volume:Volume": 1,
        "hcloud:index/volumeAttachment:VolumeAttachment": 1,
        "hcloud:index/zone:Zone": 1,
        // The host-config and grow-filesystem steps, and the four deploy steps.
        "command:remote:Command": 6,
        // Key bytes are derived from passwords: a RandomBytes id is its value, unencrypted in the state.
        "random:index/randomPassword:RandomPassword": 26,
      });
      // A for seven public names and the host, AAAA for the host only, CAA; SPF and DMARC only where real
      // mail is sent.
      expect(counts["hcloud:index/zoneRrset:ZoneRrset"]).toBe(stack === "prod" ? 12 : 10);
      expect(inputsOf(steps, "hcloud:index/server:Server")[0]).toMatchObject({
        serverType,
        image: "ubuntu-24.04",
        location: "fsn1",
      });
      const synthetic = [
        "pulumi-nodejs:dynamic/olympus:seed:SyntheticUsers",
        "pulumi-nodejs:dynamic/olympus:seed:Soak",
      ];
      for (const type of synthetic) expect(counts[type] ?? 0, type).toBe(stack === "staging" ? 1 : 0);
      const protections = inputsOf(steps, "hcloud:index/volume:Volume")[0];
      expect(protections?.deleteProtection).toBe(stack === "prod");
    },
  );

  it("prints the full plan for a pull request, with the policy pack, and puts no secret in the comment", async () => {
    const commentFile = join(backend, "staging-comment.md");
    const preview = await execa("npx", ["tsx", "scripts/operations/preview.ts", "staging", "--comment", commentFile], {
      cwd: projectDir,
      env,
      all: true,
      reject: false,
    });
    expect(preview.exitCode, preview.all).toBe(0);
    expect(preview.all).toContain("olympus-guardrails");
    expect(preview.all).toMatch(/serverType\s*: "cax11"/);
    const comment = readFileSync(commentFile, "utf8");
    expect(comment.startsWith(commentMarker("staging"))).toBe(true);
    expect(comment).toMatch(/### `pulumi preview` of \*\*staging\*\*: \+ \d+ to create/);
    expect(comment).toContain("hcloud:index/server:Server");
    const { stdout } = await pulumi(["config", "--json", "--show-secrets", "--stack", "staging"]);
    const secrets = Object.values(JSON.parse(stdout) as Record<string, { value?: string; secret?: boolean }>).filter(
      (entry) => entry.secret,
    );
    expect(secrets.length).toBeGreaterThanOrEqual(2);
    for (const { value } of secrets) {
      expect(value!.length).toBeGreaterThanOrEqual(8);
      expect(preview.all!.includes(value!)).toBe(false);
      expect(comment.includes(value!)).toBe(false);
    }
  });
});

describe("the policy pack stops a real preview on its own", () => {
  const fixture = join(projectDir, "test", "fixtures", "policy-violations");
  const previewBreaking = async (violation: string) => {
    const stack = `breaks-${violation}`;
    await pulumi(["stack", "select", "--create", stack, "--non-interactive"], fixture);
    await pulumi(["config", "set", "--stack", stack, "violation", violation], fixture);
    await pulumi(["config", "set", "--stack", stack, "--secret", "hcloud:token", "x".repeat(64)], fixture);
    return pulumi(
      ["preview", "--non-interactive", "--stack", stack, "--policy-pack", join(projectDir, "policy")],
      fixture,
    );
  };

  it("passes resources that break nothing", async () => {
    const preview = await previewBreaking("none");
    expect(preview.exitCode, preview.all).toBe(0);
  });

  it.each([
    ["firewall-exposure", "inbound tcp/5432 from 0.0.0.0/0 is not allowed"],
    ["prod-protection", "unprotected (hcloud:index/volume:Volume) is not protected (Pulumi protect)"],
    [
      "no-synthetic-traffic-in-prod",
      "deploys the login-simulator service, which simulates synthetic users, in a prod stack",
    ],
    ["one-version-table", "hera runs ghcr.io/evil/hera:latest, which is not in the version table"],
    ["dmarc-needs-dkim", "publishes a DMARC policy that rejects mail, but the zone has no DKIM record"],
  ])("%s fails the preview with its own message", async (policy, message) => {
    const preview = await previewBreaking(policy);
    expect(preview.exitCode).not.toBe(0);
    expect(preview.all).toContain(`[mandatory]  ${policy}`);
    expect(preview.all).toContain(message);
  });
});
