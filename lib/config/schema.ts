import { isIP } from "node:net";
import { z } from "zod";
import { armLocations, type ServerType, serverTypeNames } from "../hetzner";
import { type ImageName, imageNames, imageSources, type StagedRollout } from "../versions";

/** The Pulumi project name, and so the namespace of every config key below. */
export const project = "olympus";

export const environments = ["staging", "prod", "dev"] as const;
export type Environment = (typeof environments)[number];

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
    /**
     * The provider's DKIM (`<selector>._domainkey`) and return-path records, names relative to the
     * domain, as the provider lists them. DMARC rejects only once a DKIM record is here.
     */
    records: z
      .array(
        z.strictObject({
          name: z.string().regex(/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/, {
            message: "must be a name relative to the domain, such as abc._domainkey or bounce",
          }),
          type: z.enum(["CNAME", "TXT", "MX"]),
          value: z.string().min(1),
        }),
      )
      .default([]),
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
  backup: z.strictObject({
    endpoint: z.string().regex(/^https:\/\/[a-z0-9.-]+$/, {
      message: "must be an https:// endpoint without a path, such as https://fsn1.your-objectstorage.com",
    }),
    region: z.string().regex(/^[a-z0-9-]{2,32}$/, { message: "must be a region name such as fsn1" }),
    bucket: z.string().regex(/^(?!-)[a-z0-9-]{3,63}(?<!-)$/, {
      message: "must be a bucket name: 3 to 63 lower-case letters, digits and hyphens",
    }),
    /** File holding the CA the repository's certificate chains to; null for a public certificate. */
    caFile: z.string().min(1).nullable(),
  }),
  hydraSystemRotations: z.number().int().min(0).max(20),
  alerts: z.strictObject({
    /** Who the environment's alerts are mailed to (through Mailpit or the sandbox outside prod). */
    recipients: z
      .array(z.email({ message: "must be an e-mail address such as ops@example.com" }))
      .min(1, { message: "must list at least one address the environment's alerts are mailed to" }),
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
  backupAccessKeyId: `${project}:backupAccessKeyId`,
  backupSecretAccessKey: `${project}:backupSecretAccessKey`,
} as const;
export type SecretName = keyof typeof secretKeys;
export const allSecretKeys: ReadonlySet<string> = new Set(Object.values(secretKeys));
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

export const show = (value: unknown) => (value === undefined ? "nothing" : JSON.stringify(value));

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
