import { createHash } from "node:crypto";
import { Document, type Scalar, type YAMLMap } from "yaml";
import type { Environment } from "../lib/config";
import {
  dataMountPath,
  type IdentityDomain,
  loopbackPorts,
  mailSandboxService,
  oryPorts,
  type publicSites,
} from "../lib/topology";
import type { ImageName } from "../lib/versions";

/** The subset of the Compose Specification this project writes. */
export interface ComposeService {
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  /** The intranet; a long-running service also answers there on its release alias (releaseAliases). */
  networks: string[] | { intranet: { aliases: string[] } };
  restart?: "unless-stopped" | "no";
  healthcheck?: { test: string[]; interval: string; timeout: string; start_period: string; retries: number };
  labels?: Record<string, string>;
  profiles?: string[];
}

export interface ComposeFile {
  /** Which environment the project belongs to, for operators and the policy pack (an extension field compose ignores). */
  "x-olympus": { environment: Environment; leftOut: ImageName[] };
  services: Record<string, ComposeService>;
  networks: Record<string, Record<string, never>>;
  volumes: Record<string, { driver: "local"; driver_opts: { type: "none"; o: "bind"; device: string } }>;
}

export interface ComposeInput {
  environment: Environment;
  /** Images to run; a service whose image is absent is left out (Hera, Athena, site, pgAdmin in the offline dev tier). */
  images: Partial<Record<ImageName, string>>;
  /** Digest of each configuration directory a service mounts: a changed file recreates exactly its readers. */
  configDigests: Record<string, string>;
  /** Where Caddy publishes 80/443: every address of a server, the loopback address of a dev machine. */
  edgeAddress: "0.0.0.0" | "127.0.0.1";
  hostnames: Record<keyof typeof publicSites, string>;
  domain: string;
  /** CAPTCHA_ENABLED / CAPTCHA_SITE_KEY for Hera and Athena; the secret key comes from .env. */
  captcha: { enabled: boolean; siteKey: string };
  mailpit: boolean;
  loginSimulation: boolean;
}

/**
 * Startup phases, in order. The deploy script starts one phase at a time and waits for it to be healthy.
 * The services declare no depends_on: podman-compose recreates every dependent of a recreated service,
 * so a release that touches Kratos would also restart Hera, Athena and Caddy, and take the edge down.
 */
export const startupPhases = {
  database: ["postgres"],
  migrations: ["ciam-kratos-migrate", "iam-kratos-migrate", "ciam-hydra-migrate", "iam-hydra-migrate"],
  // Before any service it routes to is replaced: see releaseAliases.
  edge: ["caddy"],
  ory: ["ciam-kratos", "iam-kratos", "ciam-hydra", "iam-hydra"],
  apps: ["ciam-hera", "iam-hera", "ciam-athena", "iam-athena", "site", "pgadmin"],
} as const;

/** Images an environment may run without (no offline build of them exists). */
const appImages = { hera: true, athena: true, site: true, pgadmin: true } as const;

/** pgAdmin's OAuth2 client in IAM Hydra. */
export const pgadminClientId = "pgadmin";

export const loginSimulatorService = "login-simulator";

const network = ["intranet"];
const tlsMount = "./postgres/ca.crt:/etc/postgres-tls/ca.crt:ro";
/** `${VAR:?}` makes compose refuse to start a service whose secret is missing, instead of passing "". */
const secret = (name: string) => `\${${name}:?${name} must be set in .env}`;
const upper = (domain: IdentityDomain) => domain.toUpperCase();
const loopback = (hostPort: number, containerPort: number) => `127.0.0.1:${hostPort}:${containerPort}`;

/** The images every environment runs; only the UI apps and pgAdmin can be left out. */
function required(input: ComposeInput, name: ImageName): string {
  const image = input.images[name];
  if (!image) throw new Error(`no image for ${name}: every environment runs it`);
  return image;
}

const httpHealth = (port: number, path: string, startPeriod = "20s") => ({
  test: ["CMD-SHELL", `wget --spider --quiet http://localhost:${port}${path} || exit 1`],
  interval: "15s",
  timeout: "5s",
  start_period: startPeriod,
  retries: 3,
});

function oryServices(input: ComposeInput, domain: IdentityDomain): Record<string, ComposeService> {
  const ports = oryPorts[domain];
  const hostPorts = loopbackPorts[domain];
  const D = upper(domain);
  const login = `https://${input.hostnames[domain === "ciam" ? "ciamLogin" : "iamLogin"]}`;
  const issuer = `https://${input.hostnames[domain === "ciam" ? "ciamOauth" : "iamOauth"]}`;
  const kratosConfig = `./${domain}-kratos:/etc/config/${domain}-kratos:ro`;
  const hydraConfig = `./${domain}-hydra:/etc/config/${domain}-hydra:ro`;
  const migration = (image: string, command: string[], dsn: string, config: string): ComposeService => ({
    image,
    command,
    environment: { DSN: secret(dsn) },
    volumes: [config, tlsMount],
    networks: network,
    restart: "no",
    profiles: ["migrations"],
  });
  return {
    [`${domain}-kratos-migrate`]: migration(
      required(input, "kratos"),
      ["-c", `/etc/config/${domain}-kratos/kratos.yml`, "migrate", "sql", "-e", "--yes"],
      `PG_${D}_KRATOS_DSN`,
      kratosConfig,
    ),
    [`${domain}-hydra-migrate`]: migration(
      required(input, "hydra"),
      ["migrate", "-c", `/etc/config/${domain}-hydra/hydra.yml`, "sql", "up", "-e", "--yes"],
      `PG_${D}_HYDRA_DSN`,
      hydraConfig,
    ),
    [`${domain}-kratos`]: {
      image: required(input, "kratos"),
      command: ["serve", "-c", `/etc/config/${domain}-kratos/kratos.yml`, "--watch-courier"],
      environment: {
        DSN: secret(`PG_${D}_KRATOS_DSN`),
        SECRETS_COOKIE: secret(`${D}_KRATOS_SECRET_COOKIE`),
        SECRETS_CIPHER: secret(`${D}_KRATOS_SECRET_CIPHER`),
        SERVE_PUBLIC_CORS_ALLOWED_ORIGINS: login,
        COURIER_SMTP_CONNECTION_URI: secret("SMTP_CONNECTION_URI"),
      },
      ports: [loopback(hostPorts.kratosPublic, ports.kratosPublic), loopback(hostPorts.kratosAdmin, ports.kratosAdmin)],
      volumes: [kratosConfig, tlsMount],
      networks: network,
      restart: "unless-stopped",
      healthcheck: httpHealth(ports.kratosPublic, "/health/ready"),
    },
    [`${domain}-hydra`]: {
      image: required(input, "hydra"),
      command: ["serve", "-c", `/etc/config/${domain}-hydra/hydra.yml`, "all"],
      environment: {
        DSN: secret(`PG_${D}_HYDRA_DSN`),
        URLS_SELF_ISSUER: issuer,
        URLS_LOGIN: `${login}/login`,
        URLS_CONSENT: `${login}/consent`,
        URLS_LOGOUT: `${login}/logout`,
        SECRETS_SYSTEM: secret(`${D}_HYDRA_SECRET_SYSTEM`),
        OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT: secret(`${D}_HYDRA_PAIRWISE_SALT`),
      },
      ports: [loopback(hostPorts.hydraPublic, ports.hydraPublic), loopback(hostPorts.hydraAdmin, ports.hydraAdmin)],
      volumes: [hydraConfig, tlsMount],
      networks: network,
      restart: "unless-stopped",
      healthcheck: httpHealth(ports.hydraPublic, "/health/ready"),
    },
  };
}

function appServices(input: ComposeInput, domain: IdentityDomain): Record<string, ComposeService> {
  const ports = oryPorts[domain];
  const D = upper(domain);
  const isCiam = domain === "ciam";
  const heraPort = isCiam ? 3000 : 4000;
  const athenaUrl = `https://${input.hostnames[isCiam ? "ciamAdmin" : "iamAdmin"]}`;
  const hydraPublicUrl = `https://${input.hostnames[isCiam ? "ciamOauth" : "iamOauth"]}`;
  const iamHydraPublicUrl = `https://${input.hostnames.iamOauth}`;
  const shared = {
    DATABASE_URL: secret("PG_OLYMPUS_DSN"),
    SETTINGS_TABLE: `${domain}_settings`,
    ENCRYPTION_KEY: secret("ENCRYPTION_KEY"),
    SESSION_SIGNING_KEY: secret("SESSION_SIGNING_KEY"),
    APP_INSTANCE: D,
    NEXT_PUBLIC_APP_INSTANCE: D,
  };
  return {
    [`${domain}-hera`]: {
      image: input.images.hera ?? "",
      environment: {
        ...shared,
        PORT: String(heraPort),
        HYDRA_ADMIN_URL: `http://${domain}-hydra:${ports.hydraAdmin}`,
        HYDRA_PUBLIC_URL: hydraPublicUrl,
        KRATOS_PUBLIC_URL: `http://${domain}-kratos:${ports.kratosPublic}`,
        KRATOS_ADMIN_URL: `http://${domain}-kratos:${ports.kratosAdmin}`,
        DEFAULT_OAUTH2_CLIENT_ID: isCiam ? "site-ciam-client" : "athena-iam-client",
        CAPTCHA_ENABLED: String(input.captcha.enabled),
        CAPTCHA_SITE_KEY: input.captcha.siteKey,
        CAPTCHA_SECRET_KEY: secret(`${D}_CAPTCHA_SECRET_KEY`),
        // Demo accounts bypass CAPTCHA and lockout; no environment of this project enables them.
        ALLOW_DEMO_ACCOUNTS: "false",
      },
      // DATABASE_URL verifies PostgreSQL's certificate against this CA (sslmode=verify-full).
      volumes: [tlsMount],
      networks: network,
      restart: "unless-stopped",
      healthcheck: httpHealth(heraPort, "/health"),
    },
    [`${domain}-athena`]: {
      image: input.images.athena ?? "",
      environment: {
        ...shared,
        NODE_ENV: "production",
        NEXT_PUBLIC_APP_URL: athenaUrl,
        KRATOS_ADMIN_URL: `http://${domain}-kratos:${ports.kratosAdmin}`,
        KRATOS_PUBLIC_URL: `http://${domain}-kratos:${ports.kratosPublic}`,
        HYDRA_PUBLIC_URL: `http://${domain}-hydra:${ports.hydraPublic}`,
        HYDRA_ADMIN_URL: `http://${domain}-hydra:${ports.hydraAdmin}`,
        IAM_KRATOS_PUBLIC_URL: `http://iam-kratos:${oryPorts.iam.kratosPublic}`,
        IAM_KRATOS_ADMIN_URL: `http://iam-kratos:${oryPorts.iam.kratosAdmin}`,
        IAM_HYDRA_PUBLIC_URL: `http://iam-hydra:${oryPorts.iam.hydraPublic}`,
        IAM_HYDRA_ADMIN_URL: `http://iam-hydra:${oryPorts.iam.hydraAdmin}`,
        NEXT_PUBLIC_IAM_HYDRA_PUBLIC_URL: iamHydraPublicUrl,
        NEXT_PUBLIC_AUTH_HYDRA_URL: iamHydraPublicUrl,
        AUTH_HYDRA_URL: `http://iam-hydra:${oryPorts.iam.hydraPublic}`,
        AUTH_HYDRA_ADMIN_URL: `http://iam-hydra:${oryPorts.iam.hydraAdmin}`,
        AUTH_KRATOS_ADMIN_URL: `http://iam-kratos:${oryPorts.iam.kratosAdmin}`,
        // Athena's CAPTCHA is display-only (fail-open) upstream; it stays off.
        CAPTCHA_ENABLED: "false",
        CAPTCHA_SITE_KEY: input.captcha.siteKey,
        OAUTH_CLIENT_ID: `athena-${domain}-client`,
        OAUTH_CLIENT_SECRET: secret(`ATHENA_${D}_OAUTH_CLIENT_SECRET`),
        ATHENA_INTERNAL_URL: `http://${domain}-athena:3000`,
        HERA_INTERNAL_URL: `http://${domain}-hera:${heraPort}`,
      },
      volumes: [tlsMount],
      networks: network,
      restart: "unless-stopped",
      healthcheck: httpHealth(3000, "/api/health", "30s"),
    },
  };
}

export function composeFile(input: ComposeInput): ComposeFile {
  const h = input.hostnames;
  const services: Record<string, ComposeService> = {
    postgres: {
      image: required(input, "postgres"),
      command: [
        "postgres",
        "-c",
        "ssl=on",
        "-c",
        "ssl_cert_file=/etc/postgres-tls/server.crt",
        "-c",
        "ssl_key_file=/etc/postgres-tls/server.key",
        "-c",
        "ssl_ca_file=/etc/postgres-tls/ca.crt",
        "-c",
        "hba_file=/etc/postgres-tls/pg_hba.conf",
        "-c",
        "ssl_min_protocol_version=TLSv1.3",
      ],
      environment: { POSTGRES_USER: secret("PG_USER"), POSTGRES_PASSWORD: secret("PG_PASSWORD") },
      // Loopback only: operators reach it over SSH (pg_dump for backups); containers use the network.
      ports: [loopback(5432, 5432)],
      volumes: [
        "postgres:/var/lib/postgresql",
        "./init-db.sql:/docker-entrypoint-initdb.d/10-init-db.sql:ro",
        // The directory, not its files: a renewed certificate replaces the files, and a single-file mount
        // would keep showing the old ones. The deploy reloads PostgreSQL to serve the new certificate.
        "./postgres:/etc/postgres-tls:ro",
      ],
      networks: network,
      restart: "unless-stopped",
      healthcheck: {
        test: ["CMD-SHELL", 'pg_isready -U "$${POSTGRES_USER}" -d postgres'],
        interval: "10s",
        timeout: "5s",
        start_period: "30s",
        retries: 5,
      },
    },
    ...oryServices(input, "ciam"),
    ...oryServices(input, "iam"),
    ...appServices(input, "ciam"),
    ...appServices(input, "iam"),
    site: {
      image: input.images.site ?? "",
      environment: {
        NODE_ENV: "production",
        NEXT_PUBLIC_APP_URL: `https://${h.site}`,
        NEXT_PUBLIC_CIAM_HYDRA_URL: `https://${h.ciamOauth}`,
        NEXT_PUBLIC_IAM_HYDRA_URL: `https://${h.iamOauth}`,
        NEXT_PUBLIC_CIAM_ATHENA_URL: `https://${h.ciamAdmin}`,
        NEXT_PUBLIC_IAM_ATHENA_URL: `https://${h.iamAdmin}`,
        CIAM_HYDRA_PUBLIC_URL: `http://ciam-hydra:${oryPorts.ciam.hydraPublic}`,
        IAM_HYDRA_PUBLIC_URL: `http://iam-hydra:${oryPorts.iam.hydraPublic}`,
        CIAM_HYDRA_ADMIN_URL: `http://ciam-hydra:${oryPorts.ciam.hydraAdmin}`,
        IAM_HYDRA_ADMIN_URL: `http://iam-hydra:${oryPorts.iam.hydraAdmin}`,
        CIAM_KRATOS_ADMIN_URL: `http://ciam-kratos:${oryPorts.ciam.kratosAdmin}`,
        IAM_KRATOS_ADMIN_URL: `http://iam-kratos:${oryPorts.iam.kratosAdmin}`,
        CIAM_CLIENT_ID: "site-ciam-client",
        CIAM_CLIENT_SECRET: secret("SITE_CIAM_CLIENT_SECRET"),
        IAM_CLIENT_ID: "site-iam-client",
        IAM_CLIENT_SECRET: secret("SITE_IAM_CLIENT_SECRET"),
      },
      networks: network,
      restart: "unless-stopped",
      healthcheck: httpHealth(3000, "/health"),
    },
    pgadmin: {
      image: input.images.pgadmin ?? "",
      environment: {
        PGADMIN_DEFAULT_EMAIL: `admin@${input.domain}`,
        // Required by the image to start; no one logs in with it (AUTHENTICATION_SOURCES is oauth2 only).
        PGADMIN_DEFAULT_PASSWORD: secret("ADMIN_PASSWORD"),
        PGADMIN_CONFIG_SERVER_MODE: "True",
        PGADMIN_CONFIG_MASTER_PASSWORD_REQUIRED: "False",
        PGADMIN_OAUTH_CLIENT_ID: pgadminClientId,
        PGADMIN_OAUTH_CLIENT_SECRET: secret("PGADMIN_OAUTH_CLIENT_SECRET"),
        IAM_HYDRA_PUBLIC_URL: `https://${h.iamOauth}`,
      },
      volumes: ["./pgadmin/config_local.py:/pgadmin4/config_local.py:ro"],
      // Never public: no Caddy site, loopback port only, reached with `ssh -L 5433:127.0.0.1:5433`.
      ports: [loopback(loopbackPorts.pgadmin, 80)],
      networks: network,
      restart: "unless-stopped",
    },
    caddy: {
      image: required(input, "caddy"),
      ports: ["80:80", "443:443", "443:443/udp"].map((port) => `${input.edgeAddress}:${port}`),
      // The directory, not the file: the deploy step replaces files, and Caddy reloads the new one in place.
      volumes: ["./caddy:/etc/caddy:ro", "caddy_data:/data", "caddy_config:/config"],
      networks: network,
      restart: "unless-stopped",
    },
  };
  // Left out where their image is (the UI apps and pgAdmin in the offline dev tier).
  for (const [service, definition] of Object.entries(services)) if (!definition.image) delete services[service];
  if (input.mailpit) {
    services[mailSandboxService] = {
      image: required(input, "mailpit"),
      command: ["--smtp", "0.0.0.0:1025", "--listen", "0.0.0.0:8025", "--disable-version-check", "--max", "5000"],
      // The UI and API have no authentication: loopback only, reached over an SSH tunnel.
      ports: [loopback(loopbackPorts.mailpitUi, 8025)],
      networks: network,
      restart: "unless-stopped",
      healthcheck: httpHealth(8025, "/readyz"),
    };
  }
  if (input.loginSimulation) {
    services[loginSimulatorService] = {
      image: required(input, "loginSimulator"),
      command: ["sh", "/etc/login-simulator/login-simulator.sh"],
      environment: {
        KRATOS_PUBLIC_URL: `http://ciam-kratos:${oryPorts.ciam.kratosPublic}`,
        SYNTHETIC_PASSWORD: secret("SYNTHETIC_PASSWORD"),
      },
      volumes: ["./login-simulator:/etc/login-simulator:ro"],
      networks: network,
      restart: "unless-stopped",
    };
  }
  for (const [service, definition] of Object.entries(services)) {
    // Caddy is not recreated for a new Caddyfile: the deploy step reloads it without dropping a connection.
    const read = (definition.volumes ?? [])
      .map((mount) => /^\.\/([^:/]+)/.exec(mount)?.[1])
      .filter((dir): dir is string => dir !== undefined && service !== "caddy" && dir in input.configDigests);
    if (read.length > 0)
      definition.labels = { "olympus.config-digest": read.map((dir) => input.configDigests[dir]).join(",") };
    // Last: the alias digests everything above, labels included (see releaseAliases).
    if (definition.profiles) continue;
    const release = createHash("sha256").update(JSON.stringify(definition)).digest("hex").slice(0, 12);
    definition.networks = { intranet: { aliases: [`${service}-${release}`] } };
  }
  // The project name is given on the command line (--project-name olympus) by the deploy script.
  return {
    "x-olympus": {
      environment: input.environment,
      leftOut: (Object.keys(appImages) as ImageName[]).filter((name) => !input.images[name]),
    },
    services,
    networks: { intranet: {} },
    volumes: Object.fromEntries(
      ["postgres", "caddy_data", "caddy_config"].map((volume) => [
        volume,
        // Named volumes live on the Hetzner volume, so data outlives the server.
        {
          driver: "local" as const,
          driver_opts: { type: "none" as const, o: "bind" as const, device: `${dataMountPath}/volumes/${volume}` },
        },
      ]),
    ),
  };
}

/**
 * The name Caddy dials each long-running service by: `<service>-<digest of its definition>`, so every
 * change that recreates a container also renames it. A release reloads Caddy onto the new names before
 * it stops any container: a replaced container gets no new request while it shuts down (a request sent
 * as its listener closes would be lost), and requests for it wait in Caddy until its successor answers.
 */
export function releaseAliases(file: ComposeFile): Record<string, string> {
  return Object.fromEntries(
    Object.entries(file.services).flatMap(([service, { networks }]) =>
      Array.isArray(networks) ? [] : [[service, networks.intranet.aliases[0]!]],
    ),
  );
}

/** Notes for an operator reading the deployed file, kept next to the settings they explain. */
const serviceNotes: Record<string, string> = {
  postgres:
    " Network clients must use TLS (pg_hba.conf: hostssl only); every DSN verifies the certificate against ca.crt (verify-full).",
  "ciam-hera":
    " No host port, on purpose: Hera is reached only through Caddy, whose per-IP rate limit a direct port would bypass.",
  "iam-hera": " No host port, on purpose: reached only through Caddy.",
  pgadmin:
    " Loopback only and OAuth2 through IAM Hydra only (config_local.py): no password login, no automatic user creation.",
  caddy:
    " The only service published beyond loopback. Rollback: every image is pinned in lib/versionTable.json; set Caddy's\n" +
    " tag back to an earlier sha-<commit> (each build of Olympus's Caddy publishes one) and deploy: Caddy is recreated,\n" +
    " every other service keeps running.",
};

/** The compose file as YAML, with the operator notes as comments. */
export function renderCompose(file: ComposeFile): string {
  const document = new Document(file);
  document.commentBefore =
    " Rendered by olympus-infra. Start it with olympus-deploy.sh up: phases in order, each healthy before the next.";
  const services = document.get("services", true) as YAMLMap<Scalar<string>, unknown>;
  for (const pair of services.items) {
    const note = serviceNotes[pair.key.value];
    if (note) pair.key.commentBefore = note;
  }
  return document.toString({ lineWidth: 0 });
}
