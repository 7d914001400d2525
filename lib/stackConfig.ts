import * as pulumi from "@pulumi/pulumi";
import { ConfigError, crossStackRules, parsePlainConfig, parseStackConfig, type PlainConfig, type StackConfig } from "./config";
import { readStackFile, stackNames } from "./stackFiles";

/**
 * The one loader: the stack's config, validated before any resource is constructed. A bad value stops
 * the program with every problem listed (key, value, what is allowed); nothing is created.
 */
export function loadStackConfig(projectDir = process.cwd()): StackConfig {
  try {
    const config = parseStackConfig(pulumi.getStack(), pulumi.runtime.allConfig());
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
