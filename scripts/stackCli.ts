import execa from "execa";
import type { PulumiStep } from "./stagingOps";

/** The stack's environment kind from its config (explicit config, never guessed from the name). */
export async function stackEnvironment(dir: string, stack: string): Promise<string | undefined> {
  const { stdout, exitCode } = await execa("pulumi", ["config", "get", "environment", "--stack", stack], { cwd: dir, reject: false });
  return exitCode === 0 ? stdout.trim() : undefined;
}

export async function runSteps(dir: string, steps: PulumiStep[]): Promise<void> {
  for (const step of steps) {
    console.log(`==> ${step.description}: pulumi ${step.args.join(" ")}`);
    await execa("pulumi", step.args, { cwd: dir, stdio: "inherit" });
  }
}
