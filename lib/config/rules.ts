import {
  durationSeconds,
  isWorldCidr,
  type PlainConfig,
  project,
  type StackConfig,
  secretKeys,
  show,
  smtpSandboxes,
  turnstileTestKeys,
} from "./schema";

const key = (name: string) => `${project}:${name}`;

/**
 * The rules across keys, in named groups (awsx's validateX style): each takes a parsed stack config and
 * returns its problems, each naming the key, the bad value (never a secret's) and what is allowed.
 */
type Rule = (config: StackConfig) => string[];

/** Prod serves the production domain; every other stack serves a domain of its own (staging under prod's). */
export const domainRules: Rule = (config) => {
  const problems: string[] = [];
  const prod = config.environment === "prod";
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
  if (config.environment === "staging" && !config.domain.endsWith(`.${config.productionDomain}`)) {
    problems.push(
      `${key("domain")}: staging must live under the production domain (e.g. staging.${config.productionDomain}); got ${show(config.domain)}`,
    );
  }
  return problems;
};

/** What prod guarantees: SSH from named networks only, protection, backups, no sleep, the shared version table. */
export const prodGuarantees: Rule = (config) => {
  if (config.environment !== "prod") return [];
  const problems: string[] = [];
  if (config.adminCidrs.some(isWorldCidr)) {
    problems.push(
      `${key("adminCidrs")}: prod must not open SSH to the whole internet; got ${show(config.adminCidrs.filter(isWorldCidr))}, allowed are specific networks such as 203.0.113.0/24`,
    );
  }
  if (!config.protect) problems.push(`${key("protect")}: prod resources must be protected; got false, allowed is true`);
  if (!config.backups) problems.push(`${key("backups")}: prod must keep Hetzner backups; got false, allowed is true`);
  const { nightlyHours, weekendsAsleep } = config.sleepSchedule;
  if (nightlyHours > 0 || weekendsAsleep)
    problems.push(
      `${key("sleepSchedule")}: prod never sleeps, so its cost estimate must not assume it does; got ${show(config.sleepSchedule)}, allowed is { nightlyHours: 0, weekendsAsleep: false }`,
    );
  if (Object.keys(config.stagedRollout).length > 0) {
    problems.push(
      `${key("stagedRollout")}: prod runs the shared version table; got ${show(config.stagedRollout)}, allowed is {} (stage a version in staging first, then bump the table)`,
    );
  }
  return problems;
};

/** Synthetic users, the login simulator and the soak: never in prod, and each needs what it logs in with. */
export const syntheticTrafficRules: Rule = (config) => {
  const problems: string[] = [];
  const prod = config.environment === "prod";
  const { seeding, loginSimulation, soak } = config;
  if (prod && seeding.enabled)
    problems.push(`${key("seeding.enabled")}: synthetic users are never seeded into prod; got true, allowed is false`);
  if (prod && loginSimulation.loginsPerHour > 0) {
    problems.push(
      `${key("loginSimulation.loginsPerHour")}: prod runs no login simulation; got ${loginSimulation.loginsPerHour}, allowed is 0`,
    );
  }
  if (prod && soak.enabled)
    problems.push(
      `${key("soak.enabled")}: the soak gate runs in staging before prod; got true in prod, allowed is false`,
    );
  if (soak.enabled && !seeding.enabled)
    problems.push(`${key("soak.enabled")}: the soak logs in synthetic users, so seeding.enabled must be true`);
  if (seeding.enabled && seeding.count === 0)
    problems.push(`${key("seeding.count")}: seeding is enabled with 0 users; allowed is 1 to 100000`);
  if ((seeding.enabled || loginSimulation.loginsPerHour > 0) && !config.secrets.syntheticPassword) {
    problems.push(
      `${secretKeys.syntheticPassword}: missing secret; seeding and login simulation need it (pulumi config set --secret syntheticPassword ...)`,
    );
  }
  if (loginSimulation.loginsPerHour > 0 && !seeding.enabled) {
    problems.push(
      `${key("loginSimulation.loginsPerHour")}: login simulation logs in synthetic users, so seeding.enabled must be true`,
    );
  }
  return problems;
};

/** Real mail only from prod, through a provider whose URI is well formed; elsewhere Mailpit or a named sandbox. */
export const mailRules: Rule = (config) => {
  const problems: string[] = [];
  const prod = config.environment === "prod";
  const mail = config.mail;
  if (prod && mail.mode !== "smtp")
    problems.push(`${key("mail.mode")}: prod sends real mail; got ${show(mail.mode)}, allowed is "smtp"`);
  if (prod && mail.sandbox !== null)
    problems.push(`${key("mail.sandbox")}: prod mail goes to customers; got ${show(mail.sandbox)}, allowed is null`);
  if (mail.records.length > 0 && !(mail.mode === "smtp" && mail.sandbox === null))
    problems.push(
      `${key("mail.records")}: DKIM and return-path records belong to a live mail provider (prod); this stack sends no real mail, allowed is []`,
    );
  if (mail.mode !== "smtp") {
    if (mail.sandbox !== null)
      problems.push(
        `${key("mail.sandbox")}: only used with mail.mode "smtp"; got ${show(mail.sandbox)} with "mailpit"`,
      );
    return problems;
  }
  const uri = config.secrets.smtpUri;
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
    // Alertmanager mails the alerts by the same route and speaks implicit TLS on port 465 only.
    if (parsedUri?.protocol === "smtps:" && parsedUri.port !== "" && parsedUri.port !== "465")
      problems.push(
        `${secretKeys.smtpUri}: an smtps:// URI on port ${parsedUri.port}; alerts go through Alertmanager, which speaks implicit TLS on 465 only: use smtps:// on 465 or smtp:// (STARTTLS) on ${parsedUri.port}`,
      );
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
  return problems;
};

/** Real Turnstile keys in prod; a "turnstile" stack names both of its keys. */
export const captchaRules: Rule = (config) => {
  const problems: string[] = [];
  const prod = config.environment === "prod";
  const { captcha, captchaSiteKey } = config.rateLimits;
  if (prod && captcha !== "turnstile")
    problems.push(
      `${key("rateLimits.captcha")}: prod uses real Turnstile keys; got ${show(captcha)}, allowed is "turnstile"`,
    );
  if (captcha !== "turnstile") return problems;
  if (!captchaSiteKey) problems.push(`${key("rateLimits.captchaSiteKey")}: "turnstile" needs the widget's site key`);
  if (!config.secrets.captchaSecretKey)
    problems.push(`${secretKeys.captchaSecretKey}: missing secret; "turnstile" needs the widget's secret key`);
  if (prod && captchaSiteKey === turnstileTestKeys.siteKey)
    problems.push(`${key("rateLimits.captchaSiteKey")}: prod must not use Turnstile's always-pass test key`);
  return problems;
};

/** A Hetzner server needs its API token; an existing machine and images built on it are for the dev tier only. */
export const hostRules: Rule = (config) => {
  const problems: string[] = [];
  const { hcloudToken } = config.secrets;
  if (config.existingHost === null) {
    if (!hcloudToken)
      problems.push(
        `${secretKeys.hcloudToken}: missing secret; a Hetzner host needs an API token (pulumi config set --secret hcloud:token ...)`,
      );
    else if (!/^[A-Za-z0-9]{64}$/.test(hcloudToken))
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
};

/** Every environment backs up into a repository it holds the keys of; a private CA only in the dev tier. */
export const backupRules: Rule = (config) => {
  const problems: string[] = [];
  for (const name of ["backupAccessKeyId", "backupSecretAccessKey"] as const)
    if (!config.secrets[name])
      problems.push(
        `${secretKeys[name]}: missing secret; every environment backs up PostgreSQL into its own bucket (make the bucket and its key pair in Hetzner's console, then pulumi config set --secret ${name} ...)`,
      );
  if (config.backup.caFile !== null && config.environment !== "dev")
    problems.push(
      `${key("backup.caFile")}: only the dev tier's repository has a private CA; ${config.environment}'s repository presents a public certificate, allowed is null`,
    );
  return problems;
};

/** Every rule group, in the order their problems are listed. */
export const ruleGroups = [
  domainRules,
  prodGuarantees,
  syntheticTrafficRules,
  mailRules,
  captchaRules,
  hostRules,
  backupRules,
];

/** Rules across keys, and the guarantees each environment kind makes. */
export const environmentRules: Rule = (config) => ruleGroups.flatMap((rule) => rule(config));

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
  if (prod.backup.endpoint === staging.backup.endpoint && prod.backup.bucket === staging.backup.bucket) {
    problems.push(
      `${key("backup.bucket")}: staging and prod both back up into ${show(prod.backup.bucket)}; each environment needs its own bucket and key pair, so staging never holds anything that can read or delete prod's backups`,
    );
  }
  const shared = staging.alerts.recipients.filter((address) => prod.alerts.recipients.includes(address));
  if (shared.length > 0) {
    problems.push(
      `${key("alerts.recipients")}: staging mails its alerts to prod's ${show(shared)} too; staging's alerts must never reach prod's receivers, so the lists must not share an address`,
    );
  }
  if (prod.productionDomain !== staging.productionDomain) {
    problems.push(
      `${key("productionDomain")}: staging says ${show(staging.productionDomain)}, prod says ${show(prod.productionDomain)}; both stacks must agree`,
    );
  }
  return problems;
}
