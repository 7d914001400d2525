import { isIP } from "node:net";
import { z } from "zod";
import { type ServerType, serverTypeNames } from "./pricing";
import { type ImageName, imageNames, imageSources, type StagedRollout } from "./versions";

/** The Pulumi project name, and so the namespace of every config key below. */
export const project = "olympus";

export const environments = ["staging", "prod", "dev"] as const;
export type Environment = (typeof environments)[number];

/** Hetzner locations that offer the ARM (cax) server types. */
export const armLocations = ["fsn1", "nbg1", "hel1"] as const;

/**
 * Live SMTP providers a non-prod stack may use because they accept mail without delivering it.
 * Each is recognised from the connection URI itself, so a typo cannot turn a sandbox into a live sender.
 */
export const smtpSandboxes = {
  "postmark-test": (uri: URL) =>
    uri.hostname === "smtp.postmarkapp.com" && decodeURIComponent(uri.username) === "POSTMARK_API_TEST",
  "mailtrap-sandbox": (uri: URL) => uri.hostname === "sandbox.smtp.mailtrap.io",
} as const;
export type SmtpSandbox = keyof typeof smtpSandboxes;

/** Cloudflare Turnstile's published always-pass test keys. */
export const turnstileTestKeys = {
  siteKey: "1x00000000000000000000AA",
  secretKey: "1x0000000000000000000000000000000AA",
};

const hostnameLabel = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const isDomainName = (value: string) =>
  value.length <= 253 && value.split(".").length >= 2 && value.split(".").every((label) => hostnameLabel.test(label));

const domainName = z.string().refine(isDomainName, {
  message: "must be a lower-case DNS name such as example.com (letters, digits, hyphens, dots)",
});

const duration = z
  .string()
  .regex(/^[1-9][0-9]*(s|m|h)$/, { message: "must be a positive duration such as 10s, 1m or 1h" });

export function durationSeconds(value: string): number {
  const amount = Number(value.slice(0, -1));
  return amount * { s: 1, m: 60, h: 3600 }[value.slice(-1) as "s" | "m" | "h"];
}

function parseCidr(value: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | undefined {
  const [address, prefixText, ...rest] = value.split("/");
  if (!address || prefixText === undefined || rest.length > 0 || !/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const version = isIP(address);
  const prefix = Number(prefixText);
  if (version === 0 || prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

export const isWorldCidr = (cidr: string) => {
  const parsed = parseCidr(cidr);
  return parsed !== undefined && parsed.prefix === 0;
};

const cidr = z.string().refine((value) => parseCidr(value) !== undefined, {
  message: "must be an IPv4 or IPv6 network in CIDR form such as 203.0.113.0/24 or 2001:db8::/48",
});

const sshPublicKey = z.string().regex(/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$/, {
  message: "must be an OpenSSH public key line (ssh-ed25519 AAAA... comment)",
});

const rateLimitSchema = z.strictObject({
  /** Requests allowed per window and client IP. */
  events: z.number().int().positive(),
  /** Window as a Caddy duration (10s, 1m). */
  window: duration,
});

const lockoutSchema = z.strictObject({
  maxAttempts: z.number().int().min(3, { message: "must be at least 3 (the SDK's lockout races below 3)" }),
  windowSeconds: z.number().int().positive(),
  lockoutSeconds: z.number().int().min(60, { message: "must be at least 60 (the SDK ignores shorter lockouts)" }),
});

const captchaModes = ["turnstile", "test-keys", "disabled"] as const;

/**
 * Every config key of the project: the same schema parses staging, prod and dev. Pulumi.yaml declares
 * the same keys with descriptions and shared defaults; this schema adds the rules Pulumi's own typing
 * cannot express.
 */
export const configSchema = z.strictObject({
  environment: z.enum(environments),
  domain: domainName,
  productionDomain: domainName,
  siteSubdomain: z.string().regex(hostnameLabel, { message: "must be a single DNS label such as olympus" }),
  location: z.enum(armLocations),
  serverType: z.enum(serverTypeNames as [ServerType, ...ServerType[]]),
  image: z
    .string()
    .regex(/^ubuntu-24\.04$/, { message: "must be ubuntu-24.04 (the image cloud-init and podman are tested on)" }),
  volumeSizeGb: z.number().int().min(10).max(10240),
  sleepSchedule: z.strictObject({
    nightlyHours: z.number().int().min(0).max(23),
    weekendsAsleep: z.boolean(),
  }),
  protect: z.boolean(),
  backups: z.boolean(),
  dnsZone: z.enum(["create", "existing"]),
  adminCidrs: z.array(cidr).min(1, { message: "must list at least one network allowed to reach SSH" }),
  adminSshPublicKeys: z.array(sshPublicKey),
  // Pulumi.yaml's default `{}` (a null default would make the key required) means "a Hetzner server".
  existingHost: z.preprocess(
    (value) =>
      value === undefined || (typeof value === "object" && value !== null && Object.keys(value).length === 0)
        ? null
        : value,
    z
      .strictObject({
        address: z.string().min(1),
        port: z.number().int().min(1).max(65535),
        user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, { message: "must be a POSIX user name" }),
        /** File holding the machine's SSH host public key (ssh-keyscan), pinned by every remote step. */
        hostKeyFile: z.string().min(1),
        /** File holding the private key the machine accepts for `user` (as `ssh -i`); never copied into config. */
        identityFile: z.string().min(1),
      })
      .nullable(),
  ),
  rateLimits: z.strictObject({
    login: rateLimitSchema,
    lockout: lockoutSchema,
    captcha: z.enum(captchaModes),
    captchaSiteKey: z.string().nullable(),
  }),
  mail: z.strictObject({
    mode: z.enum(["mailpit", "smtp"]),
    sandbox: z.enum(Object.keys(smtpSandboxes) as [SmtpSandbox, ...SmtpSandbox[]]).nullable(),
    /** SPF include of the live provider, e.g. amazonses.com; only used where real mail is sent. */
    spfInclude: domainName.nullable(),
  }),
  seeding: z.strictObject({
    enabled: z.boolean(),
    count: z.number().int().min(0).max(100_000),
    seed: z.number().int().min(0),
  }),
  loginSimulation: z.strictObject({
    loginsPerHour: z.number().int().min(0).max(3600),
  }),
  soak: z.strictObject({
    enabled: z.boolean(),
    durationSeconds: z.number().int().min(1),
    loginsPerMinute: z.number().positive(),
    minSuccessRate: z.number().min(0).max(1),
    maxP95Ms: z.number().positive(),
  }),
  imageSource: z.enum(imageSources),
  stagedRollout: z.partialRecord(
    z.enum(imageNames as [ImageName, ...ImageName[]]),
    z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/),
  ),
});

export type PlainConfig = z.infer<typeof configSchema> & { stagedRollout: StagedRollout };

/** Secret config keys, by the name Pulumi stores them under. Values never leave this module unwrapped. */
export const secretKeys = {
  hcloudToken: "hcloud:token",
  smtpUri: `${project}:smtpUri`,
  syntheticPassword: `${project}:syntheticPassword`,
  captchaSecretKey: `${project}:captchaSecretKey`,
} as const;
export type SecretName = keyof typeof secretKeys;
const allSecretKeys: ReadonlySet<string> = new Set(Object.values(secretKeys));
export type SecretValues = Partial<Record<SecretName, string>>;

export interface StackConfig extends PlainConfig {
  stack: string;
  secrets: SecretValues;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid stack configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

const show = (value: unknown) => (value === undefined ? "nothing" : JSON.stringify(value));

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (node, key) => (node && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[key] : undefined),
    root,
  );
}

const keyName = (path: PropertyKey[]) => `${project}:${path.map(String).join(".")}`;

/**
 * Parses the non-secret keys from the raw values Pulumi hands the program (strings, JSON for objects and
 * arrays). Returns every problem instead of stopping at the first.
 */
export function parsePlainConfig(raw: Record<string, string>): { config?: PlainConfig; problems: string[] } {
  const problems: string[] = [];
  const shape = configSchema.shape;
  const candidate: Record<string, unknown> = {};
  for (const name of Object.keys(shape) as (keyof typeof shape)[]) {
    const text = raw[`${project}:${name}`];
    if (text === undefined) continue;
    if (shape[name] instanceof z.ZodString || shape[name] instanceof z.ZodEnum) {
      candidate[name] = text;
      continue;
    }
    try {
      candidate[name] = JSON.parse(text);
    } catch {
      problems.push(
        `${keyName([name])}: ${show(text)} is not a valid value for this key (expected ${shape[name].type})`,
      );
    }
  }
  for (const rawKey of Object.keys(raw)) {
    if (
      rawKey.startsWith(`${project}:`) &&
      !(rawKey.slice(project.length + 1) in shape) &&
      !allSecretKeys.has(rawKey)
    ) {
      problems.push(
        `${rawKey}: unknown key; allowed keys are ${[...Object.keys(shape), ...Object.keys(secretKeys)].join(", ")}`,
      );
    }
  }
  const parsed = configSchema.safeParse(candidate);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const got = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : show(valueAt(candidate, issue.path));
      problems.push(`${keyName(issue.path)}: ${issue.message}; got ${got}`);
    }
    return { problems };
  }
  return { config: parsed.data, problems };
}

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

const key = (name: string) => `${project}:${name}`;

/** Rules across keys, and the guarantees each environment kind makes. */
export function environmentRules(config: StackConfig): string[] {
  const problems: string[] = [];
  const prod = config.environment === "prod";
  const { secrets } = config;

  if (prod && config.domain !== config.productionDomain) {
    problems.push(
      `${key("domain")}: a prod stack serves productionDomain ${show(config.productionDomain)}; got ${show(config.domain)}`,
    );
  }
  if (!prod && config.domain === config.productionDomain) {
    problems.push(
      `${key("domain")}: a ${config.environment} stack must not serve the production domain ${show(config.productionDomain)}; use a subdomain such as staging.${config.productionDomain}`,
    );
  }
  if (!prod && !config.domain.endsWith(`.${config.productionDomain}`) && config.environment === "staging") {
    problems.push(
      `${key("domain")}: staging must live under the production domain (e.g. staging.${config.productionDomain}); got ${show(config.domain)}`,
    );
  }

  if (prod && config.adminCidrs.some(isWorldCidr)) {
    problems.push(
      `${key("adminCidrs")}: prod must not open SSH to the whole internet; got ${show(config.adminCidrs.filter(isWorldCidr))}, allowed are specific networks such as 203.0.113.0/24`,
    );
  }
  if (prod && !config.protect)
    problems.push(`${key("protect")}: prod resources must be protected; got false, allowed is true`);
  if (prod && !config.backups)
    problems.push(`${key("backups")}: prod must keep Hetzner backups; got false, allowed is true`);
  if (prod && Object.keys(config.stagedRollout).length > 0) {
    problems.push(
      `${key("stagedRollout")}: prod runs the shared version table; got ${show(config.stagedRollout)}, allowed is {} (stage a version in staging first, then bump the table)`,
    );
  }

  if (prod && config.seeding.enabled)
    problems.push(`${key("seeding.enabled")}: synthetic users are never seeded into prod; got true, allowed is false`);
  if (prod && config.loginSimulation.loginsPerHour > 0) {
    problems.push(
      `${key("loginSimulation.loginsPerHour")}: prod runs no login simulation; got ${config.loginSimulation.loginsPerHour}, allowed is 0`,
    );
  }
  if (prod && config.soak.enabled)
    problems.push(
      `${key("soak.enabled")}: the soak gate runs in staging before prod; got true in prod, allowed is false`,
    );
  if (config.soak.enabled && !config.seeding.enabled)
    problems.push(`${key("soak.enabled")}: the soak logs in synthetic users, so seeding.enabled must be true`);
  if (config.seeding.enabled && config.seeding.count === 0)
    problems.push(`${key("seeding.count")}: seeding is enabled with 0 users; allowed is 1 to 100000`);
  if ((config.seeding.enabled || config.loginSimulation.loginsPerHour > 0) && !secrets.syntheticPassword) {
    problems.push(
      `${secretKeys.syntheticPassword}: missing secret; seeding and login simulation need it (pulumi config set --secret syntheticPassword ...)`,
    );
  }
  if (config.loginSimulation.loginsPerHour > 0 && !config.seeding.enabled) {
    problems.push(
      `${key("loginSimulation.loginsPerHour")}: login simulation logs in synthetic users, so seeding.enabled must be true`,
    );
  }

  const mail = config.mail;
  if (prod && mail.mode !== "smtp")
    problems.push(`${key("mail.mode")}: prod sends real mail; got ${show(mail.mode)}, allowed is "smtp"`);
  if (prod && mail.sandbox !== null)
    problems.push(`${key("mail.sandbox")}: prod mail goes to customers; got ${show(mail.sandbox)}, allowed is null`);
  if (mail.mode === "smtp") {
    const uri = secrets.smtpUri;
    let parsedUri: URL | undefined;
    if (!uri)
      problems.push(`${secretKeys.smtpUri}: missing secret; mail.mode "smtp" needs the provider's connection URI`);
    else {
      try {
        parsedUri = new URL(uri);
        if (!["smtp:", "smtps:"].includes(parsedUri.protocol)) throw new Error("scheme");
      } catch {
        parsedUri = undefined;
        problems.push(`${secretKeys.smtpUri}: must be an smtp:// or smtps:// URI (value not shown: it is a secret)`);
      }
    }
    if (!prod) {
      if (mail.sandbox === null) {
        problems.push(
          `${key("mail.sandbox")}: a ${config.environment} stack must not send live mail; use mail.mode "mailpit" or name a sandbox provider (${Object.keys(smtpSandboxes).join(", ")})`,
        );
      } else if (parsedUri && !smtpSandboxes[mail.sandbox](parsedUri)) {
        problems.push(
          `${secretKeys.smtpUri}: mail.sandbox is ${show(mail.sandbox)} but the URI does not point at that sandbox (value not shown: it is a secret)`,
        );
      }
    }
    if (prod && mail.spfInclude === null)
      problems.push(
        `${key("mail.spfInclude")}: prod sends real mail and needs the provider's SPF include, e.g. amazonses.com`,
      );
  } else if (mail.sandbox !== null) {
    problems.push(`${key("mail.sandbox")}: only used with mail.mode "smtp"; got ${show(mail.sandbox)} with "mailpit"`);
  }

  const captcha = config.rateLimits.captcha;
  if (prod && captcha !== "turnstile")
    problems.push(
      `${key("rateLimits.captcha")}: prod uses real Turnstile keys; got ${show(captcha)}, allowed is "turnstile"`,
    );
  if (captcha === "turnstile") {
    if (!config.rateLimits.captchaSiteKey)
      problems.push(`${key("rateLimits.captchaSiteKey")}: "turnstile" needs the widget's site key`);
    if (!secrets.captchaSecretKey)
      problems.push(`${secretKeys.captchaSecretKey}: missing secret; "turnstile" needs the widget's secret key`);
    if (config.rateLimits.captchaSiteKey === turnstileTestKeys.siteKey && prod) {
      problems.push(`${key("rateLimits.captchaSiteKey")}: prod must not use Turnstile's always-pass test key`);
    }
  }

  if (config.existingHost === null) {
    if (!secrets.hcloudToken)
      problems.push(
        `${secretKeys.hcloudToken}: missing secret; a Hetzner host needs an API token (pulumi config set --secret hcloud:token ...)`,
      );
    else if (!/^[A-Za-z0-9]{64}$/.test(secrets.hcloudToken))
      problems.push(`${secretKeys.hcloudToken}: must be 64 letters and digits (value not shown: it is a secret)`);
  } else if (config.environment !== "dev") {
    problems.push(
      `${key("existingHost")}: an existing machine hosts the dev tier only; ${config.environment} runs on its own Hetzner server`,
    );
  }
  if (config.imageSource === "local-build" && config.environment !== "dev") {
    problems.push(
      `${key("imageSource")}: only the dev tier runs images built on its host; ${config.environment} runs the registries' images, allowed is "registry"`,
    );
  }
  return problems;
}

/** Requests per second a login limit allows; lower is stricter. */
export const loginRate = (limit: { events: number; window: string }) => limit.events / durationSeconds(limit.window);

/**
 * Rules between two stacks: prod must be at least as strict as staging. Run by the program (against
 * the staging stack file next to it) and by the parity check.
 */
export function crossStackRules(staging: PlainConfig, prod: PlainConfig): string[] {
  const problems: string[] = [];
  const stagingLogin = staging.rateLimits.login;
  const prodLogin = prod.rateLimits.login;
  if (loginRate(prodLogin) > loginRate(stagingLogin)) {
    problems.push(
      `${key("rateLimits.login")}: prod allows ${prodLogin.events} per ${prodLogin.window}, looser than staging's ${stagingLogin.events} per ${stagingLogin.window}; prod must be at least as strict`,
    );
  }
  const stagingLockout = staging.rateLimits.lockout;
  const prodLockout = prod.rateLimits.lockout;
  if (
    prodLockout.maxAttempts > stagingLockout.maxAttempts ||
    prodLockout.lockoutSeconds < stagingLockout.lockoutSeconds
  ) {
    problems.push(
      `${key("rateLimits.lockout")}: prod's lockout (${prodLockout.maxAttempts} attempts, ${prodLockout.lockoutSeconds}s) is looser than staging's (${stagingLockout.maxAttempts} attempts, ${stagingLockout.lockoutSeconds}s)`,
    );
  }
  if (prod.productionDomain !== staging.productionDomain) {
    problems.push(
      `${key("productionDomain")}: staging says ${show(staging.productionDomain)}, prod says ${show(prod.productionDomain)}; both stacks must agree`,
    );
  }
  return problems;
}
