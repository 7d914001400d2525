import { rmSync } from "node:fs";
import { join } from "node:path";
import { type EngineEvent, LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import execa from "execa";
import { afterAll, beforeAll, expect } from "vitest";
import { syntheticIdentity } from "../../clients/identities";
import { parsePlainConfig } from "../../lib/config/schema";
import { readStackFile } from "../../lib/config/stackFiles";
import { hostnames } from "../../lib/topology";
import { type EdgeClient, edgeClient, projectCopy, stackContainers } from "../../scripts/devhost/devCycle";
import { pulumiDir } from "../../scripts/toolchain/toolchain";

/**
 * One dev stack on this machine for one test file, as a user runs it: `npm run dev` from a copy of the
 * project (config changes never touch the checkout), then the stack through the Automation API, a client
 * that trusts Caddy's internal CA, and `npm run dev:down` at the end.
 */
export interface DevStack {
  /** The project copy the stack runs from, and the environment its pulumi runs with. */
  dir: string;
  env: Record<string, string>;
  stack: Stack;
  client: EdgeClient;
  /** The synthetic users' password. */
  password: string;
  names: ReturnType<typeof hostnames>;
  /** What `npm run dev` printed. */
  devOutput: string;
  /** Messages the program logged since the last `diagnostics.length = 0`. */
  diagnostics: string[];
  onEvent: (event: EngineEvent) => void;
  outputs: () => Promise<Record<string, unknown>>;
  /** An npm script of the project copy, as a user runs it (`npm run <script> -- <args>`). */
  npm: (script: string, args: string[]) => Promise<execa.ExecaReturnValue>;
  down: () => Promise<void>;
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every two seconds until it gives a value (a throw counts as not yet); fails after the timeout. */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await pause(2000);
  }
}

/** Runs an update that must fail, and gives back what it printed. */
export async function failingUp(stack: Stack): Promise<string> {
  let output = "";
  await expect(
    stack.up({
      onOutput: (text) => {
        output += text;
      },
    }),
  ).rejects.toThrow();
  return output;
}

export const devPlan = { stack: "dev", seed: 20261126, run: "seed-20261126" };
export const seededEmail = (index: number) => syntheticIdentity(devPlan, index).traits.email;

const scripts: Record<string, string> = {
  dev: "scripts/devhost/dev.ts",
  restore: "scripts/operations/restore.ts",
  backups: "scripts/operations/backups.ts",
  status: "scripts/operations/status.ts",
};

/** A copy of the project the dev stack runs from, with the environment its commands need. */
type DevStackCopy = Awaited<ReturnType<typeof projectCopy>>;

/** Refuses to start beside another dev stack (they share ports), then prepares a copy of the project. */
async function prepareDevStack(): Promise<DevStackCopy> {
  if (Object.keys(await stackContainers()).length > 0)
    throw new Error("a dev stack already runs on this machine (its containers exist): npm run dev:down first");
  return projectCopy();
}

/** `npm run dev` in the copy; resolves with the running stack, or rejects with what it printed. */
async function startDevStack(copy: DevStackCopy): Promise<DevStack> {
  const { dir, env } = copy;
  const run = (script: string, args: string[]) =>
    execa("npx", ["tsx", scripts[script]!, ...args], { cwd: dir, env, all: true, reject: false });
  const dev = await run("dev", ["up"]);
  if (dev.exitCode !== 0) throw new Error(`npm run dev failed:\n${(dev.all ?? "").slice(-3000)}`);
  const pulumiCommand = await PulumiCommand.get({ root: pulumiDir, skipVersionCheck: false });
  const stack = await LocalWorkspace.selectStack({ stackName: "dev", workDir: dir }, { envVars: env, pulumiCommand });
  const outputs = async () =>
    Object.fromEntries(Object.entries(await stack.outputs()).map(([key, value]) => [key, value.value]));
  const client = edgeClient((await outputs()).edgeCa as string);
  const diagnostics: string[] = [];
  const { config } = parsePlainConfig(readStackFile(join(__dirname, "..", ".."), "dev").raw);
  return {
    dir,
    env,
    stack,
    client,
    password: (await stack.getConfig("syntheticPassword")).value,
    names: hostnames(config!.domain, config!.siteSubdomain),
    devOutput: dev.all ?? "",
    diagnostics,
    onEvent: (event) => {
      if (event.diagnosticEvent) diagnostics.push(event.diagnosticEvent.message);
    },
    outputs,
    npm: run,
    down: async () => {
      await client.close();
      await stopDevStack(copy);
    },
  };
}

/** `npm run dev:down` in the copy; the copy is removed once its stack is gone. */
async function stopDevStack(copy: DevStackCopy): Promise<void> {
  const down = await execa("npx", ["tsx", scripts.dev!, "down"], { cwd: copy.dir, env: copy.env, reject: false });
  // A copy whose stack could not be taken down keeps its state, so npm run dev:down can finish there.
  if (down.exitCode === 0) rmSync(copy.dir, { recursive: true, force: true });
  else console.error(`dev stack left in ${copy.dir}: run npm run dev:down there`);
}

/**
 * The dev stack a test file shares: prepared and started before its tests, handed to `started`, and
 * taken down after them (a copy whose stack never came up is cleaned up all the same).
 */
export function useDevStack(started: (dev: DevStack) => void): void {
  let copy: DevStackCopy | undefined;
  let dev: DevStack | undefined;
  beforeAll(async () => {
    copy = await prepareDevStack();
    dev = await startDevStack(copy);
    started(dev);
  }, 900_000);
  afterAll(async () => {
    if (dev) await dev.down();
    else if (copy) await stopDevStack(copy);
  });
}
