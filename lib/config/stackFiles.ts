import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

/**
 * Reads stack configuration the way the Pulumi CLI hands it to the program: Pulumi.yaml defaults
 * overlaid by Pulumi.<stack>.yaml, keys namespaced with the project's name, objects JSON-encoded.
 * Encrypted values are reported as present (`secureMarker`), never decrypted here.
 */
export interface StackFileConfig {
  /** The project's name from Pulumi.yaml, the namespace of its own keys. */
  project: string;
  raw: Record<string, string>;
}

export const secureMarker = "<secure>";

const encode = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));
const isSecure = (value: unknown): value is { secure: string } =>
  typeof value === "object" && value !== null && typeof (value as { secure?: unknown }).secure === "string";

export function readStackFile(projectDir: string, stack: string): StackFileConfig {
  const path = join(projectDir, `Pulumi.${stack}.yaml`);
  if (!existsSync(path)) throw new Error(`no stack file ${path}`);
  const projectFile = parse(readFileSync(join(projectDir, "Pulumi.yaml"), "utf8")) as {
    name: string;
    config?: Record<string, { default?: unknown }>;
  };
  const stackFile = parse(readFileSync(path, "utf8")) as { config?: Record<string, unknown> } | null;
  const namespaced = (key: string) => (key.includes(":") ? key : `${projectFile.name}:${key}`);
  const raw: Record<string, string> = {};
  for (const [key, declaration] of Object.entries(projectFile.config ?? {})) {
    if (declaration && typeof declaration === "object" && "default" in declaration)
      raw[namespaced(key)] = encode(declaration.default);
  }
  for (const [key, value] of Object.entries(stackFile?.config ?? {}))
    raw[key] = isSecure(value) ? secureMarker : encode(value);
  return { project: projectFile.name, raw };
}

/** Stacks that have a stack file next to Pulumi.yaml. */
export function stackNames(projectDir: string): string[] {
  return readdirSync(projectDir)
    .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
    .filter((stack): stack is string => stack !== undefined)
    .sort();
}
