import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { certificateYear } from "../postgresTls";
import { type PowerRequest, parsePowerRequest, powerVariable } from "../power";
import { parseStackConfig } from "./parse";
import { crossStackRules } from "./rules";
import { ConfigError, type PlainConfig, parsePlainConfig, project, type StackConfig } from "./schema";
import { readStackFile, stackNames } from "./stackFiles";

/** How the program reaches an existing machine: the config's address, and the key material its files hold. */
export interface ExistingHostAccess {
  address: string;
  port: number;
  user: string;
  /** `ssh-ed25519 AAAA...`, pinned. */
  hostKey: string;
  /** The private key the machine accepts. Secret. */
  privateKey: string;
}

export interface LoadedStackConfig extends StackConfig {
  /** Read from the files `existingHost` names; null for a Hetzner server. */
  existingHostAccess: ExistingHostAccess | null;
  /** What this run was asked to do with the stack's power (OLYMPUS_POWER); undefined keeps it as it is. */
  powerRequest?: PowerRequest;
  /** Year whose PostgreSQL server certificate this run issues (OLYMPUS_CERTIFICATE_YEAR rehearses a later one). */
  certificateYear: number;
  /** The CA the backup repository's certificate chains to, read from backup.caFile; null for a public one. */
  backupCa: string | null;
}

/** Whether Pulumi holds a key encrypted (the SDK marks this helper internal; Config.get relies on it). */
const isEncrypted = (key: string) =>
  (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret(key);

/**
 * The one loader: the stack's config, validated before any resource is constructed. A bad value stops
 * the program with every problem listed (key, value, what is allowed); nothing is created.
 */
export function loadStackConfig(projectDir = process.cwd()): LoadedStackConfig {
  try {
    const raw = pulumi.runtime.allConfig();
    const config = parseStackConfig(pulumi.getStack(), raw, new Set(Object.keys(raw).filter(isEncrypted)));
    const problems =
      config.environment === "prod"
        ? stagingStacks(projectDir, config.stack).flatMap((staging) => crossStackRules(staging, config))
        : [];
    const access = config.existingHost && readExistingHostAccess(config.existingHost, projectDir, problems);
    const backupCa =
      config.backup.caFile &&
      readProjectFile(
        projectDir,
        "backup.caFile",
        config.backup.caFile,
        (text) => text.startsWith("-----BEGIN CERTIFICATE-----"),
        "a PEM certificate",
        problems,
      );
    const powerRequest = parsePowerRequest(process.env[powerVariable], config.environment, config.stack, problems);
    let year = new Date().getUTCFullYear();
    try {
      year = certificateYear(process.env.OLYMPUS_CERTIFICATE_YEAR);
    } catch (error) {
      problems.push((error as Error).message);
    }
    if (problems.length > 0) throw new ConfigError(problems);
    return {
      ...config,
      existingHostAccess: access ?? null,
      powerRequest,
      certificateYear: year,
      backupCa: backupCa ? `${backupCa}\n` : null,
    };
  } catch (error) {
    if (error instanceof ConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/** A file a config key names (relative to the project), trimmed, or undefined with the problem reported. */
function readProjectFile(
  projectDir: string,
  key: string,
  file: string,
  valid: (text: string) => boolean,
  expected: string,
  problems: string[],
): string | undefined {
  const path = resolve(projectDir, file);
  if (!existsSync(path)) {
    problems.push(
      `${project}:${key}: ${path} does not exist; expected ${expected} (npm run dev writes it for this machine)`,
    );
    return undefined;
  }
  const text = readFileSync(path, "utf8").trim();
  if (!valid(text)) problems.push(`${project}:${key}: ${path} does not hold ${expected}`);
  return text;
}

/** Reads the key files an existing host's config names (relative to the project), reporting what is wrong. */
export function readExistingHostAccess(
  host: NonNullable<PlainConfig["existingHost"]>,
  projectDir: string,
  problems: string[],
): ExistingHostAccess | undefined {
  const read = (field: "hostKeyFile" | "identityFile", valid: (text: string) => boolean, expected: string) =>
    readProjectFile(projectDir, `existingHost.${field}`, host[field], valid, expected, problems);
  const hostKey = read(
    "hostKeyFile",
    (text) => /^(ssh-ed25519|ecdsa-sha2-nistp256) [A-Za-z0-9+/=]+/.test(text),
    "an SSH host public key line (ssh-ed25519 AAAA...)",
  );
  const privateKey = read(
    "identityFile",
    (text) => /^-----BEGIN OPENSSH PRIVATE KEY-----/.test(text),
    "an unencrypted OpenSSH private key",
  );
  if (!hostKey || !privateKey) return undefined;
  return {
    address: host.address,
    port: host.port,
    user: host.user,
    hostKey: hostKey.split(/\s+/).slice(0, 2).join(" "),
    privateKey: `${privateKey}\n`,
  };
}

/** The staging stacks next to this one, to check that prod is at least as strict as each of them. */
function stagingStacks(projectDir: string, self: string): PlainConfig[] {
  return stackNames(projectDir)
    .filter((stack) => stack !== self)
    .map((stack) => parsePlainConfig(readStackFile(projectDir, stack).raw).config)
    .filter((config): config is PlainConfig => config?.environment === "staging");
}
