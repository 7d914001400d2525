import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import execa from "execa";
import { parse } from "yaml";
import type { PulumiStep } from "./stagingOps";

/**
 * The stack's environment kind from its committed config (explicit config, never guessed from the stack
 * name), read from the files so it works before the stack exists in a backend.
 */
export function stackEnvironment(dir: string, stack: string): string | undefined {
  const project = parse(readFileSync(join(dir, "Pulumi.yaml"), "utf8")) as { name: string; config?: Record<string, { default?: unknown }> };
  const stackFile = join(dir, `Pulumi.${stack}.yaml`);
  const config = existsSync(stackFile) ? ((parse(readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {}) : {};
  const value = config[`${project.name}:environment`] ?? project.config?.environment?.default;
  return typeof value === "string" ? value : undefined;
}

export async function runSteps(dir: string, steps: PulumiStep[]): Promise<void> {
  for (const step of steps) {
    console.log(`==> ${step.description}: pulumi ${step.args.join(" ")}`);
    await execa("pulumi", step.args, { cwd: dir, stdio: "inherit" });
  }
}
