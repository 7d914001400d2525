import execa from "execa";
import { readStackFile } from "../../lib/config/stackFiles";
import { pulumiEnvironment, requirePulumi } from "../toolchain/toolchain";
import type { PulumiStep, StateExport } from "./stagingOps";

/** Selects the stack in the (file) backend, creating it from its committed stack file when new. */
export async function ensureStack(projectDir: string, stack: string, env = pulumiEnvironment()): Promise<void> {
  await requirePulumi(env);
  await execa("pulumi", ["stack", "select", "--create", stack, "--non-interactive"], { cwd: projectDir, env });
}

/**
 * The raw config Pulumi hands the program, secrets decrypted by the CLI (the stack's own secrets
 * provider), as a map of namespaced keys to strings, and which keys the stack holds encrypted.
 */
export async function decryptedConfig(
  projectDir: string,
  stack: string,
  env = pulumiEnvironment(),
): Promise<{ raw: Record<string, string>; encrypted: Set<string> }> {
  await ensureStack(projectDir, stack, env);
  const { stdout } = await execa("pulumi", ["config", "--json", "--show-secrets", "--stack", stack], {
    cwd: projectDir,
    env,
  });
  const entries = JSON.parse(stdout) as Record<string, { value?: string; secret?: boolean }>;
  return {
    raw: Object.fromEntries(Object.entries(entries).map(([key, entry]) => [key, entry.value ?? ""])),
    encrypted: new Set(Object.keys(entries).filter((key) => entries[key]?.secret)),
  };
}

/**
 * The stack's environment kind from its committed config (explicit config, never guessed from the stack
 * name), read from the files so it works before the stack exists in a backend.
 */
export function stackEnvironment(dir: string, stack: string): string | undefined {
  const { project, raw } = readStackFile(dir, stack);
  return raw[`${project}:environment`];
}

export async function runSteps(dir: string, steps: PulumiStep[]): Promise<void> {
  for (const step of steps) {
    const env = Object.entries(step.env ?? {})
      .map(([name, value]) => `${name}=${value} `)
      .join("");
    console.log(`==> ${step.description}: ${env}pulumi ${step.args.join(" ")}`);
    await execa("pulumi", step.args, { cwd: dir, stdio: "inherit", env: step.env });
  }
}

/** A stack's exported state: resources with their URNs, types and protection. */
export async function exportedState(dir: string, stack: string): Promise<StateExport> {
  const { stdout } = await execa("pulumi", ["stack", "export", "--stack", stack], {
    cwd: dir,
    env: pulumiEnvironment(),
  });
  return JSON.parse(stdout) as StateExport;
}

/** A stack's outputs from its last run (secret ones masked); {} for a stack that never ran. */
export async function stackOutputs(dir: string, stack: string): Promise<Record<string, unknown>> {
  const { stdout } = await execa("pulumi", ["stack", "output", "--json", "--stack", stack], {
    cwd: dir,
    env: pulumiEnvironment(),
  });
  return JSON.parse(stdout || "{}") as Record<string, unknown>;
}
