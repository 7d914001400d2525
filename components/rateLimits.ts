import * as pulumi from "@pulumi/pulumi";
import { captchaSecret, edgeSettings, type EdgeSettings } from "../lib/edge";
import type { PlainConfig } from "../lib/config";

export interface RateLimitsArgs {
  /** Login limit, SDK lockout and CAPTCHA mode of the stack (validated: prod at least as strict as staging). */
  rateLimits: PlainConfig["rateLimits"];
  /** Turnstile secret key (secret); only read for captcha "turnstile". @default undefined */
  captchaSecretKey?: pulumi.Input<string>;
}

/**
 * Login abuse protection in three layers, rendered into the mechanisms Olympus has: Caddy `rate_limit`
 * zones on the CIAM login endpoints (429 with Retry-After), the SDK's per-account lockout settings in
 * the olympus database, and Turnstile CAPTCHA in Hera (always-pass test keys or off outside prod).
 * Demo accounts, which bypass both, stay disabled everywhere.
 */
export class RateLimits extends pulumi.ComponentResource {
  readonly settings: EdgeSettings;
  /** The CAPTCHA secret Hera verifies with. Secret. */
  readonly captchaSecretKey: pulumi.Output<string>;

  constructor(name: string, args: RateLimitsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("olympus:edge:RateLimits", name, {}, opts);
    this.settings = edgeSettings(args.rateLimits);
    this.captchaSecretKey = pulumi.secret(
      pulumi.output(args.captchaSecretKey).apply((configured) => captchaSecret(args.rateLimits.captcha, configured)),
    );
    this.registerOutputs({
      loginLimit: `${args.rateLimits.login.events} per ${args.rateLimits.login.window}`,
      captcha: args.rateLimits.captcha,
      allowDemoAccounts: this.settings.allowDemoAccounts,
    });
  }
}
