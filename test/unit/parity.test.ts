import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../lib/config/parse";
import { alertRules } from "../../lib/monitoring";
import { checkParity, formatParityTable, hostConfigurationDrift, imageSourceReport } from "../../ops/parity";
import { committedStackConfig } from "../helpers/stackConfig";

const staging = (overrides: Record<string, string> = {}) =>
  parseStackConfig("staging", committedStackConfig("staging", overrides));
const prod = (overrides: Record<string, string> = {}) =>
  parseStackConfig("prod", committedStackConfig("prod", overrides));

describe("the image source report", () => {
  it("says that the dev tier runs local builds, of what, and what it leaves out; staging runs the table", () => {
    const dev = parseStackConfig("dev", committedStackConfig("dev"));
    const report = imageSourceReport("dev", dev).join("\n");
    expect(report).toContain(
      "kratos: localhost/olympus-local/kratos:v26.2.0 (the ory/kratos v26.2.0 source archive) for docker.io/oryd/kratos:v26.2.0",
    );
    expect(report).toContain("left out, no image can be built there: hera, athena, site, pgadmin");
    expect(imageSourceReport("staging", staging())).toEqual(["staging: the version table's images"]);
  });
});

describe("the parity check", () => {
  it("passes for the committed stacks and lists only sanctioned differences", async () => {
    const report = await checkParity(staging(), prod());
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    const keys = report.differences.map((row) => row.key);
    expect(keys).toEqual(
      expect.arrayContaining([
        "environment",
        "domain",
        "serverType",
        "protect",
        "backups",
        "rateLimits.login.events",
        "mail.mode",
        "seeding.enabled",
        "soak.enabled",
        "hcloud:token",
      ]),
    );
    expect(
      keys.every((key) => !key.startsWith("location") && !key.startsWith("image") && !key.startsWith("adminCidrs")),
    ).toBe(true);
    const token = report.differences.find((row) => row.key === "hcloud:token")!;
    expect([token.staging, token.prod]).toEqual(["differs", "differs"]);
    expect(report.differingFiles).toEqual(expect.arrayContaining(["caddy/Caddyfile", "compose.yml", ".env"]));
    expect(formatParityTable(report.differences)).toMatch(/\| serverType +\| "cax11" +\| "cax21" +\|/);
  });

  it("holds the backups to one shape: only the repository's bucket and keys differ", async () => {
    const report = await checkParity(staging(), prod());
    const backup = report.differences.filter((row) => /^(olympus:)?backup[A-Z.]/.test(row.key));
    expect(backup.map((row) => row.key).sort()).toEqual([
      "backup.bucket",
      "olympus:backupAccessKeyId",
      "olympus:backupSecretAccessKey",
    ]);
    // The schedule, retention, cipher and archive timeout are the code's, so pgbackrest.conf differs only by
    // the bucket, which the counterfactual render (prod with staging's sanctioned keys) proves.
    expect(report.differingFiles).toContain("pgbackrest/pgbackrest.conf");
    expect(report.problems).toEqual([]);
  });

  it("shows the monitoring identical: the same alert rules and scrape jobs, only who is mailed differs", async () => {
    const report = await checkParity(staging(), prod());
    expect(report.monitoring.rules.map((rule) => rule.split(" ")[0])).toEqual(
      alertRules("prod").map((rule) => rule.alert),
    );
    expect(report.monitoring.scrapeJobs).toEqual(expect.arrayContaining(["ciam-kratos", "postgres", "node", "caddy"]));
    expect(report.differences.filter((row) => row.key.startsWith("alerts")).map((row) => row.key)).toEqual([
      "alerts.recipients",
    ]);
    expect(report.problems).toEqual([]);
  });

  it("fails on a difference outside the sanctioned list", async () => {
    const report = await checkParity(staging(), prod({ "olympus:location": "hel1" }));
    expect(report.ok).toBe(false);
    expect(report.problems).toContain(
      'location differs but is not a sanctioned difference: staging "fsn1", prod "hel1"',
    );
  });

  it("fails when both stacks share a secret value", async () => {
    const shared = "smtps://user:shared@email-smtp.eu-central-1.amazonaws.com:465";
    const report = await checkParity(
      staging({
        "olympus:mail": JSON.stringify({ mode: "smtp", sandbox: "mailtrap-sandbox", spfInclude: null }),
        "olympus:smtpUri": shared.replace("email-smtp.eu-central-1.amazonaws.com", "sandbox.smtp.mailtrap.io"),
      }),
      prod({ "olympus:smtpUri": shared }),
    );
    expect(report.ok).toBe(true);
    const token = "t".repeat(64);
    const sharedToken = await checkParity(staging({ "hcloud:token": token }), prod({ "hcloud:token": token }));
    expect(sharedToken.problems).toContain(
      "secret hcloud:token has the same value in staging and prod; secrets are never shared",
    );
  });

  it("reports a staged rollout as a visible difference, and prod looser than staging as a failure", async () => {
    const rollout = await checkParity(
      staging({ "olympus:stagedRollout": JSON.stringify({ hera: "v2.11.0" }) }),
      prod(),
    );
    expect(rollout.differences).toContainEqual({ key: "stagedRollout.hera", staging: '"v2.11.0"', prod: "(unset)" });
    const looser = await checkParity(
      staging(),
      prod({
        "olympus:rateLimits": JSON.stringify({
          login: { events: 500, window: "1m" },
          lockout: { maxAttempts: 5, windowSeconds: 600, lockoutSeconds: 900 },
          captcha: "turnstile",
          captchaSiteKey: "0x4AAAAAAAexampleSiteKey",
        }),
      }),
    );
    expect(looser.problems.join("\n")).toContain("looser than staging's");
  });
});

describe("host configuration drift", () => {
  it("names each stack whose host runs an older host configuration than the code renders", () => {
    expect(hostConfigurationDrift({ staging: "aaaa", prod: "aaaa" }, "aaaa")).toEqual([]);
    expect(hostConfigurationDrift({ staging: "bbbb", prod: "aaaa", dev: undefined }, "bbbb")).toEqual([
      "prod: its host runs host configuration aaaa, the code renders bbbb; pulumi up --stack prod applies it without replacing the server",
    ]);
  });
});
