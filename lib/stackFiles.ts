import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { project } from "./config";

/**
 * Reads stack configuration the way the Pulumi CLI hands it to the program: Pulumi.yaml defaults
 * overlaid by Pulumi.<stack>.yaml, keys namespaced, objects JSON-encoded. Encrypted values stay
 * encrypted: they are reported as present, never decrypted here.
 */
export interface StackFileConfig {
  raw: Record<string, string>;
  /** Keys whose value is encrypted (`secure:`) in the stack file. */
  secureKeys: Set<string>;
}

export const secureMarker = "<secure>";

const encode = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));
const namespaced = (key: string) => (key.includes(":") ? key : `${project}:${key}`);
const isSecure = (value: unknown): value is { secure: string } =>
  typeof value === "object" && value !== null && typeof (value as { secure?: unknown }).secure === "string";

export function projectDefaults(projectDir: string): Record<string, string> {
  const projectFile = parse(readFileSync(join(projectDir, "Pulumi.yaml"), "utf8")) as { config?: Record<string, { default?: unknown }> };
  const defaults: Record<string, string> = {};
  for (const [key, declaration] of Object.entries(projectFile.config ?? {})) {
    if (declaration && typeof declaration === "object" && "default" in declaration) defaults[namespaced(key)] = encode(declaration.default);
  }
  return defaults;
}

export function readStackFile(projectDir: string, stack: string): StackFileConfig {
  const path = join(projectDir, `Pulumi.${stack}.yaml`);
  if (!existsSync(path)) throw new Error(`no stack file ${path}`);
  const stackFile = parse(readFileSync(path, "utf8")) as { config?: Record<string, unknown> };
  const raw = projectDefaults(projectDir);
  const secureKeys = new Set<string>();
  for (const [key, value] of Object.entries(stackFile.config ?? {})) {
    if (isSecure(value)) {
      secureKeys.add(key);
      raw[key] = secureMarker;
    } else {
      raw[key] = encode(value);
    }
  }
  return { raw, secureKeys };
}

/** Stacks that have a stack file next to Pulumi.yaml. */
export function stackNames(projectDir: string): string[] {
  return readdirSync(projectDir)
    .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
    .filter((stack): stack is string => stack !== undefined)
    .sort();
}
