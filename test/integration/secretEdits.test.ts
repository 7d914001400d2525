import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import execa from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { projectDir, pulumiEnvironment } from "../../scripts/toolchain/toolchain";

/**
 * The real engine and random provider deciding what an edit of StackSecrets does to secrets already
 * generated: the ones that must never change after the first start survive it; in prod nothing rotates.
 */
const workDir = join(projectDir, "test", "fixtures", "secret-edits");
const backend = mkdtempSync(join(tmpdir(), "olympus-secret-edits-state-"));
const env = pulumiEnvironment({ PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "edits" });
const pulumi = (stack: string, args: string[]) =>
  execa("pulumi", [...args, "--stack", stack, "--non-interactive"], { cwd: workDir, env, all: true, reject: false });

/** Hydra re-keys every subject with a new salt; PostgreSQL, Kratos' stored data and clients pinning the CA break. */
const neverChange = [
  "postgres-password",
  "ciam-kratos-cipher",
  "iam-kratos-cipher",
  "ciam-hydra-pairwise-salt",
  "ciam-hydra-system",
  "iam-hydra-system",
  "iam-hydra-pairwise-salt",
  "encryption-key",
  "postgres-ca-seed",
  "backup-passphrase",
];

/** Each generated password in the stack's state: its name and a digest of its value (never the value). */
async function passwordsIn(stack: string): Promise<string[]> {
  const exported = await pulumi(stack, ["stack", "export", "--show-secrets"]);
  const { deployment } = JSON.parse(exported.stdout) as {
    deployment: { resources?: { type: string; urn: string; outputs?: { result?: unknown } }[] };
  };
  return (deployment.resources ?? [])
    .filter((resource) => resource.type === "random:index/randomPassword:RandomPassword")
    .map((resource) => {
      const digest = createHash("sha256").update(JSON.stringify(resource.outputs?.result)).digest("hex");
      return `${passwordName(resource.urn)} ${digest}`;
    })
    .sort();
}

/** Deploys the stack, then edits how secrets are generated; returns the passwords as first generated. */
async function deployed(stack: string, protect: boolean): Promise<string[]> {
  await pulumi(stack, ["stack", "init"]);
  await pulumi(stack, ["config", "set", "protect", String(protect)]);
  await pulumi(stack, ["config", "set", "lengthBump", "0"]);
  const up = await pulumi(stack, ["up", "--yes", "--skip-preview"]);
  expect(up.exitCode, up.all).toBe(0);
  await pulumi(stack, ["config", "set", "lengthBump", "8"]);
  return passwordsIn(stack);
}

const passwordName = (urn: string) =>
  urn
    .split("::")
    .pop()!
    .replace(/^olympus-secrets-/, "");

afterAll(async () => {
  for (const stack of ["staging", "prod"]) {
    await pulumi(stack, ["state", "unprotect", "--all", "--yes"]);
    await pulumi(stack, ["destroy", "--yes"]);
  }
  rmSync(backend, { recursive: true, force: true });
});

describe("an edit of how secrets are generated", () => {
  it("replaces ordinary secrets but none of those that must never change", async () => {
    await deployed("staging", false);
    const preview = await pulumi("staging", ["preview", "--json"]);
    expect(preview.exitCode, preview.all).toBe(0);
    const steps = (JSON.parse(preview.stdout) as { steps: { op: string; urn: string }[] }).steps.filter((step) =>
      step.urn.includes("RandomPassword"),
    );
    const replaced = steps.filter((step) => step.op === "replace").map((step) => passwordName(step.urn));
    expect(replaced).toContain("admin-password");
    expect(replaced).toContain("athena-ciam-client-secret");
    for (const name of neverChange) expect(replaced, name).not.toContain(name);
    // They exist, so "not replaced" means kept.
    const state = await pulumi("staging", ["stack", "export"]);
    const names = [...state.stdout.matchAll(/"urn": "(urn:[^"]*RandomPassword::[^"]+)"/g)].map(([, urn]) =>
      passwordName(urn!),
    );
    expect(names).toEqual(expect.arrayContaining(neverChange));
  });

  it("rotates nothing in prod: the update refuses, and so does a destroy", async () => {
    const generated = await deployed("prod", true);
    expect(generated.length).toBeGreaterThan(neverChange.length);
    const edit = await pulumi("prod", ["up", "--yes", "--skip-preview"]);
    expect(edit.exitCode).not.toBe(0);
    expect(edit.all).toMatch(/protect/);
    const destroy = await pulumi("prod", ["destroy", "--yes"]);
    expect(destroy.exitCode).not.toBe(0);
    expect(destroy.all).toMatch(/protected/);
    // Every password is still there with the value it was first generated with.
    expect(await passwordsIn("prod")).toEqual(generated);
  });
});
