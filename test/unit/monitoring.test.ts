import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseStackConfig } from "../../lib/config/parse";
import { alertRules, certificateWarningDays, monitoringPolicy, olympusMetrics } from "../../lib/monitoring";
import { podmanSecret } from "../../lib/secrets";
import { adminAddress, adminAlias, loopbackPort, port } from "../../lib/services";
import { renderForConfig } from "../../ops/parity";
import { alertDelivery, renderCertificateMetrics, ruleTests } from "../../render/monitoring";
import { projectDir } from "../../scripts/toolchain/toolchain";
import { committedStackConfig } from "../helpers/stackConfig";

const stacks = ["staging", "prod", "dev"] as const;
const rendered = (stack: (typeof stacks)[number]) =>
  renderForConfig(parseStackConfig(stack, committedStackConfig(stack)), stack);

describe("the alert rules", () => {
  it("are the issue's rules, each with a promtool case that fires and one that stays silent", () => {
    const rules = alertRules("prod").map((rule) => rule.alert);
    expect(rules).toEqual([
      "ServiceDown",
      "SiteErrors",
      "FailedLoginSurge",
      "RateLimitSurge",
      "PostgresDown",
      "WalArchivingFailing",
      "BackupTooOld",
      "DiskAlmostFull",
      "CertificateExpiringSoon",
      "OryLatencyAboveSlo",
    ]);
    const cases = ruleTests("prod").tests.flatMap((test) => test.alert_rule_test);
    for (const rule of rules) {
      const own = cases.filter((test) => test.alertname === rule);
      expect(
        own.some((test) => test.exp_alerts.length > 0),
        `${rule} fires in a case`,
      ).toBe(true);
      expect(
        own.some((test) => test.exp_alerts.length === 0),
        `${rule} stays silent in a case`,
      ).toBe(true);
    }
  });

  it("are the same file in staging and prod; dev differs only in its short-lived certificates' threshold", async () => {
    const [staging, prod, dev] = await Promise.all(stacks.map(rendered));
    expect(staging!["prometheus/rules.yml"]!.content).toBe(prod!["prometheus/rules.yml"]!.content);
    const devRules = parse(dev!["prometheus/rules.yml"]!.content).groups[0].rules;
    const prodRules = parse(prod!["prometheus/rules.yml"]!.content).groups[0].rules;
    const differing = devRules.filter(
      (rule: { alert: string }, index: number) => JSON.stringify(rule) !== JSON.stringify(prodRules[index]),
    );
    expect(differing.map((rule: { alert: string }) => rule.alert)).toEqual(["CertificateExpiringSoon"]);
    expect(certificateWarningDays("prod")).toBe(monitoringPolicy.certificateDays);
  });

  it("are each listed in the README's operations section with what they mean and what to do first", () => {
    const readme = readFileSync(join(projectDir, "README.md"), "utf8");
    const table = readme.slice(readme.indexOf("### Monitoring and alerts"));
    for (const rule of alertRules("prod"))
      expect(table, rule.alert).toMatch(new RegExp(`\\| \`${rule.alert}\` +\\| [^|]+\\| [^|]+\\|`));
  });

  it("hold the issue's thresholds: 26 h backups, 85 % disks, 14 days of certificate", () => {
    const expr = (name: string) => alertRules("staging").find((rule) => rule.alert === name)!.expr;
    expect(expr("BackupTooOld")).toContain(`> ${26 * 3600}`);
    expect(expr("DiskAlmostFull")).toContain("> 0.85");
    expect(expr("DiskAlmostFull")).toContain('mountpoint=~"/|/srv/olympus"');
    expect(expr("CertificateExpiringSoon")).toContain(`< ${14 * 86400}`);
    expect(expr("WalArchivingFailing")).toContain(`${olympusMetrics.archiveLag} > 180`);
  });
});

describe("the monitoring's deployment", () => {
  it("scrapes every Ory API on its admin port, the exporters, and probes each public site through the edge", async () => {
    const prometheus = parse((await rendered("prod"))["prometheus/prometheus.yml"]!.content);
    const jobs = Object.fromEntries(prometheus.scrape_configs.map((job: { job_name: string }) => [job.job_name, job]));
    expect(jobs["ciam-kratos"]).toMatchObject({
      metrics_path: "/admin/metrics/prometheus",
      // By its name on the admin network, the only place its admin API listens.
      static_configs: [{ targets: [`${adminAlias("ciam-kratos")}:${port("ciam-kratos", "admin")}`] }],
    });
    expect(Object.keys(jobs)).toEqual(
      expect.arrayContaining(["iam-hydra", "caddy", "postgres", "node", "blackbox", "site-login.ciam.example.com"]),
    );
    expect(prometheus.global.external_labels).toEqual({ environment: "prod" });
  });

  it("publishes Alertmanager on the loopback only, Prometheus and the exporters not at all", async () => {
    const compose = parse((await rendered("prod"))["compose.yml"]!.content);
    // Prometheus is on the admin network, where the host reaches it at its address.
    expect(compose.services.prometheus.ports).toBeUndefined();
    expect(compose.services.prometheus.networks.admin).toEqual({ ipv4_address: adminAddress("prometheus") });
    expect(compose.services.alertmanager.ports).toEqual([`127.0.0.1:${loopbackPort("alertmanager", "http")}:9093`]);
    for (const exporter of ["node-exporter", "postgres-exporter", "blackbox-exporter"])
      expect(compose.services[exporter].ports, exporter).toBeUndefined();
    // The exporter reads PostgreSQL as a pg_monitor role over TLS, never as the superuser.
    expect(compose.services["postgres-exporter"].secrets).toContainEqual({
      source: podmanSecret("PG_OLYMPUS_MONITORING_DSN"),
      type: "env",
      target: "DATA_SOURCE_NAME",
    });
  });

  it("mails staging's alerts to Mailpit and prod's through its provider, each naming its environment", async () => {
    const staging = parse((await rendered("staging"))["alertmanager/alertmanager.yml"]!.content);
    expect(staging.global).toMatchObject({ smtp_smarthost: "mailpit:1025", smtp_require_tls: false });
    expect(staging.receivers[0].email_configs[0]).toMatchObject({
      to: "operators@staging.example.com",
      send_resolved: true,
    });
    expect(staging.receivers[0].email_configs[0].headers.Subject).toMatch(/^\[staging\] /);
    const prod = (await rendered("prod"))["alertmanager/alertmanager.yml"]!;
    expect(prod.secret).toBe(true);
    expect(parse(prod.content).receivers[0].email_configs[0].headers.Subject).toMatch(/^\[prod\] /);
  });
});

describe("alertDelivery", () => {
  const alerting = { environment: "prod" as const, from: "noreply@example.com", recipients: ["oncall@example.com"] };

  it("takes the provider's host, port and credentials from the couriers' URI", () => {
    expect(alertDelivery("smtp://AKIA%2Fuser:p%40ss@email-smtp.eu-central-1.amazonaws.com:587/", alerting)).toEqual({
      environment: "prod",
      smarthost: "email-smtp.eu-central-1.amazonaws.com:587",
      from: "noreply@example.com",
      to: ["oncall@example.com"],
      requireTls: true,
      auth: { username: "AKIA/user", password: "p@ss" },
    });
    expect(alertDelivery("smtps://u:p@smtp.example.net", alerting)).toMatchObject({
      smarthost: "smtp.example.net:465",
      requireTls: false,
    });
  });

  it("refuses what Alertmanager cannot send through, naming what is allowed", () => {
    expect(() => alertDelivery("http://smtp.example.net", alerting)).toThrow("allowed are smtp: and smtps:");
    expect(() => alertDelivery("smtps://u:p@smtp.example.net:2465", alerting)).toThrow("implicit TLS on 465 only");
    expect(() => alertDelivery("not a uri", alerting)).toThrow("value not shown");
  });
});

describe("the release's certificate metrics", () => {
  it("give each certificate's expiry in seconds, in Prometheus's text format", () => {
    expect(renderCertificateMetrics({ postgres: new Date("2028-01-01T00:00:00Z") })).toBe(
      [
        `# HELP ${olympusMetrics.certificateNotAfter} When a certificate the release installs stops being valid, in seconds since the epoch.`,
        `# TYPE ${olympusMetrics.certificateNotAfter} gauge`,
        `${olympusMetrics.certificateNotAfter}{certificate="postgres"} 1830297600`,
        "",
      ].join("\n"),
    );
  });
});
