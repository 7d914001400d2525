import { createHash } from "node:crypto";
import { Document, type Scalar, type YAMLMap } from "yaml";
import type { Environment } from "../lib/config/schema";
import { postgres } from "../lib/database";
import { monitoringUid } from "../lib/monitoring";
import { podmanSecret, type SecretVariable, secretsDigestVariable } from "../lib/secrets";
import {
  adminAddress,
  adminAlias,
  adminNetwork,
  services as catalogue,
  type EnvValue,
  type HealthCheck,
  oneShotPhase,
  type Presences,
  runs,
  type Service,
  type ServiceContext,
} from "../lib/services";
import { dataMountPath } from "../lib/topology";
import type { ImageName } from "../lib/versions";

/** The subset of the Compose Specification this project writes. */
export interface ComposeService {
  image: string;
  command?: string[];
  user?: string;
  environment?: Record<string, string>;
  /** Its secret variables, from podman secrets: their values never pass through a command line. */
  secrets?: { source: string; type: "env"; target: string }[];
  ports?: string[];
  volumes?: string[];
  /**
   * The intranet; a long-running service also answers there on its release alias (releaseAliases). The
   * Ory services and their callers also join the admin network (lib/services.ts adminNetwork).
   */
  networks: string[] | Record<string, NetworkAttachment>;
  restart?: "unless-stopped" | "no";
  stop_grace_period?: string;
  healthcheck?: { test: string[]; interval: string; timeout: string; start_period: string; retries: number };
  labels?: Record<string, string>;
  profiles?: string[];
}

/** A service's place on one network: its extra names there and, for an admin API, its fixed address. */
export interface NetworkAttachment {
  aliases?: string[];
  ipv4_address?: string;
}

export interface ComposeFile {
  /** Which environment the project belongs to, for operators and the policy pack (an extension field compose ignores). */
  "x-olympus": { environment: Environment; leftOut: ImageName[] };
  services: Record<string, ComposeService>;
  networks: Record<string, { ipam?: { config: { subnet: string }[] } }>;
  /** The podman secrets the deploy creates from the secret bundle before anything starts (see podmanSecret). */
  secrets: Record<string, { external: true }>;
  volumes: Record<string, { driver: "local"; driver_opts?: { type: "none"; o: "bind"; device: string } }>;
}

export interface ComposeInput extends ServiceContext, Presences {
  environment: Environment;
  /** Digest of each configuration directory a service mounts: a changed file recreates exactly its readers. */
  configDigests: Record<string, string>;
}

/** The compose project and what the rest of a release derives from it, so nothing parses the file back. */
export interface ComposeProject {
  file: ComposeFile;
  /** The services this environment runs, in the catalogue's order. */
  services: string[];
  /** The catalogue's services it does not run. */
  absentServices: string[];
  /** The name Caddy dials each long-running service by, as the Caddyfile writes it (see releaseAliases). */
  releaseAliases: Record<string, string>;
  /** The secret variables the running services read. */
  secretVariables: SecretVariable[];
  /** Each service's secret variables by name, which its secrets digest covers (see secretsDigestVariable). */
  serviceSecrets: Record<string, string[]>;
}

/**
 * The named volumes that hold data: they live on the Hetzner volume, so data outlives the server. The
 * owner is the uid of a service that runs as its own user from the start (the others' images set up
 * their directories as root); the deploy creates each directory with it.
 */
export const namedVolumes = {
  postgres: {},
  caddy_data: {},
  caddy_config: {},
  prometheus: { owner: monitoringUid },
  alertmanager: { owner: monitoringUid },
  /** The backup service writes its metrics here; node_exporter reads them. */
  metrics: { owner: postgres.uid },
} satisfies Record<string, { owner?: number }>;
export type NamedVolume = keyof typeof namedVolumes;
export const namedVolumeNames = Object.keys(namedVolumes) as NamedVolume[];
export const volumeDirectory = (volume: NamedVolume) => `${dataMountPath}/volumes/${volume}`;
/** Volumes that only pass something between containers (PostgreSQL's socket): podman keeps them, nothing persists. */
export const scratchVolumes = ["postgres_run"] as const;

/** One network list object for every one-shot service (the YAML writes it once, with an anchor). */
const intranet = ["intranet"];

/** `${VAR:?}` makes compose refuse to start a service whose .env variable is missing, instead of passing "". */
const interpolated = (name: string) => `\${${name}:?${name} must be set in .env}`;

/** A service's secret variables (by the name the container reads them as), and its plain ones. */
function splitEnvironment(environment: Record<string, EnvValue>) {
  const entries = Object.entries(environment);
  return {
    plain: Object.fromEntries(entries.filter((entry): entry is [string, string] => typeof entry[1] === "string")),
    secret: entries.filter((entry): entry is [string, SecretVariable] => typeof entry[1] !== "string"),
  };
}

function healthcheck(entry: Service, health: HealthCheck): ComposeService["healthcheck"] {
  const command =
    "http" in health
      ? `wget --spider --quiet http://localhost:${entry.ports?.[health.http.port]}${health.http.path} || exit 1`
      : health.command;
  return {
    test: ["CMD-SHELL", command],
    interval: health.interval ?? "15s",
    timeout: "5s",
    start_period: health.startPeriod ?? "20s",
    retries: health.retries ?? 3,
  };
}

function composeService(name: string, entry: Service, image: string, context: ServiceContext): ComposeService {
  const container = entry.container(context);
  const oneShot = entry.phase === oneShotPhase;
  const { plain, secret } = splitEnvironment(container.environment ?? {});
  const ports = [
    ...Object.entries(entry.loopback ?? {}).map(
      ([name, hostPort]) => `127.0.0.1:${hostPort}:${entry.ports?.[name] ?? hostPort}`,
    ),
    ...(container.ports ?? []),
  ];
  // See lib/services.ts adminNetwork: the host reaches a member at its address there instead.
  if (entry.admin && ports.length > 0)
    throw new Error(`${name}: a service on the admin network publishes no port (it publishes ${ports.join(", ")})`);
  return {
    image,
    ...(container.command ? { command: container.command } : {}),
    ...(container.user ? { user: container.user } : {}),
    ...(Object.keys(plain).length > 0 ? { environment: plain } : {}),
    ...(secret.length > 0
      ? {
          secrets: secret.map(([target, variable]) => ({
            source: podmanSecret(variable.name),
            type: "env" as const,
            target,
          })),
        }
      : {}),
    ...(ports.length > 0 ? { ports } : {}),
    ...(container.volumes ? { volumes: container.volumes } : {}),
    networks: intranet,
    restart: oneShot ? "no" : "unless-stopped",
    ...(entry.stopGracePeriod ? { stop_grace_period: entry.stopGracePeriod } : {}),
    ...(entry.health ? { healthcheck: healthcheck(entry, entry.health) } : {}),
    ...(oneShot ? { profiles: [oneShotPhase] } : {}),
  };
}

/**
 * The compose project of an environment: the catalogue's services that it runs, each recreated exactly
 * when its definition or a configuration directory it mounts changes, and renamed (release alias) then.
 */
export function composeProject(input: ComposeInput): ComposeProject {
  const services: Record<string, ComposeService> = {};
  const absentServices: string[] = [];
  const leftOut: ImageName[] = [];
  const secretVariables = new Map<string, SecretVariable>();
  const serviceSecrets: Record<string, string[]> = {};
  for (const [name, entry] of Object.entries(catalogue)) {
    const image = input.images[entry.image];
    if (!runs(entry, input)) {
      absentServices.push(name);
      if (entry.presence === "where-built" && !leftOut.includes(entry.image)) leftOut.push(entry.image);
      continue;
    }
    if (!image) throw new Error(`no image for ${entry.image}: every environment runs ${name}`);
    services[name] = composeService(name, entry, image, input);
    const { secret } = splitEnvironment(entry.container(input).environment ?? {});
    for (const [, variable] of secret) secretVariables.set(variable.name, variable);
    if (secret.length > 0) serviceSecrets[name] = [...new Set(secret.map(([, variable]) => variable.name))].sort();
  }
  for (const [name, definition] of Object.entries(services)) {
    // Caddy is not recreated for a new Caddyfile: the deploy step reloads it without dropping a connection.
    const read = catalogue[name]!.reloadsConfiguration
      ? []
      : (definition.volumes ?? [])
          .map((mount) => /^\.\/([^:/]+)/.exec(mount)?.[1])
          .filter((dir): dir is string => dir !== undefined && dir in input.configDigests);
    const digestVariable = serviceSecrets[name] ? secretsDigestVariable(name) : undefined;
    definition.labels = {
      ...(read.length > 0 ? { "olympus.config-digest": read.map((dir) => input.configDigests[dir]).join(",") } : {}),
      // A changed secret changes this label, so compose recreates the service, under a new alias (below).
      ...(digestVariable ? { "olympus.secrets-digest": interpolated(digestVariable) } : {}),
    };
    if (Object.keys(definition.labels).length === 0) delete definition.labels;
    if (definition.profiles) continue;
    const entry = catalogue[name]!;
    const admin: Record<string, NetworkAttachment> = entry.admin
      ? {
          [adminNetwork.name]: {
            ipv4_address: adminAddress(name),
            ...(entry.admin.api ? { aliases: [adminAlias(name)] } : {}),
          },
        }
      : {};
    definition.networks = { ...admin, intranet: {} };
    // Last: the alias digests everything above, labels and networks included, and ends with the digest
    // of the service's secrets, which the .env gives (see releaseAliases).
    const release = createHash("sha256").update(JSON.stringify(definition)).digest("hex").slice(0, 12);
    const alias = `${name}-${release}${digestVariable ? `-${interpolated(digestVariable)}` : ""}`;
    definition.networks = { ...admin, intranet: { aliases: [alias] } };
  }
  // The project name is given on the command line (--project-name) by the deploy script.
  const file: ComposeFile = {
    "x-olympus": { environment: input.environment, leftOut },
    services,
    networks: { intranet: {}, [adminNetwork.name]: { ipam: { config: [{ subnet: adminNetwork.subnet }] } } },
    secrets: Object.fromEntries(
      [...secretVariables.keys()].sort().map((variable) => [podmanSecret(variable), { external: true as const }]),
    ),
    volumes: {
      ...Object.fromEntries(
        namedVolumeNames.map((volume) => [
          volume,
          {
            driver: "local" as const,
            driver_opts: { type: "none" as const, o: "bind" as const, device: volumeDirectory(volume) },
          },
        ]),
      ),
      ...Object.fromEntries(scratchVolumes.map((volume) => [volume, { driver: "local" as const }])),
    },
  };
  return {
    file,
    services: Object.keys(services),
    absentServices,
    releaseAliases: edgeAliases(file),
    secretVariables: [...secretVariables.values()],
    serviceSecrets,
  };
}

/** The release aliases as the Caddyfile writes them: a .env variable as `{$NAME}` (the deploy's reloads hand Caddy the .env). */
export function edgeAliases(file: ComposeFile): Record<string, string> {
  return Object.fromEntries(
    Object.entries(releaseAliases(file)).map(([service, alias]) => [
      service,
      alias.replace(/\$\{([A-Z0-9_]+):\?[^}]*\}/g, "{$$$1}"),
    ]),
  );
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
      Array.isArray(networks) ? [] : [[service, networks.intranet!.aliases![0]!]],
    ),
  );
}

/**
 * The compose file as YAML, with each service's operator note as a comment. Written as YAML 1.1, which
 * podman-compose's parser (PyYAML) reads: scalars such as 02:15 (a number there) or no (a boolean) are quoted.
 */
export function renderCompose(file: ComposeFile): string {
  const document = new Document(file, { version: "1.1" });
  document.commentBefore =
    " Rendered by olympus-infra. Start it with olympus-deploy.sh up: phases in order, each healthy before the next.";
  const services = document.get("services", true) as YAMLMap<Scalar<string>, unknown>;
  for (const pair of services.items) {
    const note = catalogue[pair.key.value]?.note;
    if (note) pair.key.commentBefore = note;
  }
  return document.toString({ lineWidth: 0 });
}
