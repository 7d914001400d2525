import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import execa from "execa";

/**
 * Where the toolchain lives and the environment every script and test runs Pulumi with: a project-local
 * PULUMI_HOME and file backend, no update checks, and the built binaries first on PATH.
 */
export const projectDir = join(__dirname, "..", "..");
export const pulumiDir = join(projectDir, ".pulumi");
export const binDir = join(pulumiDir, "bin");
export const manifestPath = join(pulumiDir, "tools.json");
/** Outside the checkout, so CI runs and later sessions on the same machine reuse the builds. */
export const cacheRoot =
  process.env.OLYMPUS_TOOLS_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "olympus-infra", "tools");

/**
 * The one setting for machines without internet: a folder of upstream source archives (`git archive` of
 * release tags) that `npm run tools` builds the Pulumi language host, the provider plugins, Kratos and
 * Hydra from. Unset, the standard Pulumi CLI on PATH and its own plugin acquisition apply.
 */
export function vendorDir(): string | undefined {
  const configured = process.env.OLYMPUS_VENDOR_DIR;
  if (configured) return resolve(projectDir, configured);
  // Once set up from archives, this checkout keeps building from them (npm run preview, npm test).
  return existsSync(manifestPath) ? readManifest().vendorDir : undefined;
}

/** The passphrase of the committed example stacks only; real stacks use their own (see README). */
export const examplePassphrase = "olympus-example-passphrase";

/** A module version of a vendored build that differs from the upstream release's go.mod, and why. */
export interface ModuleDifference {
  module: string;
  upstream: string;
  built: string;
}

export interface ToolManifest {
  /** Whether the archives were used (offline) or the standard CLI and plugin acquisition apply. */
  mode: "vendor" | "standard";
  /** The source archives' folder the vendored tools were built from. */
  vendorDir?: string;
  binaries: Record<string, string>;
  /** Provider plugins registered in the project-local PULUMI_HOME, by name, with their versions. */
  plugins: Record<string, string>;
  /** JSON schemas the services validate their configuration with, and the `ory://` schemas they reference. */
  configSchemas: Record<"kratos" | "hydra", { schema: string; references: Record<string, string> }>;
  /** Per vendored build: module versions that differ from the upstream go.mod. */
  moduleDifferences: Record<string, ModuleDifference[]>;
}

export function readManifest(): ToolManifest {
  if (!existsSync(manifestPath))
    throw new Error(`no toolchain yet (${manifestPath} is missing): run \`npm run tools\``);
  return JSON.parse(readFileSync(manifestPath, "utf8")) as ToolManifest;
}

/** Path of a binary the toolchain provides. */
export function toolBinary(name: string): string {
  const path = readManifest().binaries[name];
  if (!path) throw new Error(`${name} is not in the toolchain manifest; run npm run tools`);
  return path;
}

/**
 * Fails with what to run when no Pulumi CLI is reachable (a fresh clone before `npm run tools`), instead
 * of the bare `spawn pulumi ENOENT` a command would meet.
 */
export async function requirePulumi(env: Record<string, string> = pulumiEnvironment()): Promise<void> {
  const found = await execa("pulumi", ["version"], { env, reject: false }).catch(() => undefined);
  if (found?.exitCode === 0) return;
  throw new Error(
    "no Pulumi CLI here: run `OLYMPUS_VENDOR_DIR=../shared/vendor npm run tools` first (it builds the pinned CLI into .pulumi/bin), or install the standard Pulumi CLI on PATH",
  );
}

export function pulumiEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  const offline = vendorDir() !== undefined;
  return {
    ...(process.env as Record<string, string>),
    PATH: [binDir, join(projectDir, "node_modules", ".bin"), process.env.PATH ?? ""].join(delimiter),
    PULUMI_HOME: join(pulumiDir, "home"),
    // A backend chosen by the caller (CI, a real environment) wins over the local example backend.
    PULUMI_BACKEND_URL: process.env.PULUMI_BACKEND_URL ?? `file://${join(pulumiDir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? examplePassphrase,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    // Offline, every plugin was built from source; a missing one must fail at once, not try a download.
    ...(offline
      ? { PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true", PULUMI_DISABLE_REGISTRY_RESOLVE: "true" }
      : {}),
    ...overrides,
  };
}
