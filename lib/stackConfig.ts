import * as pulumi from "@pulumi/pulumi";
import { ConfigError, crossStackRules, parsePlainConfig, parseStackConfig, type PlainConfig, type StackConfig } from "./config";
import { readStackFile, stackNames } from "./stackFiles";

/** Whether Pulumi holds a key encrypted (the SDK marks this helper internal; Config.get relies on it). */
const isEncrypted = (key: string) => (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret(key);

/**
 * The one loader: the stack's config, validated before any resource is constructed. A bad value stops
 * the program with every problem listed (key, value, what is allowed); nothing is created.
 */
export function loadStackConfig(projectDir = process.cwd()): StackConfig {
  try {
    const raw = pulumi.runtime.allConfig();
    const config = parseStackConfig(pulumi.getStack(), raw, new Set(Object.keys(raw).filter(isEncrypted)));
    if (config.environment === "prod") {
      const problems = stagingStacks(projectDir, config.stack).flatMap((staging) => crossStackRules(staging, config));
      if (problems.length > 0) throw new ConfigError(problems);
    }
    return config;
  } catch (error) {
    if (error instanceof ConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/** The staging stacks next to this one, to check that prod is at least as strict as each of them. */
function stagingStacks(projectDir: string, self: string): PlainConfig[] {
  return stackNames(projectDir)
    .filter((stack) => stack !== self)
    .map((stack) => parsePlainConfig(readStackFile(projectDir, stack).raw).config)
    .filter((config): config is PlainConfig => config?.environment === "staging");
}
