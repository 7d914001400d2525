import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { readStackFile, secureMarker } from "../../lib/config/stackFiles";

export const projectDir = join(__dirname, "..", "..");

const alnum = (length: number) => {
  let value = "";
  while (value.length < length)
    value += randomBytes(96)
      .toString("base64")
      .replace(/[^A-Za-z0-9]/g, "");
  return value.slice(0, length);
};

/** Plaintext stand-ins for a stack's encrypted values, fresh per call (so stacks never share one). */
export function secretStandIns(): Record<string, string> {
  return {
    "hcloud:token": alnum(64),
    "olympus:syntheticPassword": alnum(24),
    "olympus:smtpUri": `smtps://AKIAEXAMPLE:${alnum(32)}@email-smtp.eu-central-1.amazonaws.com:465`,
    "olympus:captchaSecretKey": `0x4AAAAAAA${alnum(24)}`,
    "olympus:backupAccessKeyId": alnum(20),
    "olympus:backupSecretAccessKey": alnum(40),
  };
}

/**
 * The raw config Pulumi would hand the program for a committed stack: Pulumi.yaml defaults, the stack
 * file's plain values, and stand-ins for its encrypted ones.
 */
export function committedStackConfig(stack: string, overrides: Record<string, string> = {}): Record<string, string> {
  const { raw } = readStackFile(projectDir, stack);
  const standIns = secretStandIns();
  for (const [key, value] of Object.entries(raw)) if (value === secureMarker) raw[key] = standIns[key] ?? alnum(32);
  return { ...raw, ...overrides };
}

export const secretConfigKeys = Object.keys(secretStandIns());
