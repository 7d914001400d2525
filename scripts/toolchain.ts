import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

/**
 * Where the toolchain lives and the environment every script and test runs Pulumi with: a project-local
 * PULUMI_HOME and file backend, no update checks, no plugin downloads, and the built binaries on PATH.
 */
export const projectDir = join(__dirname, "..");
export const pulumiDir = join(projectDir, ".pulumi");
export const binDir = join(pulumiDir, "bin");
export const manifestPath = join(pulumiDir, "tools.json");
/** Outside the checkout, so CI runs and later sessions on the same machine reuse the builds. */
export const cacheRoot = process.env.OLYMPUS_TOOLS_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "olympus-infra", "tools");

/** The passphrase of the committed example stacks only; real stacks use their own (see README). */
export const examplePassphrase = "olympus-example-passphrase";

export interface ToolManifest {
  binaries: Record<string, string>;
  /** Kratos's configuration JSON schema and the ory/x schema it references, from the Go module cache. */
  kratosConfigSchema: string;
  tracingConfigSchema: string;
  /** Provider plugins that could not be built, with the reason. */
  unavailablePlugins: Record<string, string>;
}

export function readManifest(): ToolManifest {
  if (!existsSync(manifestPath)) throw new Error(`no toolchain yet (${manifestPath} is missing): run \`npm run tools\``);
  return JSON.parse(readFileSync(manifestPath, "utf8")) as ToolManifest;
}

export function pulumiEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    PATH: [binDir, join(projectDir, "node_modules", ".bin"), process.env.PATH ?? ""].join(delimiter),
    PULUMI_HOME: join(pulumiDir, "home"),
    // A backend chosen by the caller (CI, a real environment) wins over the local example backend.
    PULUMI_BACKEND_URL: process.env.PULUMI_BACKEND_URL ?? `file://${join(pulumiDir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? examplePassphrase,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_DISABLE_REGISTRY_RESOLVE: "true",
    ...overrides,
  };
}
