import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type BackupRepository, postgresDataDir, postgresMajor, stanza } from "../lib/backup";
import type { Environment } from "../lib/config/schema";
import { olympusDatabase, postgres } from "../lib/database";
import type { EdgeSettings } from "../lib/edge";
import type { MailSettings } from "../lib/mail";
import { monitoringUid } from "../lib/monitoring";
import { certificateNotAfter } from "../lib/postgresTls";
import {
  type DeploymentSecrets,
  podmanSecret,
  type SecretVariable,
  secretFormatProblems,
  secretsDigest,
  secretsDigestVariable,
  secretVariables,
} from "../lib/secrets";
import {
  adminHostUrl,
  afterPhase,
  beforePhase,
  services as catalogue,
  type DeployPhase,
  deployPhases,
  edgeConfigDirectory,
  edgePhase,
  edgeService,
  oauthClientSpecs,
  oneShotPhase,
  type Presences,
  routedPhases,
  servicesRunning,
} from "../lib/services";
import { hostnames, type PublicSite, composeProject as projectName } from "../lib/topology";
import type { ImageName } from "../lib/versions";
import { publicHealthChecks, publicHealthUrls, renderCaddyfile } from "./caddyfile";
import {
  type ComposeProject,
  composeProject,
  namedVolumeNames,
  namedVolumes,
  renderCompose,
  volumeDirectory,
} from "./compose";
import { environmentVariables, renderDotenv } from "./environment";
import { adminNetworkGuard, renderNftTable } from "./hostConfig";
import { renderIdentitySchemas } from "./identitySchemas";
import {
  alertDelivery,
  renderAlertmanagerConfig,
  renderBlackboxConfig,
  renderCertificateMetrics,
  renderPrometheusConfig,
  renderRules,
} from "./monitoring";
import { renderOryConfigs } from "./ory";
import { renderPgadminConfig } from "./pgadmin";
import { renderPgbackrestConf } from "./pgbackrest";
import { renderInitDb, renderPgHba, renderRoles, renderSettingsSql } from "./sql";

/** What decides the configuration files: config only, never a secret, so they are known at preview. */
export interface ConfigInput {
  stack: string;
  environment: Environment;
  domain: string;
  siteSubdomain: string;
  /** Images to run; services whose image is absent are left out. */
  images: Partial<Record<ImageName, string>>;
  mail: MailSettings;
  edge: EdgeSettings;
  /** Synthetic logins per hour (0 = no simulator) and the addresses it may use. */
  loginSimulation: { loginsPerHour: number; emails: string[] };
  /** Where PostgreSQL's backups go. */
  backup: BackupRepository;
}

/** Secrets and key material: generated per stack, so unknown until the stack's random resources exist. */
export interface SecretInput {
  mail: MailSettings;
  /** Who receives the environment's alerts; they leave by the same mail route as the couriers' mail. */
  alerting: { environment: Environment; recipients: string[] };
  /** Keys the deploy user accepts from now on (the deploy step keeps authorized_keys in sync); unset, left alone. */
  authorizedKeys?: string[];
  secrets: DeploymentSecrets;
}

export type DeploymentInput = ConfigInput & SecretInput;

export interface RenderedFile {
  content: string;
  /** Octal file mode on the host. */
  mode: "0600" | "0644" | "0755";
  /** Holds secret values: redacted by `npm run render` and never logged. */
  secret: boolean;
}

export type RenderedFiles = Record<string, RenderedFile>;

const asset = (name: string) => readFileSync(join(__dirname, "assets", name), "utf8");
const plain = (content: string, mode: RenderedFile["mode"] = "0644"): RenderedFile => ({
  content,
  mode,
  secret: false,
});
const secretFile = (content: string): RenderedFile => ({ content, mode: "0600", secret: true });

/** The tag of an image reference (repository:tag, optionally @digest). */
function imageTag(image: string | undefined): string {
  const tag = image?.split("@")[0]?.split(":").pop();
  if (!image || !tag)
    throw new Error(`no PostgreSQL image tag in ${image ?? "nothing"}: every environment runs PostgreSQL`);
  return tag;
}

/** Digest of each top-level directory (or file) of a file set, by its name. */
function directoryDigests(files: RenderedFiles): Record<string, string> {
  const hashes: Record<string, ReturnType<typeof createHash>> = {};
  for (const [path, file] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    const top = path.split("/")[0]!;
    hashes[top] ??= createHash("sha256");
    hashes[top].update(`${path}\0${file.content}\0`);
  }
  return Object.fromEntries(Object.entries(hashes).map(([top, hash]) => [top, hash.digest("hex").slice(0, 16)]));
}

/**
 * What the deploy script reads (deploy.json): the compose project's name, the directories its volumes
 * bind to, how to reach PostgreSQL and Caddy, and the phases in order with what runs after each. The
 * script keeps only the mechanics.
 */
export interface DeployPlan {
  project: string;
  /** Created before the first start (owned by the uid given, else root); the named volumes bind to them. */
  volumeDirectories: { path: string; owner?: number }[];
  /** Files only their reader's uid may read (mode 0600): the deploy hands each to that uid. */
  privateFiles: Record<string, number>;
  postgres: {
    service: string;
    user: string;
    uid: number;
    settingsDatabase: string;
    /** The major version the release runs, and its data directory on the host. */
    major: number;
    dataDirectory: string;
  };
  /** The service that runs pgBackRest's backups and restores, and the environment's stanza. */
  backup: { service: string; stanza: string };
  /** The edge: its service, the Caddyfile it starts with, the route of each phase (by phase) and its CA's root. */
  edge: { service: string; caddyfile: string; routes: Record<string, string>; rootCertificate: string };
  /** The service that mails alerts (reloaded when its secret configuration changes). */
  alerting: { service: string };
  /** SQL the deploy runs as the cluster's owner, by the step that runs it. */
  sql: { roles: string; settings: string };
  /** The podman secrets the services read, each from its file in the secret bundle. */
  podmanSecrets: { name: string; file: string }[];
  /** Each confidential OAuth2 client: its Hydra's admin API as the host reaches it, and its secret's file (set-client-secrets). */
  clientSecrets: { clientId: string; adminUrl: string; file: string }[];
  /** The host's guard of the admin network: the nftables file the deploy loads, and the table it makes. */
  adminNetworkGuard: { file: string; family: string; table: string };
  phases: { name: DeployPhase; services: string[]; oneShot: boolean; before: string[]; after: string[] }[];
}

/** A release as rendered: its files, and the facts the program derives from them (nothing parses a file back). */
export interface RenderedRelease {
  files: RenderedFiles;
  /** The services this environment runs, in the catalogue's order. */
  services: string[];
  /** The catalogue's services it does not run. */
  absentServices: string[];
  /** Images of the version table it runs without (no build of them where it runs). */
  leftOut: ImageName[];
  /** The name Caddy dials each long-running service by. */
  releaseAliases: Record<string, string>;
  plan: DeployPlan;
  /** Public URLs that answer when the release is healthy (health endpoints through Caddy). */
  publicHealthUrls: string[];
  /** The secret variables the running services read; renderSecretFiles writes exactly these. */
  secretVariables: SecretVariable[];
  /** Each service's secret variables by name: the .env holds a digest of each service's values. */
  serviceSecrets: Record<string, string[]>;
}

const backupService = "backup";
const alertmanagerService = "alertmanager";
const routeFile = (phase: DeployPhase) => `routes/${phase}.Caddyfile`;
const alertmanagerConfigFile = `${alertmanagerService}/alertmanager.yml`;
const sqlFiles = { roles: "postgres-roles.sql", settings: "olympus-settings.sql" };
const adminNetworkGuardFile = "admin-network.nft";
/** The OAuth2 clients that hold a secret (Athena's, public, has one its image reads but Hydra never checks). */
const confidentialClients = () => oauthClientSpecs().filter(({ client }) => !client.public);
/** Where the secret bundle puts each secret variable's value, in a file of its name. */
export const secretsDirectory = "secrets";
const postgresKeyFile = "postgres/server.key";

/** Files only one uid may read (mode 0600): PostgreSQL's key, Alertmanager's SMTP credentials. */
const privateFiles: Record<string, number> = {
  [postgresKeyFile]: postgres.uid,
  [alertmanagerConfigFile]: monitoringUid,
};

function deployPlan(project: ComposeProject, environment: Environment, major: number): DeployPlan {
  const running = project.services;
  return {
    project: projectName,
    podmanSecrets: project.secretVariables.map(({ name }) => ({
      name: podmanSecret(name),
      file: `${secretsDirectory}/${name}`,
    })),
    clientSecrets: confidentialClients().map(({ client }) => ({
      clientId: client.clientId,
      adminUrl: adminHostUrl(`${client.hydra}-hydra`),
      file: `${secretsDirectory}/${client.secretVariable}`,
    })),
    volumeDirectories: namedVolumeNames.map((volume) => {
      const { owner } = namedVolumes[volume] as { owner?: number };
      return { path: volumeDirectory(volume), ...(owner === undefined ? {} : { owner }) };
    }),
    privateFiles,
    postgres: {
      service: postgres.service,
      user: postgres.user,
      uid: postgres.uid,
      settingsDatabase: olympusDatabase,
      major,
      dataDirectory: `${volumeDirectory("postgres")}${postgresDataDir(major).slice("/var/lib/postgresql".length)}`,
    },
    backup: { service: backupService, stanza: stanza(environment) },
    alerting: { service: alertmanagerService },
    sql: sqlFiles,
    adminNetworkGuard: {
      file: adminNetworkGuardFile,
      family: adminNetworkGuard.family,
      table: adminNetworkGuard.name,
    },
    edge: {
      service: edgeService,
      caddyfile: `${edgeConfigDirectory}/Caddyfile`,
      routes: Object.fromEntries(
        [edgePhase, ...routedPhases].map((phase) => [phase, `${edgeConfigDirectory}/${routeFile(phase)}`]),
      ),
      rootCertificate: `${volumeDirectory("caddy_data")}/caddy/pki/authorities/local/root.crt`,
    },
    phases: deployPhases.map((phase) => ({
      name: phase,
      services: running.filter((service) => catalogue[service]!.phase === phase),
      oneShot: phase === oneShotPhase,
      before: beforePhase[phase] ?? [],
      after: afterPhase[phase] ?? [],
    })),
  };
}

/**
 * The compose project, Ory, Caddy and SQL configuration and the deploy script: identical in shape for
 * every stack. The dev tier alone publishes on loopback and takes certificates from Caddy's internal CA.
 */
export function renderConfigFiles(input: ConfigInput): RenderedRelease {
  const names = hostnames(input.domain, input.siteSubdomain);
  const url = (site: PublicSite) => `https://${names[site]}`;
  const simulate = input.loginSimulation.loginsPerHour > 0;
  const dev = input.environment === "dev";
  const presences: Presences = {
    images: input.images,
    mailSandbox: input.mail.mode === "mailpit",
    loginSimulation: simulate,
  };
  const { running, absent } = servicesRunning(presences);

  const mounted: RenderedFiles = {};
  for (const [path, content] of Object.entries(
    renderOryConfigs({
      ciam: {
        loginUrl: url("ciamLogin"),
        returnUrls: [url("ciamAdmin"), url("site")],
        fromAddress: input.mail.fromAddress,
      },
      iam: {
        loginUrl: url("iamLogin"),
        returnUrls: [url("iamAdmin"), url("site")],
        fromAddress: input.mail.fromAddress,
      },
    }),
  )) {
    mounted[path] = plain(content);
  }
  for (const [path, content] of Object.entries(renderIdentitySchemas())) mounted[path] = plain(content);
  mounted["init-db.sql"] = plain(renderInitDb());
  mounted["postgres/pg_hba.conf"] = plain(renderPgHba());
  mounted["pgadmin/config_local.py"] = plain(renderPgadminConfig({ iamHydraPublicUrl: url("iamOauth") }));
  mounted["pgbackrest/pgbackrest.conf"] = plain(
    renderPgbackrestConf({ environment: input.environment, repository: input.backup }),
  );
  if (input.backup.ca) mounted["pgbackrest/ca.crt"] = plain(input.backup.ca);
  mounted["backup/backup-scheduler.sh"] = plain(asset("backup-scheduler.sh"), "0755");
  const healthChecks = publicHealthChecks(names, absent);
  mounted["prometheus/prometheus.yml"] = plain(
    renderPrometheusConfig({
      environment: input.environment,
      running,
      probedSites: healthChecks,
    }),
  );
  mounted["prometheus/rules.yml"] = plain(renderRules(input.environment));
  mounted["blackbox/blackbox.yml"] = plain(renderBlackboxConfig(healthChecks));
  if (simulate) {
    mounted["login-simulator/login-simulator.sh"] = plain(asset("login-simulator.sh"), "0755");
    mounted["login-simulator/synthetic-emails.txt"] = plain(`${input.loginSimulation.emails.join("\n")}\n`);
    mounted["login-simulator/logins-per-hour"] = plain(`${input.loginSimulation.loginsPerHour}\n`);
  }

  const major = postgresMajor(imageTag(input.images.postgres));
  const project = composeProject({
    environment: input.environment,
    postgresMajor: major,
    ...presences,
    configDigests: directoryDigests(mounted),
    edgeAddress: dev ? "127.0.0.1" : "0.0.0.0",
    hostnames: names,
    domain: input.domain,
    captcha: input.edge.captcha,
  });
  const plan = deployPlan(project, input.environment, major);
  const caddyfileWith = (releaseAliases: Record<string, string>) =>
    renderCaddyfile({
      acmeEmail: input.mail.fromAddress,
      localCertificates: dev,
      absentServices: project.absentServices,
      hostnames: names,
      releaseAliases,
      rateLimits: input.edge.caddyZones,
    });
  // Each phase's route: the release aliases of its services and those before it; later ones by name.
  const routes = Object.fromEntries(
    [edgePhase, ...routedPhases].map((phase) => [
      `caddy/${routeFile(phase)}`,
      plain(
        caddyfileWith(
          Object.fromEntries(
            Object.entries(project.releaseAliases).filter(
              ([service]) => deployPhases.indexOf(catalogue[service]!.phase) <= deployPhases.indexOf(phase),
            ),
          ),
        ),
      ),
    ]),
  );
  return {
    files: {
      ...mounted,
      "compose.yml": plain(renderCompose(project.file)),
      // What Caddy starts with (a restart, a reboot): every service by its name, which whatever container
      // runs answers; release aliases end with a .env variable that only the deploy's reloads hand Caddy.
      "caddy/Caddyfile": plain(caddyfileWith({})),
      ...routes,
      [sqlFiles.settings]: plain(renderSettingsSql(input.edge.sdkSettings, "security")),
      [adminNetworkGuardFile]: plain(renderNftTable(adminNetworkGuard)),
      "deploy.json": plain(`${JSON.stringify(plan, null, 2)}\n`),
      "olympus-deploy.sh": plain(asset("olympus-deploy.sh"), "0755"),
    },
    services: project.services,
    absentServices: project.absentServices,
    leftOut: project.file["x-olympus"].leftOut,
    releaseAliases: project.releaseAliases,
    plan,
    publicHealthUrls: publicHealthUrls(names, project.absentServices),
    secretVariables: project.secretVariables,
    serviceSecrets: project.serviceSecrets,
  };
}

/**
 * The services' secrets, one file per variable (the deploy makes each a podman secret), the .env with
 * each service's secrets digest, the PostgreSQL TLS material and the deploy user's keys.
 */
export function renderSecretFiles(
  input: SecretInput,
  release: Pick<RenderedRelease, "secretVariables" | "serviceSecrets">,
): RenderedFiles {
  const problems = secretFormatProblems(input.secrets);
  if (problems.length > 0) throw new Error(`generated secrets are malformed: ${problems.join("; ")}`);
  const secrets = { ...input.secrets, smtpUri: input.mail.sandboxUri ?? input.secrets.smtpUri };
  // Every confidential client's secret, whether or not its service runs here: Hydra is given each one.
  const values = environmentVariables(secrets, [
    ...release.secretVariables,
    ...confidentialClients().map(({ client }) =>
      secretVariables.oauthClientSecret(client.secretVariable, client.clientId),
    ),
  ]);
  const digests = Object.fromEntries(
    Object.entries(release.serviceSecrets).map(([service, names]) => [
      secretsDigestVariable(service),
      secretsDigest(secrets.encryptionKey, Object.fromEntries(names.map((name) => [name, values[name] ?? ""]))),
    ]),
  );
  return {
    ".env": secretFile(renderDotenv(digests)),
    ...Object.fromEntries(
      Object.entries(values).map(([name, value]) => [`${secretsDirectory}/${name}`, secretFile(value)]),
    ),
    ...(input.authorizedKeys ? { authorized_keys: plain(`${input.authorizedKeys.join("\n")}\n`, "0600") } : {}),
    [`${postgres.caDirectory.project}/ca.crt`]: plain(input.secrets.postgresTls.caCertificate),
    "postgres/server.crt": plain(input.secrets.postgresTls.serverCertificate),
    [postgresKeyFile]: secretFile(input.secrets.postgresTls.serverKey),
    // The roles' passwords: psql reads the file on stdin after PostgreSQL is healthy.
    [sqlFiles.roles]: secretFile(renderRoles(input.secrets.rolePasswords)),
    // Where mail goes, with the provider's credentials in prod.
    [alertmanagerConfigFile]: secretFile(
      renderAlertmanagerConfig(alertDelivery(secrets.smtpUri, { ...input.alerting, from: input.mail.fromAddress })),
    ),
    "metrics/certificates.prom": plain(
      renderCertificateMetrics({
        postgres: certificateNotAfter(input.secrets.postgresTls.serverCertificate),
        "postgres-ca": certificateNotAfter(input.secrets.postgresTls.caCertificate),
      }),
    ),
  };
}

/** Every file the deploy step installs on the host, keyed by path under the compose project directory. */
export function renderDeployment(input: DeploymentInput): RenderedFiles {
  const release = renderConfigFiles(input);
  return { ...release.files, ...renderSecretFiles(input, release) };
}

/** One line per file for the deploy script's `install`: path, mode and base64 content, tab-separated. */
export function bundleFiles(files: RenderedFiles): string {
  return `${Object.entries(files)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, file]) => `${path}\t${file.mode}\t${Buffer.from(file.content).toString("base64")}`)
    .join("\n")}\n`;
}

/**
 * What was deployed, as one hash: every file (secret ones included, so a rotated secret counts as a
 * release) and every image. Keys the soak gate and the `up` step so they run once per release.
 */
export function releaseFingerprint(files: RenderedFiles, images: Record<string, string>): string {
  const hash = createHash("sha256");
  for (const [path, file] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b)))
    hash.update(`${path}\0${file.mode}\0${file.content}\0`);
  for (const [name, image] of Object.entries(images).sort(([a], [b]) => a.localeCompare(b)))
    hash.update(`${name}\0${image}\0`);
  return hash.digest("hex");
}
