import { stringify } from "yaml";
import type { Environment } from "../lib/config/schema";
import {
  type AlertRule,
  alertRules,
  monitoringPaths,
  monitoringPolicy,
  olympusMetrics,
  watchedMountpoints,
} from "../lib/monitoring";
import { adminUrl, edgeService, port, services } from "../lib/services";
import type { PublicSite } from "../lib/topology";
import type { PublicHealthCheck } from "./caddyfile";

/**
 * The monitoring's files as typed objects: Prometheus (what it scrapes, with the environment as an
 * external label on every alert), the alert rules and their promtool tests, Alertmanager's routing and
 * mail, and the blackbox probes. Every environment renders the same shape.
 */
const yaml = (value: unknown) => stringify(value, { lineWidth: 0 });

/** What Prometheus scrapes inside the compose network, by job; the Ory APIs at their admin ports. */
function scrapeTargets(running: string[]): { job: string; target: string; path?: string }[] {
  const ory = running.filter((name) => services[name]?.admin?.api);
  const own: [string, string, string][] = [
    ["prometheus", "prometheus", "http"],
    ["alertmanager", "alertmanager", "http"],
    ["caddy", edgeService, "metrics"],
    ["postgres", "postgres-exporter", "metrics"],
    ["node", "node-exporter", "metrics"],
    ["blackbox", "blackbox-exporter", "metrics"],
  ];
  return [
    ...ory.map((name) => ({
      job: name,
      target: new URL(adminUrl(name)).host,
      path: "/admin/metrics/prometheus",
    })),
    ...own
      .filter(([, service]) => running.includes(service))
      .map(([job, service, portName]) => ({ job, target: `${service}:${port(service, portName)}` })),
  ];
}

export interface PrometheusInput {
  environment: Environment;
  /** The services the environment runs (only those are scraped or probed). */
  running: string[];
  /** Public sites whose upstream runs: the blackbox probes each through the edge. */
  probedSites: PublicHealthCheck[];
}

const blackboxModule = (site: PublicSite) => `https_${site}`;

export function prometheusConfig(input: PrometheusInput) {
  const blackbox = `blackbox-exporter:${port("blackbox-exporter", "metrics")}`;
  // Each site through the edge, with its own name (Host and SNI): the certificate Caddy serves it with.
  // The instance is the public URL, which is what an alert should name.
  const probe = ({ site, hostname, path }: PublicHealthCheck) => ({
    job_name: `site-${hostname}`,
    metrics_path: "/probe",
    params: { module: [blackboxModule(site)] },
    static_configs: [{ targets: [`https://${edgeService}${path}`] }],
    relabel_configs: [
      { source_labels: ["__address__"], target_label: "__param_target" },
      { target_label: "instance", replacement: `https://${hostname}${path}` },
      { target_label: "__address__", replacement: blackbox },
    ],
  });
  return {
    global: {
      scrape_interval: monitoringPolicy.scrapeInterval,
      evaluation_interval: monitoringPolicy.evaluationInterval,
      // Every alert names the environment it comes from.
      external_labels: { environment: input.environment },
    },
    rule_files: [monitoringPaths.rules],
    alerting: {
      alertmanagers: [{ static_configs: [{ targets: [`alertmanager:${port("alertmanager", "http")}`] }] }],
    },
    scrape_configs: [
      ...scrapeTargets(input.running).map(({ job, target, path }) => ({
        job_name: job,
        ...(path ? { metrics_path: path } : {}),
        static_configs: [{ targets: [target] }],
      })),
      ...input.probedSites.map(probe),
    ],
  };
}

/** The blackbox modules: one per public site, addressed to the edge with the site's name (SNI and Host). */
export function blackboxConfig(probedSites: PrometheusInput["probedSites"]) {
  return {
    modules: Object.fromEntries(
      probedSites.map(({ site, hostname }) => [
        blackboxModule(site),
        {
          prober: "http",
          timeout: "10s",
          http: {
            method: "GET",
            headers: { Host: hostname },
            valid_status_codes: [200],
            fail_if_not_ssl: true,
            // What this probe measures is the certificate's expiry; the soak checks the chain.
            tls_config: { server_name: hostname, insecure_skip_verify: true },
          },
        },
      ]),
    ),
  };
}

const annotations = (rule: AlertRule, text: (template: string) => string = (template) => template) => ({
  summary: text(rule.summary),
  description: text(rule.description),
  first_step: text(rule.firstStep),
});

/** What Prometheus makes of an annotation's templates, for the two kinds the rules may use (AlertRule.summary). */
function expand(template: string, labels: Record<string, string>, environment: Environment): string {
  const text = template
    .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, label: string) => labels[label] ?? "")
    .replace(/\{\{ \$externalLabels\.environment \}\}/g, environment);
  if (text.includes("{{"))
    throw new Error(`an alert annotation uses a template the rule tests cannot expect: ${template}`);
  return text;
}

export function rulesFile(environment: Environment) {
  return {
    groups: [
      {
        name: "olympus",
        rules: alertRules(environment).map((rule) => ({
          alert: rule.alert,
          expr: rule.expr,
          for: rule.for,
          labels: { severity: rule.severity },
          annotations: annotations(rule),
        })),
      },
    ],
  };
}

/** How alerts leave: the environment's Mailpit, or its mail provider (prod), to its operators. */
export interface AlertDelivery {
  environment: Environment;
  /** host:port of the SMTP server. */
  smarthost: string;
  from: string;
  to: string[];
  requireTls: boolean;
  /** Credentials at the provider; absent for Mailpit. */
  auth?: { username: string; password: string };
}

/**
 * Alertmanager's SMTP settings from the URI the Kratos couriers use (smtp://user:pass@host:port/, with
 * ?disable_starttls=true for the Mailpit sandbox): alerts leave by the environment's one mail route.
 */
export function alertDelivery(
  smtpUri: string,
  alerting: { environment: Environment; from: string; recipients: string[] },
): AlertDelivery {
  let uri: URL;
  try {
    uri = new URL(smtpUri);
  } catch {
    throw new Error(
      "the SMTP URI is not a URL (value not shown: it is a secret); allowed is smtp://user:password@host:port/ or smtps://",
    );
  }
  const implicitTls = uri.protocol === "smtps:";
  if (!implicitTls && uri.protocol !== "smtp:")
    throw new Error(`the SMTP URI's scheme is ${uri.protocol}; allowed are smtp: and smtps:`);
  const smtpPort = uri.port || (implicitTls ? "465" : "587");
  // Alertmanager speaks implicit TLS on port 465 only, STARTTLS elsewhere.
  if (implicitTls && smtpPort !== "465")
    throw new Error(
      `an smtps: URI on port ${smtpPort}: Alertmanager uses implicit TLS on 465 only; use smtp: (STARTTLS) on ${smtpPort}`,
    );
  return {
    environment: alerting.environment,
    smarthost: `${uri.hostname}:${smtpPort}`,
    from: alerting.from,
    to: alerting.recipients,
    requireTls: !implicitTls && uri.searchParams.get("disable_starttls") !== "true",
    ...(uri.username
      ? { auth: { username: decodeURIComponent(uri.username), password: decodeURIComponent(uri.password) } }
      : {}),
  };
}

export function alertmanagerConfig(delivery: AlertDelivery) {
  return {
    global: {
      smtp_smarthost: delivery.smarthost,
      smtp_from: delivery.from,
      smtp_require_tls: delivery.requireTls,
      ...(delivery.auth
        ? { smtp_auth_username: delivery.auth.username, smtp_auth_password: delivery.auth.password }
        : {}),
      resolve_timeout: "5m",
    },
    route: {
      receiver: "operators",
      group_by: ["alertname", "environment", "job", "host"],
      group_wait: "10s",
      group_interval: "1m",
      repeat_interval: "4h",
    },
    receivers: [
      {
        name: "operators",
        email_configs: delivery.to.map((address) => ({
          to: address,
          send_resolved: true,
          headers: {
            // The environment first: a staging alert never reads like prod's.
            Subject: `[${delivery.environment}] {{ .Status | toUpper }} {{ .CommonLabels.alertname }} {{ or .CommonLabels.job .CommonLabels.host .CommonLabels.instance }}`,
          },
        })),
      },
    ],
  };
}

/** promtool's tests of every rule: each fires on its failing series and stays silent on healthy ones. */
export function ruleTests(environment: Environment) {
  const rules = Object.fromEntries(alertRules(environment).map((rule) => [rule.alert, rule])) as Record<
    string,
    AlertRule
  >;
  const p = monitoringPolicy;
  const minutes = (count: number, value: (minute: number) => number) =>
    Array.from({ length: count + 1 }, (_, minute) => value(minute)).join(" ");
  const test = (
    name: keyof typeof rules,
    series: { series: string; values: string }[],
    evalAt: string,
    firing: Record<string, string>[] | null,
    interval = "1m",
  ) => ({
    interval,
    external_labels: { environment },
    input_series: series,
    alert_rule_test: [
      {
        eval_time: evalAt,
        alertname: name,
        exp_alerts: (firing ?? []).map((labels) => ({
          exp_labels: { severity: rules[name]!.severity, ...labels },
          exp_annotations: annotations(rules[name]!, (template) => expand(template, labels, environment)),
        })),
      },
    ],
  });
  const day = 86_400;
  const volume = watchedMountpoints[1];
  const disk = (avail: number) => [
    { series: `node_filesystem_avail_bytes{job="node",mountpoint="${volume}"}`, values: minutes(15, () => avail) },
    { series: `node_filesystem_size_bytes{job="node",mountpoint="${volume}"}`, values: minutes(15, () => 100) },
  ];
  const archiveLag = (values: string) => ({ series: `${olympusMetrics.archiveLag}{job="node"}`, values });
  return {
    rule_files: ["rules.yml"],
    evaluation_interval: "1m",
    tests: [
      test(
        "ServiceDown",
        [{ series: 'up{job="ciam-kratos",instance="ciam-kratos:5001"}', values: "1 1 0 0 0" }],
        "4m",
        [{ job: "ciam-kratos", instance: "ciam-kratos:5001" }],
      ),
      test(
        "ServiceDown",
        [{ series: 'up{job="ciam-kratos",instance="ciam-kratos:5001"}', values: "1 1 1 1 1" }],
        "4m",
        null,
      ),
      test(
        "ServiceDown",
        [
          {
            series: 'probe_success{job="site-login",instance="https://login.example.com/health"}',
            values: "1 1 0 0 0",
          },
        ],
        "4m",
        [{ job: "site-login", instance: "https://login.example.com/health" }],
      ),
      test(
        "SiteErrors",
        [
          {
            series: 'caddy_http_request_duration_seconds_count{host="login.example.com",code="200"}',
            values: `0+60x10`,
          },
          {
            series: 'caddy_http_request_duration_seconds_count{host="login.example.com",code="502"}',
            values: `0+30x10`,
          },
        ],
        "10m",
        [{ host: "login.example.com" }],
      ),
      test(
        "SiteErrors",
        [
          {
            series: 'caddy_http_request_duration_seconds_count{host="login.example.com",code="200"}',
            values: `0+600x10`,
          },
          {
            series: 'caddy_http_request_duration_seconds_count{host="login.example.com",code="502"}',
            values: `0+1x10`,
          },
        ],
        "10m",
        null,
      ),
      test(
        "FailedLoginSurge",
        [
          {
            series: 'http_requests_total{job="ciam-kratos",endpoint="/self-service/login",method="post",code="400"}',
            values: `0+${p.failedLogins / 2}x10`,
          },
        ],
        "10m",
        [{ job: "ciam-kratos" }],
      ),
      test(
        "FailedLoginSurge",
        [
          {
            series: 'http_requests_total{job="ciam-kratos",endpoint="/self-service/login",method="post",code="400"}',
            values: "0+1x10",
          },
        ],
        "10m",
        null,
      ),
      // A burst that creates the series (the first failed logins since Kratos started) counts whole.
      test(
        "FailedLoginSurge",
        [
          {
            series: 'http_requests_total{job="ciam-kratos",endpoint="/self-service/login",method="post",code="400"}',
            values: `_x4 ${p.failedLogins + 15}x5`,
          },
        ],
        "7m",
        [{ job: "ciam-kratos" }],
      ),
      test(
        "RateLimitSurge",
        [
          {
            series: 'caddy_http_request_duration_seconds_count{host="login.example.com",code="429"}',
            values: `0+${p.rateLimited / 2}x10`,
          },
        ],
        "10m",
        [{ host: "login.example.com" }],
      ),
      test(
        "RateLimitSurge",
        [
          {
            series: 'caddy_http_request_duration_seconds_count{host="login.example.com",code="429"}',
            values: "0+2x10",
          },
        ],
        "10m",
        null,
      ),
      test(
        "RateLimitSurge",
        [
          {
            series: 'caddy_http_request_duration_seconds_count{host="login.example.com",code="429"}',
            values: `_x4 ${p.rateLimited + 15}x5`,
          },
        ],
        "7m",
        [{ host: "login.example.com" }],
      ),
      test("PostgresDown", [{ series: 'pg_up{job="postgres"}', values: "1 1 0 0 0" }], "4m", [{ job: "postgres" }]),
      test("PostgresDown", [{ series: 'pg_up{job="postgres"}', values: "1 1 1 1 1" }], "4m", null),
      test(
        "WalArchivingFailing",
        [
          { series: 'pg_stat_archiver_failed_count{job="postgres"}', values: "0 0 1 2 3 4 5 6" },
          { series: 'pg_stat_archiver_last_archive_age{job="postgres"}', values: "10 70 130 190 250 310 370 430" },
        ],
        "7m",
        [{ job: "postgres" }],
      ),
      test(
        "WalArchivingFailing",
        [
          { series: 'pg_stat_archiver_failed_count{job="postgres"}', values: "0 0 0 0 0 0 0 0" },
          { series: 'pg_stat_archiver_last_archive_age{job="postgres"}', values: "10 20 30 40 10 20 30 40" },
          // Segments wait seconds for the repository, as they do when it answers.
          archiveLag("0 2 0 1 0 0 3 0"),
        ],
        "7m",
        null,
      ),
      // A repository that hangs fails nothing for a long time, but the oldest ready segment keeps waiting.
      test("WalArchivingFailing", [archiveLag("0+60x10")], "6m", [{ job: "node" }]),
      // Samples every five minutes (as node_exporter's textfile is scraped, more often): a backup taken at
      // hour 0 and never again is too old from hour 26 on; one the service keeps fresh never is.
      test(
        "BackupTooOld",
        [{ series: `${olympusMetrics.lastFullBackup}{job="node"}`, values: "0x400" }],
        "28h",
        [{ job: "node" }],
        "5m",
      ),
      test(
        "BackupTooOld",
        [{ series: `${olympusMetrics.lastFullBackup}{job="node"}`, values: "0+300x400" }],
        "28h",
        null,
        "5m",
      ),
      test("DiskAlmostFull", disk(10), "15m", [{ job: "node", mountpoint: volume }]),
      test("DiskAlmostFull", disk(50), "15m", null),
      test(
        "CertificateExpiringSoon",
        [
          {
            series: 'probe_ssl_earliest_cert_expiry{job="site-login",instance="https://caddy/health"}',
            values: minutes(15, () => 3600),
          },
        ],
        "15m",
        [{ job: "site-login", instance: "https://caddy/health" }],
      ),
      test(
        "CertificateExpiringSoon",
        [
          {
            series: 'probe_ssl_earliest_cert_expiry{job="site-login",instance="https://caddy/health"}',
            values: minutes(15, () => 90 * day),
          },
        ],
        "15m",
        null,
      ),
      test(
        "OryLatencyAboveSlo",
        [
          { series: 'http_requests_duration_seconds_bucket{job="ciam-kratos",le="1"}', values: "0+1x20" },
          { series: 'http_requests_duration_seconds_bucket{job="ciam-kratos",le="2.5"}', values: "0+100x20" },
          { series: 'http_requests_duration_seconds_bucket{job="ciam-kratos",le="+Inf"}', values: "0+100x20" },
        ],
        "20m",
        [{ job: "ciam-kratos" }],
      ),
      test(
        "OryLatencyAboveSlo",
        [
          { series: 'http_requests_duration_seconds_bucket{job="ciam-kratos",le="1"}', values: "0+100x20" },
          { series: 'http_requests_duration_seconds_bucket{job="ciam-kratos",le="2.5"}', values: "0+100x20" },
          { series: 'http_requests_duration_seconds_bucket{job="ciam-kratos",le="+Inf"}', values: "0+100x20" },
        ],
        "20m",
        null,
      ),
    ],
  };
}

export const renderPrometheusConfig = (input: PrometheusInput) => yaml(prometheusConfig(input));
export const renderRules = (environment: Environment) => yaml(rulesFile(environment));
export const renderRuleTests = (environment: Environment) => yaml(ruleTests(environment));
export const renderAlertmanagerConfig = (delivery: AlertDelivery) => yaml(alertmanagerConfig(delivery));
export const renderBlackboxConfig = (probedSites: PrometheusInput["probedSites"]) => yaml(blackboxConfig(probedSites));

/** A gauge in Prometheus's text format, as node_exporter's textfile collector reads it. */
export interface TextfileGauge {
  name: string;
  help: string;
  samples: { labels: Record<string, string>; value: number }[];
}

export function renderTextfile(gauges: TextfileGauge[]): string {
  const labelSet = (labels: Record<string, string>) => {
    const pairs = Object.entries(labels).map(
      ([label, value]) => `${label}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`,
    );
    return pairs.length ? `{${pairs.join(",")}}` : "";
  };
  return gauges
    .flatMap(({ name, help, samples }) => [
      `# HELP ${name} ${help}`,
      `# TYPE ${name} gauge`,
      ...samples.map(({ labels, value }) => `${name}${labelSet(labels)} ${value}`),
    ])
    .map((line) => `${line}\n`)
    .join("");
}

/** When each certificate the release installs expires: PostgreSQL's server certificate and its CA. */
export function renderCertificateMetrics(notAfter: Record<string, Date>): string {
  return renderTextfile([
    {
      name: olympusMetrics.certificateNotAfter,
      help: "When a certificate the release installs stops being valid, in seconds since the epoch.",
      samples: Object.entries(notAfter).map(([certificate, date]) => ({
        labels: { certificate },
        value: Math.floor(date.getTime() / 1000),
      })),
    },
  ]);
}
