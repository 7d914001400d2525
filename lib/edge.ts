import type { PlainConfig } from "./config/schema";
import { turnstileTestKeys } from "./config/schema";
import type { PublicSite } from "./topology";

/** A Caddy `rate_limit` zone (github.com/mholt/caddy-ratelimit); 429 answers carry Retry-After. */
export interface RateLimitZone {
  name: string;
  methods: string[];
  paths: string[];
  events: number;
  window: string;
}

/**
 * Login abuse protection in the three layers Olympus has, as one stack's settings: Caddy `rate_limit`
 * zones on the CIAM login endpoints (429 with Retry-After), the SDK's per-account lockout in the
 * olympus database, and Turnstile CAPTCHA in Hera (always-pass test keys or off outside prod). Demo
 * accounts, which bypass both, stay disabled everywhere.
 */
export interface EdgeSettings {
  /** Layer 1: Caddy rate_limit zones per public site. */
  caddyZones: Partial<Record<PublicSite, RateLimitZone[]>>;
  /** Layer 2: the SDK's per-account lockout, stored in the olympus database's settings tables. */
  sdkSettings: Record<string, number | boolean>;
  /** Layer 3: Turnstile CAPTCHA in Hera. The secret key travels separately, as a secret. */
  captcha: { enabled: boolean; siteKey: string };
  /** Which CAPTCHA keys Hera uses: decides where its secret key comes from (see captchaSecret). */
  captchaMode: PlainConfig["rateLimits"]["captcha"];
  /** Always false: demo accounts bypass CAPTCHA and lockout. */
  allowDemoAccounts: false;
}

/** CIAM login endpoints the rate limiter guards: Hera's form and Kratos's self-service API. */
export const loginPaths = ["/login*", "/self-service/login*"];

export function edgeSettings(rateLimits: PlainConfig["rateLimits"]): EdgeSettings {
  const { login, lockout, captcha } = rateLimits;
  return {
    caddyZones: {
      ciamLogin: [
        { name: "ciam_login", methods: ["POST"], paths: loginPaths, events: login.events, window: login.window },
      ],
    },
    sdkSettings: {
      "security.brute_force.enabled": true,
      "security.brute_force.max_attempts": lockout.maxAttempts,
      "security.brute_force.window_seconds": lockout.windowSeconds,
      "security.brute_force.lockout_duration_seconds": lockout.lockoutSeconds,
      // A database outage must not lock every customer out; Olympus logs these as fail_open.
      "security.brute_force.fail_open": true,
    },
    captcha: {
      enabled: captcha !== "disabled",
      siteKey:
        captcha === "test-keys"
          ? turnstileTestKeys.siteKey
          : captcha === "turnstile"
            ? (rateLimits.captchaSiteKey ?? "")
            : "",
    },
    captchaMode: captcha,
    allowDemoAccounts: false,
  };
}

/** The CAPTCHA secret Hera gets: the always-pass test secret, the configured one, or none. */
export function captchaSecret(captcha: PlainConfig["rateLimits"]["captcha"], configured: string | undefined): string {
  if (captcha === "test-keys") return turnstileTestKeys.secretKey;
  if (captcha === "turnstile") return configured ?? "";
  return "unused-captcha-disabled";
}
