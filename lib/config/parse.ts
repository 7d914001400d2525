import { environmentRules } from "./rules";
import {
  allSecretKeys,
  ConfigError,
  parsePlainConfig,
  project,
  type SecretName,
  type StackConfig,
  secretKeys,
} from "./schema";

/**
 * Parses and validates one stack's whole configuration, or throws one ConfigError listing every bad key
 * with its value and what is allowed. Secret values are checked for presence and shape only and are
 * never echoed. `encryptedKeys` are the keys Pulumi holds encrypted (by default all secret keys, for
 * callers that read decrypted stack config).
 */
export function parseStackConfig(
  stack: string,
  raw: Record<string, string>,
  encryptedKeys: ReadonlySet<string> = allSecretKeys,
): StackConfig {
  const { config: plain, problems } = parsePlainConfig(raw);
  const config: StackConfig | undefined = plain && { ...plain, stack, secrets: {} };
  for (const [name, rawKey] of Object.entries(secretKeys) as [SecretName, string][]) {
    const value = raw[rawKey];
    if (value === undefined || value === "") continue;
    // Pulumi.yaml cannot declare these optional keys `secret: true`, so the check that they are encrypted is ours.
    if (!encryptedKeys.has(rawKey))
      problems.push(
        `${rawKey}: is stored in plain text; it is a secret, set it with \`pulumi config set --secret ${rawKey.replace(`${project}:`, "")} ...\` (value not shown)`,
      );
    if (config) config.secrets[name] = value;
  }
  if (!config || problems.length > 0) throw new ConfigError(problems);
  const ruleProblems = environmentRules(config);
  if (ruleProblems.length > 0) throw new ConfigError(ruleProblems);
  return config;
}
