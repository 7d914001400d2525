/**
 * The service catalogue: every service of the compose project, once, with what the rest of the program
 * derives from it. render/compose.ts writes each entry's container, the Caddyfile routes each public
 * site to the service that serves it, the OAuth2 client list and the .env come from the entries'
 * clients and secrets, the deploy script starts the entries phase by phase, and the dev tier builds
 * the images of the entries it runs. Adding a service is adding an entry here (plus its image in the
 * version table, and a renderer for any configuration file of its own).
 */
import { dirname } from "node:path";
import { backupPolicy, pgbackrestDir, postgresDataDir, stanza } from "./backup";
import type { Environment } from "./config/schema";
import { olympusDatabase, postgres } from "./database";
import { monitoringPolicy, monitoringUid, olympusMetrics, monitoringPaths as paths } from "./monitoring";
import { type SecretVariable, secretVariables as secret } from "./secrets";
import type { IdentityDomain, PublicSite } from "./topology";
import type { ImageName } from "./versions";

/**
 * Deploy phases in order: the deploy script starts one at a time and waits until it is healthy. The
 * edge comes right after the migrations so Caddy moves to the release's names before any service is
 * replaced (render/compose.ts releaseAliases).
 */
export const deployPhases = ["database", "migrations", "edge", "ory", "apps", "extras", "operations"] as const;
export type DeployPhase = (typeof deployPhases)[number];

/** The phase Caddy starts in; the edge is routed phase by phase from there on (routedPhases). */
export const edgePhase: DeployPhase = "edge";

/**
 * The phases whose services the edge dials: before each starts, Caddy moves to that phase's route, in
 * which its services (and those of the phases before it) are dialled by their new release aliases and
 * the later phases' by their service names, which still answer from the running containers. So a
 * replaced service gets no new request while it stops, no request waits for a later phase, and a phase
 * that fails leaves the edge on the route before it (render/deployment.ts routes).
 */
export const routedPhases: DeployPhase[] = deployPhases.filter(
  (phase) => deployPhases.indexOf(phase) > deployPhases.indexOf(edgePhase),
);

/** What the deploy script checks before a phase starts (its shell functions of the same names). */
export const beforePhase: Partial<Record<DeployPhase, string[]>> = {
  // First the podman secrets the services read (the deploy makes one from each secret file of the
  // bundle): the data directory's check reads the repository with the backup service's credentials.
  // Never an empty cluster next to data: not beside another major's data directory, not while the
  // environment's repository holds backups (a lost volume is restored, not started afresh).
  // Then, before any service starts, the admin network's guard (adminNetwork).
  database: ["sync-secrets", "check-data-directory", "guard-admin-network"],
  ...Object.fromEntries(routedPhases.map((phase) => [phase, ["route-edge"]])),
};

/** What the deploy script does once a phase is healthy (its shell functions of the same names). */
export const afterPhase: Partial<Record<DeployPhase, string[]>> = {
  // A renewed certificate or pg_hba.conf is served after a reload, never a restart; the login roles
  // and their passwords as lib/database.ts says; then the stanza, a first backup if there is none, and
  // a named restore point archived before any migration runs.
  database: ["reload-postgres", "apply-database-roles", "mark-restore-point"],
  // Caddy serves the release's Caddyfile in place (every upstream by its service name), before any
  // upstream is replaced; each later phase then routes its own services (beforePhase).
  edge: ["route-edge"],
  // The SDK's settings are in place, and Hydra has every client's current secret, before the apps that
  // read them start: a rotated client secret never reaches an app before Hydra accepts it.
  ory: ["apply-sdk-settings", "set-client-secrets"],
  // alertmanager.yml holds secrets, so a new one (a rotated SMTP password) is reloaded, not a reason to recreate.
  operations: ["reload-alertmanager"],
};

/** The service that faces the internet: every public site goes through it. */
export const edgeService = "caddy";
/** Where it reads its Caddyfiles: the project's caddy/ directory, mounted (reloaded in place, never recreated for a new file). */
export const edgeConfigDirectory = "/etc/caddy";

/** The phase whose services run once per release and exit (no restart, no release alias). */
export const oneShotPhase: DeployPhase = "migrations";

/** Which environments run a service. */
export type Presence =
  /** Every environment. */
  | "always"
  /** Wherever its image exists: the UI apps and pgAdmin, which the offline dev tier cannot build. */
  | "where-built"
  /** Where mail goes to the Mailpit sandbox (staging, dev). */
  | "mail-sandbox"
  /** Where synthetic logins run (staging, dev). */
  | "login-simulation";

/** A value of a service's environment: a literal, or a .env variable (a secret) compose interpolates. */
export type EnvValue = string | SecretVariable;

/** What a service's container settings may depend on: the environment's names and its CAPTCHA. */
export interface ServiceContext {
  environment: Environment;
  /** PostgreSQL's major version, which names its data directory. */
  postgresMajor: number;
  hostnames: Record<PublicSite, string>;
  domain: string;
  /** CAPTCHA_ENABLED / CAPTCHA_SITE_KEY; the secret key travels in .env. */
  captcha: { enabled: boolean; siteKey: string };
  /** Where the edge publishes 80/443: every address of a server, the loopback address of a dev machine. */
  edgeAddress: "0.0.0.0" | "127.0.0.1";
}

/** The container settings of a service, beyond what the catalogue entry says. */
export interface Container {
  command?: string[];
  /** The uid:gid it runs as, where the image's default is not the one. */
  user?: string;
  environment?: Record<string, EnvValue>;
  /** Ports published beyond the loopback ones (only the edge's). */
  ports?: string[];
  volumes?: string[];
}

/** How the deploy script and compose tell that a service is healthy. */
export type HealthCheck = (
  | { http: { port: string; path: string } }
  /** A shell command inside the container (`$$` escapes compose interpolation). */
  | { command: string }
) & { interval?: string; startPeriod?: string; retries?: number };

/** An OAuth2 client the service signs in with, registered in one of the environment's Hydras. */
export interface OAuthClientSpec {
  clientId: string;
  /** The Hydra it is registered in. */
  hydra: IdentityDomain;
  name: string;
  /**
   * Where the browser comes back: a path under the service's own public site, or (pgAdmin, reached
   * through an SSH tunnel only) a path on its loopback port.
   */
  returnTo: { sitePath: string } | { loopbackPath: string };
  /** A public client (a browser app) holds no secret and must use PKCE. */
  public: boolean;
  subjectType: "public" | "pairwise";
  skipConsent: boolean;
  /** The .env variable the service reads the client's generated secret from. */
  secretVariable: string;
}

/** A public site the edge serves from this service. */
export interface SiteRoute {
  site: PublicSite;
  /** The service's port (by name) the edge proxies to. */
  port: string;
  /** Paths the edge answers 404 for, with the reason (kept next to the route in the Caddyfile). */
  internalOnly?: { matcher: string; paths: string[]; reason: string };
  /** Long-lived streamed responses (React Server Components): the edge keeps the upstream connection open. */
  streaming?: boolean;
}

export interface Service {
  /** The version-table image it runs. */
  image: ImageName;
  phase: DeployPhase;
  presence: Presence;
  /** Ports it listens on inside the compose network, by name. */
  ports?: Record<string, number>;
  /**
   * Of those, the ones the host publishes on its loopback (host port by port name): reached over SSH only.
   * Never on a member of the admin network, which the host reaches at its address there (hostAddress).
   */
  loopback?: Record<string, number>;
  /**
   * Its place on the admin network (adminNetwork), for a service with an unauthenticated admin API (`api`,
   * the port that listens only there) or one that calls such an API: its fixed host number there.
   * @default not a member
   */
  admin?: { host: number; api?: string };
  health?: HealthCheck;
  /** The public site it serves through the edge. */
  site?: SiteRoute;
  oauthClients?: OAuthClientSpec[];
  /** A note for an operator reading compose.yml. */
  note?: string;
  /** Reloads a changed configuration in place: a new file is never a reason to recreate it. @default false */
  reloadsConfiguration?: boolean;
  /** How long a stop waits before it kills (compose's default is 10 s). @default compose's */
  stopGracePeriod?: string;
  container: (context: ServiceContext) => Container;
}

/**
 * What pgBackRest needs wherever it runs: the data directory of the major version the container runs, the
 * repository's keys, passphrase and folder; and (backupMounts) its configuration and PostgreSQL's socket.
 */
const backupEnvironment = (context: ServiceContext): Record<string, EnvValue> => ({
  PGBACKREST_PG1_PATH: postgresDataDir(context.postgresMajor),
  PGBACKREST_REPO1_S3_KEY: secret.backupAccessKeyId,
  PGBACKREST_REPO1_S3_KEY_SECRET: secret.backupSecretAccessKey,
  PGBACKREST_REPO1_CIPHER_PASS: secret.backupPassphrase,
  PGBACKREST_REPO1_PATH: secret.backupPath,
});
const backupMounts = [`postgres_run:${postgres.socketDir}`, `./pgbackrest:${pgbackrestDir}:ro`];

/** The CA every database client mounts: its own directory, which holds nothing else. */
const postgresCa = `./${postgres.caDirectory.project}:${postgres.caDirectory.container}:ro`;
const upper = (domain: IdentityDomain) => domain.toUpperCase();
const https = (context: ServiceContext, site: PublicSite) => `https://${context.hostnames[site]}`;
const sites = {
  login: { ciam: "ciamLogin", iam: "iamLogin" },
  oauth: { ciam: "ciamOauth", iam: "iamOauth" },
  admin: { ciam: "ciamAdmin", iam: "iamAdmin" },
} as const satisfies Record<string, Record<IdentityDomain, PublicSite>>;

function oryServices(domain: IdentityDomain, ports: { kratos: number; hydra: number; adminHost: number }) {
  const kratosConfig = `./${domain}-kratos:/etc/config/${domain}-kratos:ro`;
  const hydraConfig = `./${domain}-hydra:/etc/config/${domain}-hydra:ro`;
  const login = (context: ServiceContext) => https(context, sites.login[domain]);
  const kratosDsn = secret.dsn(`${domain}_kratos`);
  const hydraDsn = secret.dsn(`${domain}_hydra`);
  return {
    [`${domain}-kratos-migrate`]: {
      image: "kratos",
      phase: "migrations",
      presence: "always",
      container: () => ({
        command: ["-c", `/etc/config/${domain}-kratos/kratos.yml`, "migrate", "sql", "-e", "--yes"],
        environment: { DSN: kratosDsn },
        volumes: [kratosConfig, postgresCa],
      }),
    },
    [`${domain}-hydra-migrate`]: {
      image: "hydra",
      phase: "migrations",
      presence: "always",
      container: () => ({
        command: ["migrate", "-c", `/etc/config/${domain}-hydra/hydra.yml`, "sql", "up", "-e", "--yes"],
        environment: { DSN: hydraDsn },
        volumes: [hydraConfig, postgresCa],
      }),
    },
    [`${domain}-kratos`]: {
      image: "kratos",
      phase: "ory",
      presence: "always",
      ports: { public: ports.kratos, admin: ports.kratos + 1 },
      admin: { host: ports.adminHost, api: "admin" },
      health: { http: { port: "public", path: "/health/ready" } },
      container: (context) => ({
        command: ["serve", "-c", `/etc/config/${domain}-kratos/kratos.yml`, "--watch-courier"],
        environment: {
          DSN: kratosDsn,
          SECRETS_COOKIE: secret.kratosCookie(domain),
          SECRETS_CIPHER: secret.kratosCipher(domain),
          SERVE_PUBLIC_CORS_ALLOWED_ORIGINS: login(context),
          COURIER_SMTP_CONNECTION_URI: secret.smtpUri,
        },
        volumes: [kratosConfig, postgresCa],
      }),
    },
    [`${domain}-hydra`]: {
      image: "hydra",
      phase: "ory",
      presence: "always",
      ports: { public: ports.hydra, admin: ports.hydra + 1 },
      admin: { host: ports.adminHost + 1, api: "admin" },
      health: { http: { port: "public", path: "/health/ready" } },
      site: { site: sites.oauth[domain], port: "public" },
      container: (context) => ({
        command: ["serve", "-c", `/etc/config/${domain}-hydra/hydra.yml`, "all"],
        environment: {
          DSN: hydraDsn,
          URLS_SELF_ISSUER: https(context, sites.oauth[domain]),
          URLS_LOGIN: `${login(context)}/login`,
          URLS_CONSENT: `${login(context)}/consent`,
          URLS_LOGOUT: `${login(context)}/logout`,
          SECRETS_SYSTEM: secret.hydraSystem(domain),
          OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT: secret.hydraPairwiseSalt(domain),
        },
        volumes: [hydraConfig, postgresCa],
      }),
    },
  } satisfies Record<string, Service>;
}

/** Athena's client: a browser app, so public (PKCE); it signs administrators in through IAM Hydra. */
const athenaClient = (domain: IdentityDomain): OAuthClientSpec => ({
  clientId: `athena-${domain}-client`,
  hydra: "iam",
  name: `Olympus ${upper(domain)} Admin`,
  returnTo: { sitePath: "/api/auth/callback" },
  public: true,
  // Athena matches the token's subject to the IAM identity: public, not pairwise.
  subjectType: "public",
  skipConsent: true,
  secretVariable: `ATHENA_${upper(domain)}_OAUTH_CLIENT_SECRET`,
});

/** The site's client in each Hydra: customers consent to the site; employees sign in without a consent screen. */
const siteClient = (domain: IdentityDomain): OAuthClientSpec => ({
  clientId: `site-${domain}-client`,
  hydra: domain,
  name: `Olympus Site (${upper(domain)})`,
  returnTo: { sitePath: `/callback/${domain}` },
  public: false,
  subjectType: "pairwise",
  skipConsent: domain === "iam",
  secretVariable: `SITE_${upper(domain)}_CLIENT_SECRET`,
});

const pgadminClient: OAuthClientSpec = {
  clientId: "pgadmin",
  hydra: "iam",
  name: "pgAdmin",
  returnTo: { loopbackPath: "/oauth2/authorize" },
  public: false,
  subjectType: "pairwise",
  skipConsent: true,
  secretVariable: "PGADMIN_OAUTH_CLIENT_SECRET",
};

const clientSecret = (client: OAuthClientSpec) => secret.oauthClientSecret(client.secretVariable, client.clientId);

/** What Hera and Athena share: Olympus's database (the SDK's settings) and its keys. */
const appEnvironment = (domain: IdentityDomain): Record<string, EnvValue> => ({
  DATABASE_URL: secret.dsn(olympusDatabase),
  SETTINGS_TABLE: `${domain}_settings`,
  ENCRYPTION_KEY: secret.encryptionKey,
  SESSION_SIGNING_KEY: secret.sessionSigningKey,
  APP_INSTANCE: upper(domain),
  NEXT_PUBLIC_APP_INSTANCE: upper(domain),
});

function appServices(domain: IdentityDomain, { heraPort, adminHost }: { heraPort: number; adminHost: number }) {
  const athena = athenaClient(domain);
  return {
    [`${domain}-hera`]: {
      image: "hera",
      phase: "apps",
      presence: "where-built",
      ports: { http: heraPort },
      admin: { host: adminHost },
      health: { http: { port: "http", path: "/health" } },
      site:
        domain === "ciam"
          ? {
              site: sites.login[domain],
              port: "http",
              internalOnly: {
                matcher: "policy_password",
                paths: ["/api/policy/password*"],
                reason: "Hera's password-policy webhook receives plain-text passwords from Kratos: internal only.",
              },
            }
          : { site: sites.login[domain], port: "http" },
      note:
        domain === "ciam"
          ? " No host port, on purpose: Hera is reached only through Caddy, whose per-IP rate limit a direct port would bypass."
          : " No host port, on purpose: reached only through Caddy.",
      container: (context) => ({
        environment: {
          ...appEnvironment(domain),
          PORT: String(heraPort),
          HYDRA_ADMIN_URL: adminUrl(`${domain}-hydra`),
          HYDRA_PUBLIC_URL: https(context, sites.oauth[domain]),
          KRATOS_PUBLIC_URL: internalUrl(`${domain}-kratos`, "public"),
          KRATOS_ADMIN_URL: adminUrl(`${domain}-kratos`),
          DEFAULT_OAUTH2_CLIENT_ID: domain === "ciam" ? siteClient("ciam").clientId : athenaClient("iam").clientId,
          CAPTCHA_ENABLED: String(context.captcha.enabled),
          CAPTCHA_SITE_KEY: context.captcha.siteKey,
          CAPTCHA_SECRET_KEY: secret.captchaSecretKey(domain),
          // Demo accounts bypass CAPTCHA and lockout; no environment of this project enables them.
          ALLOW_DEMO_ACCOUNTS: "false",
        },
        // DATABASE_URL verifies PostgreSQL's certificate against this CA (sslmode=verify-full).
        volumes: [postgresCa],
      }),
    },
    [`${domain}-athena`]: {
      image: "athena",
      phase: "apps",
      presence: "where-built",
      ports: { http: 3000 },
      admin: { host: adminHost + 1 },
      health: { http: { port: "http", path: "/api/health" }, startPeriod: "30s" },
      site: { site: sites.admin[domain], port: "http", streaming: true },
      oauthClients: [athena],
      container: (context) => ({
        environment: {
          ...appEnvironment(domain),
          NODE_ENV: "production",
          NEXT_PUBLIC_APP_URL: https(context, sites.admin[domain]),
          KRATOS_ADMIN_URL: adminUrl(`${domain}-kratos`),
          KRATOS_PUBLIC_URL: internalUrl(`${domain}-kratos`, "public"),
          HYDRA_PUBLIC_URL: internalUrl(`${domain}-hydra`, "public"),
          HYDRA_ADMIN_URL: adminUrl(`${domain}-hydra`),
          IAM_KRATOS_PUBLIC_URL: internalUrl("iam-kratos", "public"),
          IAM_KRATOS_ADMIN_URL: adminUrl("iam-kratos"),
          IAM_HYDRA_PUBLIC_URL: internalUrl("iam-hydra", "public"),
          IAM_HYDRA_ADMIN_URL: adminUrl("iam-hydra"),
          NEXT_PUBLIC_IAM_HYDRA_PUBLIC_URL: https(context, "iamOauth"),
          NEXT_PUBLIC_AUTH_HYDRA_URL: https(context, "iamOauth"),
          AUTH_HYDRA_URL: internalUrl("iam-hydra", "public"),
          AUTH_HYDRA_ADMIN_URL: adminUrl("iam-hydra"),
          AUTH_KRATOS_ADMIN_URL: adminUrl("iam-kratos"),
          // Athena's CAPTCHA is display-only (fail-open) upstream; it stays off.
          CAPTCHA_ENABLED: "false",
          CAPTCHA_SITE_KEY: context.captcha.siteKey,
          OAUTH_CLIENT_ID: athena.clientId,
          OAUTH_CLIENT_SECRET: clientSecret(athena),
          ATHENA_INTERNAL_URL: internalUrl(`${domain}-athena`, "http"),
          HERA_INTERNAL_URL: internalUrl(`${domain}-hera`, "http"),
        },
        volumes: [postgresCa],
      }),
    },
  } satisfies Record<string, Service>;
}

/** Every service, in the order compose.yml lists them. */
export const services: Record<string, Service> = {
  [postgres.service]: {
    image: "postgres",
    phase: "database",
    presence: "always",
    ports: { postgres: postgres.port },
    // Operators reach it over SSH (psql, pg_dump); containers use the network.
    loopback: { postgres: postgres.port },
    health: {
      command: 'pg_isready -U "$${POSTGRES_USER}" -d postgres',
      interval: "10s",
      startPeriod: "30s",
      retries: 5,
    },
    // A clean shutdown archives what is pending and checkpoints; a kill leaves a cluster that needs recovery.
    stopGracePeriod: "2m",
    note: " Network clients must use TLS (pg_hba.conf: hostssl only); every DSN verifies the certificate against ca.crt (verify-full).",
    container: (context) => ({
      command: [
        "postgres",
        ...[
          "ssl=on",
          "ssl_cert_file=/etc/postgres-tls/server.crt",
          "ssl_key_file=/etc/postgres-tls/server.key",
          `ssl_ca_file=${postgres.caPath}`,
          "hba_file=/etc/postgres-tls/pg_hba.conf",
          "ssl_min_protocol_version=TLSv1.3",
          // Every WAL segment goes to the environment's repository, at least once a minute with writes.
          "archive_mode=on",
          `archive_command=pgbackrest --stanza=${stanza(context.environment)} archive-push %p`,
          `archive_timeout=${backupPolicy.archiveTimeoutSeconds}`,
        ].flatMap((setting) => ["-c", setting]),
      ],
      environment: {
        POSTGRES_USER: secret.postgresUser,
        POSTGRES_PASSWORD: secret.postgresPassword,
        ...backupEnvironment(context),
      },
      volumes: [
        "postgres:/var/lib/postgresql",
        "./init-db.sql:/docker-entrypoint-initdb.d/10-init-db.sql:ro",
        // The directory, not its files: a renewed certificate replaces the files, and a single-file mount
        // would keep showing the old ones. The deploy reloads PostgreSQL to serve the new certificate.
        "./postgres:/etc/postgres-tls:ro",
        postgresCa,
        ...backupMounts,
      ],
    }),
  },
  ...oryServices("ciam", { kratos: 5000, hydra: 5002, adminHost: 11 }),
  ...oryServices("iam", { kratos: 7000, hydra: 7002, adminHost: 21 }),
  ...appServices("ciam", { heraPort: 3000, adminHost: 31 }),
  ...appServices("iam", { heraPort: 4000, adminHost: 41 }),
  site: {
    image: "site",
    phase: "apps",
    presence: "where-built",
    ports: { http: 3000 },
    admin: { host: 51 },
    health: { http: { port: "http", path: "/health" } },
    site: { site: "site", port: "http" },
    oauthClients: [siteClient("ciam"), siteClient("iam")],
    container: (context) => ({
      environment: {
        NODE_ENV: "production",
        NEXT_PUBLIC_APP_URL: https(context, "site"),
        NEXT_PUBLIC_CIAM_HYDRA_URL: https(context, "ciamOauth"),
        NEXT_PUBLIC_IAM_HYDRA_URL: https(context, "iamOauth"),
        NEXT_PUBLIC_CIAM_ATHENA_URL: https(context, "ciamAdmin"),
        NEXT_PUBLIC_IAM_ATHENA_URL: https(context, "iamAdmin"),
        CIAM_HYDRA_PUBLIC_URL: internalUrl("ciam-hydra", "public"),
        IAM_HYDRA_PUBLIC_URL: internalUrl("iam-hydra", "public"),
        CIAM_HYDRA_ADMIN_URL: adminUrl("ciam-hydra"),
        IAM_HYDRA_ADMIN_URL: adminUrl("iam-hydra"),
        CIAM_KRATOS_ADMIN_URL: adminUrl("ciam-kratos"),
        IAM_KRATOS_ADMIN_URL: adminUrl("iam-kratos"),
        CIAM_CLIENT_ID: siteClient("ciam").clientId,
        CIAM_CLIENT_SECRET: clientSecret(siteClient("ciam")),
        IAM_CLIENT_ID: siteClient("iam").clientId,
        IAM_CLIENT_SECRET: clientSecret(siteClient("iam")),
      },
    }),
  },
  pgadmin: {
    image: "pgadmin",
    phase: "apps",
    presence: "where-built",
    ports: { http: 80 },
    // Never public: no site, loopback port only, reached with `ssh -L 5433:127.0.0.1:5433`.
    loopback: { http: 5433 },
    oauthClients: [pgadminClient],
    note: " Loopback only and OAuth2 through IAM Hydra only (config_local.py): no password login, no automatic user creation.",
    container: (context) => ({
      environment: {
        PGADMIN_DEFAULT_EMAIL: `admin@${context.domain}`,
        // Required by the image to start; no one logs in with it (AUTHENTICATION_SOURCES is oauth2 only).
        PGADMIN_DEFAULT_PASSWORD: secret.adminPassword,
        PGADMIN_CONFIG_SERVER_MODE: "True",
        PGADMIN_CONFIG_MASTER_PASSWORD_REQUIRED: "False",
        PGADMIN_OAUTH_CLIENT_ID: pgadminClient.clientId,
        PGADMIN_OAUTH_CLIENT_SECRET: clientSecret(pgadminClient),
        IAM_HYDRA_PUBLIC_URL: https(context, "iamOauth"),
      },
      volumes: ["./pgadmin/config_local.py:/pgadmin4/config_local.py:ro"],
    }),
  },
  [edgeService]: {
    image: "caddy",
    phase: "edge",
    presence: "always",
    // metrics: an internal-only site of the Caddyfile; the admin API (which can change the config) stays on localhost.
    ports: { http: 80, https: 443, metrics: 2020 },
    reloadsConfiguration: true,
    note:
      " The only service published beyond loopback. Rollback: every image is pinned in lib/versionTable.json; set Caddy's\n" +
      " tag back to an earlier sha-<commit> (each build of Olympus's Caddy publishes one) and deploy: Caddy is recreated,\n" +
      " every other service keeps running.",
    container: (context) => ({
      ports: ["80:80", "443:443", "443:443/udp"].map((port) => `${context.edgeAddress}:${port}`),
      // The directory, not the file: the deploy step replaces files, and Caddy reloads the new one in place.
      volumes: [`./caddy:${edgeConfigDirectory}:ro`, "caddy_data:/data", "caddy_config:/config"],
    }),
  },
  mailpit: {
    image: "mailpit",
    phase: "extras",
    presence: "mail-sandbox",
    ports: { smtp: 1025, ui: 8025 },
    // The UI and API have no authentication: loopback only, reached over an SSH tunnel.
    loopback: { ui: 8025 },
    health: { http: { port: "ui", path: "/readyz" } },
    container: () => ({
      command: [
        "--smtp",
        `0.0.0.0:${port("mailpit", "smtp")}`,
        "--listen",
        `0.0.0.0:${port("mailpit", "ui")}`,
        "--disable-version-check",
        "--max",
        "5000",
      ],
    }),
  },
  backup: {
    // The PostgreSQL image: it carries pgBackRest, which must match the one that archives.
    image: "postgres",
    phase: "operations",
    presence: "always",
    note: " Takes a full backup every day (and at once if the last is older than a day); restores run as one-off containers of it.",
    container: (context) => ({
      command: ["bash", "/etc/olympus-backup/backup-scheduler.sh"],
      user: `${postgres.uid}:${postgres.uid}`,
      environment: {
        BACKUP_STANZA: stanza(context.environment),
        FULL_BACKUP_AT: backupPolicy.fullBackupAt,
        BACKUP_METRICS: `${paths.runtimeTextfiles}/backup.prom`,
        WAL_METRICS: `${paths.runtimeTextfiles}/wal.prom`,
        METRIC_LAST_FULL: olympusMetrics.lastFullBackup,
        METRIC_REPOSITORY_UP: olympusMetrics.repositoryUp,
        METRIC_ARCHIVE_LAG: olympusMetrics.archiveLag,
        // psql reads how long WAL waits through PostgreSQL's socket, as the cluster's owner.
        PGHOST: postgres.socketDir,
        PGUSER: postgres.user,
        ...backupEnvironment(context),
      },
      volumes: [
        "postgres:/var/lib/postgresql",
        ...backupMounts,
        "./backup:/etc/olympus-backup:ro",
        `metrics:${paths.runtimeTextfiles}`,
      ],
    }),
  },
  ...monitoringServices(),
  "login-simulator": {
    image: "loginSimulator",
    phase: "extras",
    presence: "login-simulation",
    container: () => ({
      command: ["sh", "/etc/login-simulator/login-simulator.sh"],
      environment: {
        KRATOS_PUBLIC_URL: internalUrl("ciam-kratos", "public"),
        SYNTHETIC_PASSWORD: secret.syntheticPassword,
      },
      volumes: ["./login-simulator:/etc/login-simulator:ro"],
    }),
  },
};

export type ServiceName = keyof typeof services & string;

/**
 * Prometheus, Alertmanager and the exporters, in every environment alike. Only Prometheus's and
 * Alertmanager's UIs are reached from the host (an SSH tunnel away): Alertmanager's published on the
 * loopback, Prometheus's at its address on the admin network; the exporters answer on the compose
 * network only. Their data (the time series, silences) lives on the volume.
 */
function monitoringServices() {
  const nobody = `${monitoringUid}:${monitoringUid}`;
  /** What a person opens through the tunnel (its local port is the remote one), so links in alerts point at it. */
  const tunnelled = (name: string, portName: string) =>
    `--web.external-url=http://localhost:${hostAddress(name, portName).port}/`;
  return {
    prometheus: {
      image: "prometheus",
      phase: "operations",
      presence: "always",
      ports: { http: 9090 },
      // It scrapes the Ory services' metrics on their admin ports; the host reaches it at its address there.
      admin: { host: 61 },
      health: { http: { port: "http", path: "/-/ready" } },
      container: () => ({
        command: [
          `--config.file=${paths.prometheusConfig}`,
          "--storage.tsdb.path=/prometheus",
          `--storage.tsdb.retention.time=${monitoringPolicy.retention}`,
          `--web.listen-address=:${port("prometheus", "http")}`,
          tunnelled("prometheus", "http"),
        ],
        user: nobody,
        volumes: [`./prometheus:${dirname(paths.prometheusConfig)}:ro`, "prometheus:/prometheus"],
      }),
    },
    alertmanager: {
      image: "alertmanager",
      phase: "operations",
      presence: "always",
      ports: { http: 9093 },
      loopback: { http: 9093 },
      health: { http: { port: "http", path: "/-/ready" } },
      note: " Mails every alert, and its resolution, to the environment's operators (alertmanager.yml holds the SMTP credentials: 0600).",
      container: () => ({
        command: [
          `--config.file=${paths.alertmanagerConfig}`,
          "--storage.path=/alertmanager",
          `--web.listen-address=:${port("alertmanager", "http")}`,
          // One Alertmanager: no cluster to gossip with.
          "--cluster.listen-address=",
          tunnelled("alertmanager", "http"),
        ],
        user: nobody,
        volumes: [`./alertmanager:${dirname(paths.alertmanagerConfig)}:ro`, "alertmanager:/alertmanager"],
      }),
    },
    "node-exporter": {
      image: "nodeExporter",
      phase: "operations",
      presence: "always",
      ports: { metrics: 9100 },
      health: { http: { port: "metrics", path: "/" } },
      container: () => ({
        command: [
          `--path.rootfs=${paths.hostRoot}`,
          `--web.listen-address=:${port("node-exporter", "metrics")}`,
          `--collector.textfile.directory=${paths.releaseTextfiles}`,
          `--collector.textfile.directory=${paths.runtimeTextfiles}`,
        ],
        user: nobody,
        // The host's filesystems, read-only, for their sizes and free space (the data volume's among them).
        volumes: [
          `/:${paths.hostRoot}:ro,rslave`,
          `./metrics:${paths.releaseTextfiles}:ro`,
          `metrics:${paths.runtimeTextfiles}:ro`,
        ],
      }),
    },
    "postgres-exporter": {
      image: "postgresExporter",
      phase: "operations",
      presence: "always",
      ports: { metrics: 9187 },
      health: { http: { port: "metrics", path: "/" } },
      note: " Signs in as olympus_monitoring (pg_monitor only), over TLS like every client.",
      container: () => ({
        command: [`--web.listen-address=:${port("postgres-exporter", "metrics")}`],
        user: nobody,
        environment: { DATA_SOURCE_NAME: secret.monitoringDsn },
        volumes: [postgresCa],
      }),
    },
    "blackbox-exporter": {
      image: "blackboxExporter",
      phase: "operations",
      presence: "always",
      ports: { metrics: 9115 },
      health: { http: { port: "metrics", path: "/" } },
      container: () => ({
        command: [
          `--config.file=${paths.blackboxConfig}`,
          `--web.listen-address=:${port("blackbox-exporter", "metrics")}`,
        ],
        user: nobody,
        volumes: [`./blackbox:${dirname(paths.blackboxConfig)}:ro`],
      }),
    },
  } satisfies Record<string, Service>;
}

function service(name: string): Service {
  const entry = services[name];
  if (!entry) throw new Error(`no service ${name} in the catalogue (lib/services.ts)`);
  return entry;
}

/** A port a service listens on inside the compose network. */
export function port(name: string, portName: string): number {
  const value = service(name).ports?.[portName];
  if (value === undefined) throw new Error(`service ${name} has no port ${portName}`);
  return value;
}

/** The loopback port the host publishes a service's port on (reached through an SSH tunnel). */
export function loopbackPort(name: string, portName: string): number {
  const value = service(name).loopback?.[portName];
  if (value === undefined) throw new Error(`service ${name} publishes no loopback port for ${portName}`);
  return value;
}

/** How services reach each other inside the compose network. */
export function internalUrl(name: string, portName: string): string {
  return `http://${name}:${port(name, portName)}`;
}

/**
 * The network the Ory admin APIs listen on, and nothing else does: they are unauthenticated (they create
 * identities and OAuth2 clients), so each binds its admin port to its own address there, answers there
 * by `<service>-admin`, and only the services that call an admin API join it. The host refuses what any
 * other network forwards into it (render/hostConfig.ts adminNetworkGuard), so a container outside it
 * reaches no admin port, by name or by address.
 * Every member has a fixed address (Service.admin), which the host (and an SSH tunnel to it) reaches it at
 * and does not forward, and publishes no port: netavark forwards a published port of a container on two
 * networks to either network's address, and after containers were recreated here the host's connections
 * to such ports were closed unanswered. The subnet is fixed because the listeners and the guard name
 * addresses in it; no address in it is handed out at random.
 */
const adminPrefix = "10.89.254";
export const adminNetwork = { name: "admin", subnet: `${adminPrefix}.0/24` } as const;

/** A member's fixed address on the admin network (where its admin API, if any, listens). */
export function adminAddress(name: string): string {
  const member = service(name).admin;
  if (!member) throw new Error(`service ${name} is not on the admin network`);
  return `${adminPrefix}.${member.host}`;
}

/** The name of a service on the admin network: only that network's members resolve it. */
export const adminAlias = (name: string) => `${name}-admin`;

function adminApiPort(name: string): number {
  const api = service(name).admin?.api;
  if (!api) throw new Error(`service ${name} has no admin API`);
  return port(name, api);
}

/**
 * Where the host itself (and an SSH tunnel to the host) reaches a service's port: a member of the admin
 * network at its address there, any other service at the port it publishes on the loopback.
 */
export function hostAddress(name: string, portName: string): { host: string; port: number } {
  return service(name).admin
    ? { host: adminAddress(name), port: port(name, portName) }
    : { host: "127.0.0.1", port: loopbackPort(name, portName) };
}

/** hostAddress as a URL. */
export function hostUrl(name: string, portName: string): string {
  const { host, port } = hostAddress(name, portName);
  return `http://${host}:${port}`;
}

/** How the host itself reaches a service's admin API (and an SSH tunnel to the host): its admin address. */
export function adminHostUrl(name: string): string {
  return `http://${adminAddress(name)}:${adminApiPort(name)}`;
}

/** How the services that call an admin API reach it. */
export function adminUrl(name: string): string {
  return `http://${adminAlias(name)}:${adminApiPort(name)}`;
}

/** The service that serves a public site. */
export function siteService(site: PublicSite): { name: string; route: SiteRoute; health?: HealthCheck } {
  const found = Object.entries(services).find(([, entry]) => entry.site?.site === site);
  if (!found) throw new Error(`no service serves the public site ${site}`);
  return { name: found[0], route: found[1].site!, health: found[1].health };
}

/** What decides which services an environment runs. */
export interface Presences {
  /** The images the environment has; a "where-built" service without one is left out. */
  images: Partial<Record<ImageName, string>>;
  mailSandbox: boolean;
  loginSimulation: boolean;
}

export function runs(entry: Service, presences: Presences): boolean {
  switch (entry.presence) {
    case "always":
      return true;
    case "where-built":
      return presences.images[entry.image] !== undefined;
    case "mail-sandbox":
      return presences.mailSandbox;
    case "login-simulation":
      return presences.loginSimulation;
  }
}

/** The catalogue's services an environment runs, and those it does not, each in catalogue order. */
export function servicesRunning(presences: Presences): { running: string[]; absent: string[] } {
  const names = Object.keys(services);
  return {
    running: names.filter((name) => runs(services[name]!, presences)),
    absent: names.filter((name) => !runs(services[name]!, presences)),
  };
}

/** The OAuth2 clients of every service, in catalogue order, with the service that uses each. */
export function oauthClientSpecs(): { service: string; client: OAuthClientSpec }[] {
  return Object.entries(services).flatMap(([name, entry]) =>
    (entry.oauthClients ?? []).map((client) => ({ service: name, client })),
  );
}
