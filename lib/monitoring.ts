import type { Environment } from "./config/schema";
import { dataMountPath } from "./topology";

/**
 * How much a counter grew within the window, a series first seen within it counted whole: increase()
 * takes a new series' first sample as its baseline, so the burst that creates a series (the first failed
 * logins since Kratos started, the first 429s of a host) would count as nothing.
 */
const grownBy = (selector: string, window: string) =>
  `((${selector} unless ${selector} offset ${window}) or increase(${selector}[${window}]))`;

/**
 * What the monitoring watches and when it alerts, the same in every environment (npm run parity shows
 * it), so staging's alerts rehearse prod's. One threshold differs, and only for the dev tier: its sites
 * use Caddy's internal CA, whose certificates live 12 hours and are renewed with 4 hours left.
 */
export const monitoringPolicy = {
  scrapeInterval: "15s",
  evaluationInterval: "15s",
  retention: "15d",
  /** The soak's SLO: p95 of Kratos and Hydra above it for ten minutes alerts. */
  latencySloSeconds: 1.5,
  /** Failed password logins (Kratos answering 400) in five minutes: a surge above this alerts. */
  failedLogins: 30,
  /** Answers of the rate limiter (429) in five minutes on any site. */
  rateLimited: 50,
  /** Share of a site's answers that are 5xx over five minutes. */
  errorRatio: 0.05,
  /** Share of the root disk or the data volume in use. */
  diskUsed: 0.85,
  /** The newest full backup may be this old (a day, and two hours' slack). */
  backupMaxAgeHours: 26,
  /**
   * A finished WAL segment may wait this long for the repository (three times archive_timeout): beyond
   * it, archiving is failing or hanging, even when PostgreSQL's archiver has not yet counted a failure.
   */
  archiveLagSeconds: 180,
  /** A public site's or PostgreSQL's certificate closer to expiry than this alerts. */
  certificateDays: 14,
} as const;

/** The user Prometheus, Alertmanager and the exporters run as (the official images' nobody). */
export const monitoringUid = 65534;

/** Where the monitoring's services find their files inside their containers. */
export const monitoringPaths = {
  prometheusConfig: "/etc/prometheus/prometheus.yml",
  rules: "/etc/prometheus/rules.yml",
  alertmanagerConfig: "/etc/alertmanager/alertmanager.yml",
  blackboxConfig: "/etc/blackbox/blackbox.yml",
  /** node_exporter's view of the host's root filesystem. */
  hostRoot: "/host",
  /** Metrics the release renders (certificate expiry), read by node_exporter's textfile collector. */
  releaseTextfiles: "/etc/olympus-metrics",
  /** Metrics the backup service writes as it runs, read the same way. */
  runtimeTextfiles: "/var/lib/olympus-metrics",
} as const;

/** The metrics the platform writes itself, read by node_exporter's textfile collector. */
export const olympusMetrics = {
  /** When the newest full backup finished (epoch seconds; 0 for none). */
  lastFullBackup: "olympus_backup_last_full_seconds",
  /** How long the oldest finished WAL segment has waited for the repository (seconds; 0 when none waits). */
  archiveLag: "olympus_backup_wal_archive_lag_seconds",
  /** Whether the repository answered the backup service's last look (1 or 0). */
  repositoryUp: "olympus_backup_repository_up",
  /** When a certificate the release installs stops being valid (epoch seconds), by certificate. */
  certificateNotAfter: "olympus_certificate_not_after_seconds",
} as const;

/** The filesystems the disk alert watches: the server's root disk and the data volume. */
export const watchedMountpoints = ["/", dataMountPath] as const;

/** The certificate warning of an environment, in days (the dev tier's short-lived internal CA aside). */
export function certificateWarningDays(environment: Environment): number {
  return environment === "dev" ? 1 / 12 : monitoringPolicy.certificateDays;
}

/** The alert rules every environment's Prometheus evaluates (rendered by render/monitoring.ts). */
export interface AlertRule {
  alert: string;
  /** PromQL, with the policy's thresholds written in. */
  expr: string;
  for: string;
  severity: "page" | "ticket";
  /**
   * One line naming what and where. Templates use only `{{ $labels.<name> }}` and
   * `{{ $externalLabels.environment }}`, so the rule tests can expect their exact text; the value is in
   * `npm run status` and Prometheus's UI.
   */
  summary: string;
  /** What it means. */
  description: string;
  /** What an operator does first. */
  firstStep: string;
}

export function alertRules(environment: Environment): AlertRule[] {
  const p = monitoringPolicy;
  const oryJobs = `job=~".+-(kratos|hydra)"`;
  const mountpoints = `mountpoint=~"${watchedMountpoints.join("|")}"`;
  return [
    {
      alert: "ServiceDown",
      // A scrape that fails, or a public site whose probe through the edge fails.
      expr: "up == 0 or probe_success == 0",
      for: "30s",
      severity: "page",
      summary: "{{ $labels.job }} is down in {{ $externalLabels.environment }}",
      description:
        "Prometheus cannot scrape {{ $labels.job }}, or a site does not answer through the edge ({{ $labels.instance }}): the service is stopped, crashing or unreachable.",
      firstStep:
        "npm run status -- <stack>; on the host: podman ps -a and podman logs of the service; the deploy script's `up` restarts it in order.",
    },
    {
      alert: "SiteErrors",
      expr: `sum by (host) (rate(caddy_http_request_duration_seconds_count{code=~"5.."}[5m])) / sum by (host) (rate(caddy_http_request_duration_seconds_count[5m])) > ${p.errorRatio}`,
      for: "5m",
      severity: "page",
      summary: `{{ $labels.host }} answers more than ${p.errorRatio * 100} % of requests with 5xx in {{ $externalLabels.environment }}`,
      description: "More than 5 % of a site's answers are server errors: its upstream fails, or Caddy cannot reach it.",
      firstStep:
        "Which upstream? Caddy's log on the host (podman logs olympus_caddy_1); then that service's logs and ServiceDown.",
    },
    {
      alert: "FailedLoginSurge",
      expr: `sum by (job) (${grownBy('http_requests_total{endpoint="/self-service/login",method="post",code="400"}', "5m")}) > ${p.failedLogins}`,
      for: "1m",
      severity: "page",
      summary: `More than ${p.failedLogins} failed logins in 5 minutes on {{ $labels.job }} in {{ $externalLabels.environment }}`,
      description:
        "Many password logins fail: credential stuffing, a brute force, or a broken login UI sending wrong data.",
      firstStep:
        "Look for one source in Caddy's log (rate-limited addresses), check RateLimitSurge, and whether Hera was just released.",
    },
    {
      alert: "RateLimitSurge",
      expr: `sum by (host) (${grownBy('caddy_http_request_duration_seconds_count{code="429"}', "5m")}) > ${p.rateLimited}`,
      for: "1m",
      severity: "ticket",
      summary: `{{ $labels.host }} refused more than ${p.rateLimited} requests with 429 in 5 minutes in {{ $externalLabels.environment }}`,
      description:
        "The login rate limit is being hit hard: an attack from few addresses, or a limit too tight for real traffic.",
      firstStep:
        "Caddy's log shows the addresses; if they are real customers behind one NAT, raise rateLimits.login in the stack file.",
    },
    {
      alert: "PostgresDown",
      expr: "pg_up == 0",
      for: "30s",
      severity: "page",
      summary: "PostgreSQL does not answer in {{ $externalLabels.environment }}",
      description: "postgres_exporter cannot connect: every login and token request fails.",
      firstStep:
        "On the host: podman logs olympus_postgres_1 (a full volume? npm run backups for the repository), then the deploy script's `up`.",
    },
    {
      alert: "WalArchivingFailing",
      expr: `(increase(pg_stat_archiver_failed_count[5m]) > 0 and pg_stat_archiver_last_archive_age > 120) or ${olympusMetrics.archiveLag} > ${p.archiveLagSeconds}`,
      for: "1m",
      severity: "page",
      summary: "WAL archiving fails in {{ $externalLabels.environment }}",
      description:
        "pgBackRest cannot push WAL to the repository (PostgreSQL's archiver fails, or the backup service's check has not seen a segment arrive for 15 minutes): point-in-time restore stops at the last archived segment, and WAL piles up on the volume (up to 4 GiB, then it is dropped).",
      firstStep:
        "npm run backups -- <stack>; check the bucket's endpoint and keys, and PostgreSQL's log for archive-push errors.",
    },
    {
      alert: "BackupTooOld",
      expr: `time() - ${olympusMetrics.lastFullBackup} > ${p.backupMaxAgeHours * 3600} or absent(${olympusMetrics.lastFullBackup})`,
      for: "15m",
      severity: "page",
      summary: `The newest full backup is older than ${p.backupMaxAgeHours} hours in {{ $externalLabels.environment }}`,
      description: "The backup service has not completed a full backup in more than a day (or reports none).",
      firstStep: "podman logs olympus_backup_1 on the host; npm run backups -- <stack>.",
    },
    {
      alert: "DiskAlmostFull",
      expr: `1 - node_filesystem_avail_bytes{${mountpoints}} / node_filesystem_size_bytes{${mountpoints}} > ${p.diskUsed}`,
      for: "10m",
      severity: "page",
      summary: `{{ $labels.mountpoint }} is more than ${p.diskUsed * 100} % full in {{ $externalLabels.environment }}`,
      description: "A full data volume stops PostgreSQL; a full root disk stops podman.",
      firstStep:
        "du on the host; WAL waiting for the repository (WalArchivingFailing)? Raise volumeSizeGb (the filesystem grows online).",
    },
    {
      alert: "CertificateExpiringSoon",
      expr: `(probe_ssl_earliest_cert_expiry or ${olympusMetrics.certificateNotAfter}) - time() < ${Math.round(certificateWarningDays(environment) * 86400)}`,
      for: "10m",
      severity: "page",
      summary:
        "A certificate ({{ $labels.certificate }}{{ $labels.instance }}) expires soon in {{ $externalLabels.environment }}",
      description:
        "Caddy has not renewed a site's certificate (ACME failing), or PostgreSQL's server certificate nears its end.",
      firstStep: "Caddy's log for ACME errors (DNS records, CAA); for PostgreSQL, a pulumi up renews its certificate.",
    },
    {
      alert: "OryLatencyAboveSlo",
      expr: `histogram_quantile(0.95, sum by (job, le) (rate(http_requests_duration_seconds_bucket{${oryJobs}}[5m]))) > ${p.latencySloSeconds}`,
      for: "10m",
      severity: "ticket",
      summary: `{{ $labels.job }}'s p95 latency is above ${p.latencySloSeconds} s in {{ $externalLabels.environment }}`,
      description: "Kratos or Hydra answers slower than the soak's SLO (1.5 s at p95): customers wait at login.",
      firstStep:
        "PostgreSQL's load (pg_stat_activity), the host's load and memory (node metrics); a bigger serverType if it stays.",
    },
  ];
}
