import type { Environment } from "./config/schema";

/** What an operator may ask of a stack's power through OLYMPUS_POWER; unset keeps what the backend recorded. */
export type PowerRequest = "sleep" | "wake";

export const powerVariable = "OLYMPUS_POWER";
const requests: readonly PowerRequest[] = ["sleep", "wake"];

/**
 * Checks the request with the config, before any resource exists: only sleep or wake, and never sleep
 * for prod. Returns undefined when nothing (or something refused, reported in `problems`) was asked.
 */
export function parsePowerRequest(
  value: string | undefined,
  environment: Environment,
  stack: string,
  problems: string[],
): PowerRequest | undefined {
  if (value === undefined || value === "") return undefined;
  if (!requests.includes(value as PowerRequest)) {
    problems.push(
      `${powerVariable}: got ${JSON.stringify(value)}, allowed are ${requests.join(" and ")} (or unset to keep ${stack} as it is)`,
    );
  } else if (value === "sleep" && environment === "prod") {
    problems.push(
      `${powerVariable}: ${stack} is a prod environment and never sleeps; got sleep, allowed is wake or unset`,
    );
  } else {
    return value as PowerRequest;
  }
  return undefined;
}

/**
 * Whether the stack's server should exist after this run. The last run's answer lives in the backend
 * (the stack's `awake` output), so every `pulumi up`, preview, refresh and workflow sees the same sleep
 * state and only an explicit request changes it. A new stack starts awake; prod is always awake.
 */
export function decideAwake(
  request: PowerRequest | undefined,
  previouslyAwake: boolean | undefined,
  environment: Environment,
): boolean {
  if (environment === "prod") return true;
  if (request) return request === "wake";
  return previouslyAwake ?? true;
}
