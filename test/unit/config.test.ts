import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { parseStackConfig } from "../../lib/config/parse";
import {
  backupRules,
  captchaRules,
  crossStackRules,
  domainRules,
  environmentRules,
  hostRules,
  mailRules,
  prodGuarantees,
  ruleGroups,
  syntheticTrafficRules,
} from "../../lib/config/rules";
import { ConfigError, turnstileTestKeys } from "../../lib/config/schema";
import { projectDir } from "../../scripts/toolchain/toolchain";
import { committedStackConfig } from "../helpers/stackConfig";

const parse = (stack: string, raw: Record<string, string>) => parseStackConfig(stack, raw);
const staging = (overrides: Record<string, string> = {}) => committedStackConfig("staging", overrides);
const prod = (overrides: Record<string, string> = {}) => committedStackConfig("prod", overrides);
const json = (value: unknown) => JSON.stringify(value);

/** Staging's kind of rate limits as JSON config, with the parts a case breaks replaced. */
const rateLimits = (changes: { login?: object; lockout?: object; captcha?: string; captchaSiteKey?: string | null }) =>
  json({
    login: { events: 10, window: "1m" },
    lockout: { maxAttempts: 5, windowSeconds: 600, lockoutSeconds: 900 },
    captcha: "test-keys",
    captchaSiteKey: null,
    ...changes,
  });

function problemsOf(stack: string, raw: Record<string, string>): string[] {
  try {
    parse(stack, raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected the config to be rejected");
}

describe("the committed stacks", () => {
  it("parse into the sanctioned staging/prod shapes", () => {
    const s = parse("staging", staging());
    const p = parse("prod", prod());
    expect([s.environment, s.domain, s.serverType]).toEqual(["staging", "staging.example.com", "cax11"]);
    expect([p.environment, p.domain, p.serverType]).toEqual(["prod", "example.com", "cax21"]);
    expect(p.protect && p.backups).toBe(true);
    expect(s.seeding.enabled).toBe(true);
    expect(p.seeding.enabled).toBe(false);
    expect(s.mail.mode).toBe("mailpit");
    expect(p.mail.mode).toBe("smtp");
    expect(crossStackRules(s, p)).toEqual([]);
  });
});

/**
 * Each bad value must stop the program with a message naming the key, showing the bad value where it
 * is not secret, and saying what is allowed.
 */
const badValues: {
  title: string;
  stack: "staging" | "prod";
  overrides: Record<string, string>;
  key: string;
  mentions: string[];
}[] = [
  {
    title: "unknown server type",
    stack: "staging",
    overrides: { "olympus:serverType": "cx99" },
    key: "olympus:serverType",
    mentions: ["cx99", "cax11"],
  },
  {
    title: "x86 server type",
    stack: "prod",
    overrides: { "olympus:serverType": "cpx31" },
    key: "olympus:serverType",
    mentions: ["cpx31", "cax21"],
  },
  {
    title: "malformed domain",
    stack: "staging",
    overrides: { "olympus:domain": "Staging_Example..com" },
    key: "olympus:domain",
    mentions: ["Staging_Example..com", "DNS name"],
  },
  {
    title: "staging domain equal to prod's",
    stack: "staging",
    overrides: { "olympus:domain": "example.com" },
    key: "olympus:domain",
    mentions: ["production domain", "staging.example.com"],
  },
  {
    title: "prod serving another domain",
    stack: "prod",
    overrides: { "olympus:domain": "other.example.org" },
    key: "olympus:domain",
    mentions: ["other.example.org", "example.com"],
  },
  {
    title: "empty admin CIDRs",
    stack: "staging",
    overrides: { "olympus:adminCidrs": "[]" },
    key: "olympus:adminCidrs",
    mentions: ["at least one"],
  },
  {
    title: "malformed admin CIDR",
    stack: "staging",
    overrides: { "olympus:adminCidrs": json(["10.0.0.300/24"]) },
    key: "olympus:adminCidrs.0",
    mentions: ["10.0.0.300/24", "CIDR"],
  },
  {
    title: "SSH open to the world in prod",
    stack: "prod",
    overrides: { "olympus:adminCidrs": json(["0.0.0.0/0"]) },
    key: "olympus:adminCidrs",
    mentions: ["0.0.0.0/0", "whole internet"],
  },
  {
    title: "seeding enabled in prod",
    stack: "prod",
    overrides: {
      "olympus:seeding": json({ enabled: true, count: 10, seed: 1 }),
      "olympus:syntheticPassword": "correct-horse-battery",
    },
    key: "olympus:seeding.enabled",
    mentions: ["never seeded into prod"],
  },
  {
    title: "a missing secret",
    stack: "staging",
    overrides: { "olympus:syntheticPassword": "" },
    key: "olympus:syntheticPassword",
    mentions: ["missing secret"],
  },
  {
    title: "a missing Hetzner token",
    stack: "prod",
    overrides: { "hcloud:token": "" },
    key: "hcloud:token",
    mentions: ["missing secret"],
  },
  {
    title: "zero rate limit",
    stack: "staging",
    overrides: {
      "olympus:rateLimits": rateLimits({ login: { events: 0, window: "1m" } }),
    },
    key: "olympus:rateLimits.login.events",
    mentions: ["0", ">0"],
  },
  {
    title: "negative rate limit",
    stack: "prod",
    overrides: {
      "olympus:rateLimits": rateLimits({
        login: { events: -5, window: "1m" },
        captcha: "turnstile",
        captchaSiteKey: "0x4AAAAAAAexampleSiteKey",
      }),
    },
    key: "olympus:rateLimits.login.events",
    mentions: ["-5"],
  },
  {
    title: "malformed rate-limit window",
    stack: "staging",
    overrides: {
      "olympus:rateLimits": rateLimits({ login: { events: 10, window: "1 minute" } }),
    },
    key: "olympus:rateLimits.login.window",
    mentions: ["1 minute", "10s, 1m or 1h"],
  },
  {
    title: "mail sandbox off in staging without a sandbox provider",
    stack: "staging",
    overrides: {
      "olympus:mail": json({ mode: "smtp", sandbox: null, spfInclude: null }),
      "olympus:smtpUri": "smtp://user:pw@smtp.sendgrid.net:587",
    },
    key: "olympus:mail.sandbox",
    mentions: ["must not send live mail", "postmark-test"],
  },
  {
    title: "a named sandbox whose URI points at a live provider",
    stack: "staging",
    overrides: {
      "olympus:mail": json({ mode: "smtp", sandbox: "postmark-test", spfInclude: null }),
      "olympus:smtpUri": "smtp://realtoken:realtoken@smtp.postmarkapp.com:587",
    },
    key: "olympus:smtpUri",
    mentions: ["does not point at that sandbox"],
  },
  {
    title: "Mailpit in prod",
    stack: "prod",
    overrides: { "olympus:mail": json({ mode: "mailpit", sandbox: null, spfInclude: null }) },
    key: "olympus:mail.mode",
    mentions: ["mailpit", "smtp"],
  },
  {
    title: "CAPTCHA test keys in prod",
    stack: "prod",
    overrides: {
      "olympus:rateLimits": rateLimits({ captcha: "test-keys" }),
    },
    key: "olympus:rateLimits.captcha",
    mentions: ["test-keys", "turnstile"],
  },
  {
    title: "prod unprotected",
    stack: "prod",
    overrides: { "olympus:protect": "false" },
    key: "olympus:protect",
    mentions: ["false", "true"],
  },
  {
    title: "prod without backups",
    stack: "prod",
    overrides: { "olympus:backups": "false" },
    key: "olympus:backups",
    mentions: ["false", "true"],
  },
  {
    title: "a staged rollout in prod",
    stack: "prod",
    overrides: { "olympus:stagedRollout": json({ hera: "v9.9.9" }) },
    key: "olympus:stagedRollout",
    mentions: ["v9.9.9", "{}"],
  },
  {
    title: "a staged rollout of an unknown service",
    stack: "staging",
    overrides: { "olympus:stagedRollout": json({ nginx: "1.0" }) },
    key: "olympus:stagedRollout",
    mentions: ["nginx"],
  },
  {
    title: "unknown environment kind",
    stack: "staging",
    overrides: { "olympus:environment": "qa" },
    key: "olympus:environment",
    mentions: ["qa", "staging", "prod", "dev"],
  },
  {
    title: "location without ARM servers",
    stack: "staging",
    overrides: { "olympus:location": "ash" },
    key: "olympus:location",
    mentions: ["ash", "fsn1"],
  },
  {
    title: "lockout below the SDK minimum",
    stack: "staging",
    overrides: {
      "olympus:rateLimits": rateLimits({ lockout: { maxAttempts: 5, windowSeconds: 600, lockoutSeconds: 10 } }),
    },
    key: "olympus:rateLimits.lockout.lockoutSeconds",
    mentions: ["10", "at least 60"],
  },
  {
    title: "a typo in a key",
    stack: "staging",
    overrides: { "olympus:serverTyp": "cax11" },
    key: "olympus:serverTyp",
    mentions: ["unknown key", "serverType"],
  },
  {
    title: "a malformed Hetzner token",
    stack: "staging",
    overrides: { "hcloud:token": "short" },
    key: "hcloud:token",
    mentions: ["64 letters and digits"],
  },
  {
    title: "an existing host for staging",
    stack: "staging",
    overrides: {
      "olympus:existingHost": json({
        address: "10.0.0.5",
        port: 22,
        user: "deploy",
        hostKeyFile: "host.pub",
        identityFile: "id",
      }),
    },
    key: "olympus:existingHost",
    mentions: ["dev tier only"],
  },
  {
    title: "a malformed production domain",
    stack: "staging",
    overrides: { "olympus:productionDomain": "example..com" },
    key: "olympus:productionDomain",
    mentions: ["example..com", "DNS name"],
  },
  {
    title: "a site subdomain of two labels",
    stack: "staging",
    overrides: { "olympus:siteSubdomain": "www.olympus" },
    key: "olympus:siteSubdomain",
    mentions: ["www.olympus", "single DNS label"],
  },
  {
    title: "an image cloud-init is not tested on",
    stack: "prod",
    overrides: { "olympus:image": "debian-12" },
    key: "olympus:image",
    mentions: ["debian-12", "ubuntu-24.04"],
  },
  {
    title: "a volume below Hetzner's minimum",
    stack: "staging",
    overrides: { "olympus:volumeSizeGb": "5" },
    key: "olympus:volumeSizeGb",
    mentions: ["5", "10"],
  },
  {
    title: "a night longer than a day",
    stack: "staging",
    overrides: { "olympus:sleepSchedule": json({ nightlyHours: 30, weekendsAsleep: true }) },
    key: "olympus:sleepSchedule.nightlyHours",
    mentions: ["30", "23"],
  },
  {
    title: "an unknown DNS zone mode",
    stack: "prod",
    overrides: { "olympus:dnsZone": "maybe" },
    key: "olympus:dnsZone",
    mentions: ["maybe", "create", "existing"],
  },
  {
    title: "an admin key that is no SSH public key",
    stack: "prod",
    overrides: { "olympus:adminSshPublicKeys": json(["my laptop"]) },
    key: "olympus:adminSshPublicKeys.0",
    mentions: ["my laptop", "ssh-ed25519"],
  },
  {
    title: "a negative login simulation",
    stack: "staging",
    overrides: { "olympus:loginSimulation": json({ loginsPerHour: -1 }) },
    key: "olympus:loginSimulation.loginsPerHour",
    mentions: ["-1", "0"],
  },
  {
    title: "a soak success rate above 1",
    stack: "staging",
    overrides: {
      "olympus:soak": json({
        enabled: true,
        durationSeconds: 600,
        loginsPerMinute: 6,
        minSuccessRate: 1.5,
        maxP95Ms: 1500,
      }),
    },
    key: "olympus:soak.minSuccessRate",
    mentions: ["1.5", "1"],
  },
  {
    title: "Turnstile in prod without its secret key",
    stack: "prod",
    overrides: { "olympus:captchaSecretKey": "" },
    key: "olympus:captchaSecretKey",
    mentions: ["missing secret"],
  },
  {
    title: "images built on a host outside dev",
    stack: "staging",
    overrides: { "olympus:imageSource": "local-build" },
    key: "olympus:imageSource",
    mentions: ["only the dev tier", "registry"],
  },
  {
    title: "a backup endpoint that is not https",
    stack: "prod",
    overrides: {
      "olympus:backup": json({
        endpoint: "http://fsn1.your-objectstorage.com",
        region: "fsn1",
        bucket: "b-prod",
        caFile: null,
      }),
    },
    key: "olympus:backup.endpoint",
    mentions: ["http://fsn1.your-objectstorage.com", "https://"],
  },
  {
    title: "a private CA for a repository outside dev",
    stack: "staging",
    overrides: {
      "olympus:backup": json({
        endpoint: "https://fsn1.your-objectstorage.com",
        region: "fsn1",
        bucket: "b-staging",
        caFile: "ca.crt",
      }),
    },
    key: "olympus:backup.caFile",
    mentions: ["only the dev tier", "null"],
  },
  {
    title: "no access key for the backup bucket",
    stack: "prod",
    overrides: { "olympus:backupAccessKeyId": "" },
    key: "olympus:backupAccessKeyId",
    mentions: ["missing secret", "own bucket"],
  },
  {
    title: "no secret key for the backup bucket",
    stack: "staging",
    overrides: { "olympus:backupSecretAccessKey": "" },
    key: "olympus:backupSecretAccessKey",
    mentions: ["missing secret", "Hetzner's console"],
  },
  {
    title: "a sleep schedule in prod, which never sleeps",
    stack: "prod",
    overrides: { "olympus:sleepSchedule": json({ nightlyHours: 12, weekendsAsleep: true }) },
    key: "olympus:sleepSchedule",
    mentions: ["prod never sleeps", "nightlyHours: 0"],
  },
  {
    title: "a negative count of Hydra system-secret rotations",
    stack: "staging",
    overrides: { "olympus:hydraSystemRotations": "-1" },
    key: "olympus:hydraSystemRotations",
    mentions: [">=0"],
  },
  {
    title: "an alert recipient that is not an address",
    stack: "prod",
    overrides: { "olympus:alerts": json({ recipients: ["oncall"] }) },
    key: "olympus:alerts.recipients.0",
    mentions: ["e-mail address"],
  },
  {
    title: "no alert recipient",
    stack: "staging",
    overrides: { "olympus:alerts": json({ recipients: [] }) },
    key: "olympus:alerts.recipients",
    mentions: ["at least one address"],
  },
  {
    title: "an smtps URI on a port Alertmanager cannot use",
    stack: "prod",
    overrides: { "olympus:smtpUri": "smtps://user:pass@smtp.example.net:2465" },
    key: "olympus:smtpUri",
    mentions: ["465", "Alertmanager"],
  },
];

describe("bad configuration", () => {
  it("has a bad-value case for every key Pulumi.yaml declares", () => {
    const declared = Object.keys(
      (parseYaml(readFileSync(join(projectDir, "Pulumi.yaml"), "utf8")) as { config: Record<string, unknown> }).config,
    );
    const covered = new Set(badValues.map(({ key }) => key.split(":")[1]!.split(".")[0]));
    expect(declared.filter((key) => !covered.has(key))).toEqual([]);
  });

  it.each(badValues)("rejects $title, naming $key", ({ stack, overrides, key, mentions }) => {
    const raw = stack === "staging" ? staging(overrides) : prod(overrides);
    const problems = problemsOf(stack, raw);
    const problem = problems.find((line) => line.startsWith(`${key}:`));
    expect(problem, `problems were:\n${problems.join("\n")}`).toBeDefined();
    for (const mention of mentions) expect(problem).toContain(mention);
  });

  it("never echoes a secret value in its messages", () => {
    const leaked = "smtp://user:Sup3rSecretValue@smtp.sendgrid.net:587";
    const problems = problemsOf(
      "staging",
      staging({
        "olympus:mail": json({ mode: "smtp", sandbox: "mailtrap-sandbox", spfInclude: null }),
        "olympus:smtpUri": leaked,
      }),
    );
    expect(problems.join("\n")).not.toContain("Sup3rSecretValue");
    expect(problems.some((line) => line.startsWith("olympus:smtpUri:"))).toBe(true);
  });

  it("lists every problem at once", () => {
    const problems = problemsOf("staging", staging({ "olympus:serverType": "nope", "olympus:location": "nowhere" }));
    expect(problems.map((line) => line.split(":").slice(0, 2).join(":"))).toEqual(
      expect.arrayContaining(["olympus:serverType", "olympus:location"]),
    );
  });

  it("accepts a named sandbox whose URI really is that sandbox", () => {
    const config = parse(
      "staging",
      staging({
        "olympus:mail": json({ mode: "smtp", sandbox: "postmark-test", spfInclude: null }),
        "olympus:smtpUri": "smtp://POSTMARK_API_TEST:POSTMARK_API_TEST@smtp.postmarkapp.com:587",
      }),
    );
    expect(config.mail.sandbox).toBe("postmark-test");
  });
});

describe("rules across stacks", () => {
  const s = parse("staging", staging());
  const p = parse("prod", prod());

  it("rejects prod limits looser than staging's", () => {
    const looser = { ...p, rateLimits: { ...p.rateLimits, login: { events: 1000, window: "1m" } } };
    expect(crossStackRules(s, looser).join("\n")).toMatch(
      /olympus:rateLimits.login: prod allows 1000 per 1m, looser than staging's 100 per 1m/,
    );
  });

  it("rejects a prod lockout looser than staging's", () => {
    const looser = {
      ...p,
      rateLimits: { ...p.rateLimits, lockout: { maxAttempts: 50, windowSeconds: 600, lockoutSeconds: 60 } },
    };
    expect(crossStackRules(s, looser).join("\n")).toContain("olympus:rateLimits.lockout");
  });

  it("compares rates, not raw numbers", () => {
    // 5 per 10s (0.5/s) is looser than staging's 100 per minute (1.67/s)? No: it is stricter.
    const upstream = { ...p, rateLimits: { ...p.rateLimits, login: { events: 5, window: "10s" } } };
    expect(crossStackRules(s, upstream)).toEqual([]);
  });

  it("refuses staging and prod backing up into the same bucket", () => {
    expect(crossStackRules(s, { ...p, backup: s.backup }).join("\n")).toContain(
      'olympus:backup.bucket: staging and prod both back up into "olympus-staging-backups"',
    );
  });

  it("never mails staging's alerts to one of prod's receivers", () => {
    const problems = crossStackRules({ ...s, alerts: { recipients: ["qa@example.com", ...p.alerts.recipients] } }, p);
    expect(problems.join("\n")).toContain(
      `olympus:alerts.recipients: staging mails its alerts to prod's ${JSON.stringify(p.alerts.recipients)} too`,
    );
    expect(crossStackRules(s, p)).toEqual([]);
  });

  it("keeps the Turnstile test key out of prod", () => {
    const problems = problemsOf(
      "prod",
      prod({ "olympus:rateLimits": json({ ...p.rateLimits, captchaSiteKey: turnstileTestKeys.siteKey }) }),
    );
    expect(problems.join("\n")).toContain("always-pass test key");
  });
});

describe("each rule group on its own", () => {
  const s = parse("staging", staging());
  const p = parse("prod", prod());
  const keysOf = (problems: string[]) => problems.map((line) => line.split(": ")[0]);

  it("passes the committed stacks through every group, and environmentRules is all of them", () => {
    for (const rule of ruleGroups) expect([rule(s), rule(p)]).toEqual([[], []]);
    const broken = { ...p, protect: false, rateLimits: { ...p.rateLimits, captcha: "test-keys" as const } };
    expect(environmentRules(broken)).toEqual(ruleGroups.flatMap((rule) => rule(broken)));
  });

  it("domainRules: prod serves the production domain, staging a subdomain of it", () => {
    expect(keysOf(domainRules({ ...p, domain: "staging.example.com" }))).toEqual(["olympus:domain"]);
    expect(domainRules({ ...s, domain: "example.org" })).toEqual([
      'olympus:domain: staging must live under the production domain (e.g. staging.example.com); got "example.org"',
    ]);
    expect(domainRules({ ...s, domain: "example.com" })[0]).toContain("must not serve the production domain");
  });

  it("prodGuarantees: protection, backups, no world SSH, the shared version table; none of it asked of staging", () => {
    const loose = { adminCidrs: ["0.0.0.0/0"], protect: false, backups: false, stagedRollout: { kratos: "v1" } };
    expect(keysOf(prodGuarantees({ ...p, ...loose }))).toEqual([
      "olympus:adminCidrs",
      "olympus:protect",
      "olympus:backups",
      "olympus:stagedRollout",
    ]);
    expect(prodGuarantees({ ...s, ...loose })).toEqual([]);
  });

  it("syntheticTrafficRules: none in prod, and a soak or simulator needs seeded users and their password", () => {
    const traffic = { seeding: { ...s.seeding }, loginSimulation: { loginsPerHour: 6 }, soak: { ...s.soak } };
    expect(keysOf(syntheticTrafficRules({ ...p, ...traffic }))).toEqual([
      "olympus:seeding.enabled",
      "olympus:loginSimulation.loginsPerHour",
      "olympus:soak.enabled",
      "olympus:syntheticPassword",
    ]);
    const unseeded = { ...s, seeding: { ...s.seeding, enabled: false }, secrets: {} };
    expect(keysOf(syntheticTrafficRules(unseeded))).toEqual([
      "olympus:soak.enabled",
      "olympus:syntheticPassword",
      "olympus:loginSimulation.loginsPerHour",
    ]);
  });

  it("mailRules: live mail only from prod, a sandbox elsewhere whose URI is really that sandbox", () => {
    const smtp = { mode: "smtp" as const, sandbox: null, spfInclude: null, records: [] };
    expect(keysOf(mailRules({ ...s, mail: smtp, secrets: { smtpUri: "smtp://u:p@smtp.example.net" } }))).toEqual([
      "olympus:mail.sandbox",
    ]);
    expect(keysOf(mailRules({ ...p, mail: { ...smtp, mode: "mailpit" } }))).toEqual(["olympus:mail.mode"]);
    expect(keysOf(mailRules({ ...p, secrets: { smtpUri: "https://not-smtp" } }))).toEqual(["olympus:smtpUri"]);
    // DKIM and return-path records are a live provider's: never where mail goes to a sandbox.
    const dkim = [{ name: "s1._domainkey", type: "CNAME" as const, value: "s1.dkim.amazonses.com" }];
    expect(keysOf(mailRules({ ...s, mail: { ...s.mail, records: dkim } }))).toEqual(["olympus:mail.records"]);
    expect(keysOf(mailRules({ ...p, mail: { ...p.mail, records: dkim } }))).toEqual([]);
  });

  it("captchaRules: real Turnstile keys in prod, both keys named", () => {
    expect(keysOf(captchaRules({ ...p, rateLimits: { ...p.rateLimits, captcha: "test-keys" } }))).toEqual([
      "olympus:rateLimits.captcha",
    ]);
    expect(keysOf(captchaRules({ ...s, rateLimits: { ...s.rateLimits, captcha: "turnstile" }, secrets: {} }))).toEqual([
      "olympus:rateLimits.captchaSiteKey",
      "olympus:captchaSecretKey",
    ]);
  });

  it("backupRules: every environment holds its repository's keys; a private CA only in dev", () => {
    expect(keysOf(backupRules({ ...p, secrets: {} }))).toEqual([
      "olympus:backupAccessKeyId",
      "olympus:backupSecretAccessKey",
    ]);
    expect(keysOf(backupRules({ ...s, backup: { ...s.backup, caFile: "ca.crt" } }))).toEqual(["olympus:backup.caFile"]);
  });

  it("hostRules: a Hetzner server needs its token; an existing machine and local images are the dev tier's", () => {
    expect(keysOf(hostRules({ ...s, secrets: { hcloudToken: "short" } }))).toEqual(["hcloud:token"]);
    const existing = { address: "127.0.0.1", port: 22, user: "deploy", hostKeyFile: "k.pub", identityFile: "k" };
    expect(keysOf(hostRules({ ...s, existingHost: existing, imageSource: "local-build" }))).toEqual([
      "olympus:existingHost",
      "olympus:imageSource",
    ]);
  });
});
