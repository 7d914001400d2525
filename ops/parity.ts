import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";
import { syntheticEmails, syntheticPlan } from "../clients/identities";
import { crossStackRules } from "../lib/config/rules";
import { type PlainConfig, type SecretName, type StackConfig, secretKeys } from "../lib/config/schema";
import { roleNames } from "../lib/database";
import { edgeSettings } from "../lib/edge";
import { mailSettings } from "../lib/mail";
import { oauthClientIds } from "../lib/oauthClients";
import { postgresTlsFromSeeds } from "../lib/postgresTls";
import type { DeploymentSecrets } from "../lib/secrets";
import { deployedImages, type ImageName, localBuilds, serviceImages } from "../lib/versions";
import {
  type ConfigInput,
  type RenderedFiles,
  type RenderedRelease,
  renderConfigFiles,
  renderDeployment,
} from "../render/deployment";

/**
 * The differences staging and prod may have. Everything else (versions, topology, TLS, headers,
 * backups of data, monitoring) must be identical by construction.
 */
export const sanctionedKeys = [
  "environment",
  "domain",
  "serverType",
  "protect",
  "backups",
  "sleepSchedule",
  "rateLimits",
  "mail",
  "seeding",
  "loginSimulation",
  "soak",
  "stagedRollout",
  // Where the backup repository is; how it is used (schedule, retention, encryption) is lib/backup.ts's.
  "backup",
  // Who is mailed the alerts; what alerts, and when, is lib/monitoring.ts's.
  "alerts",
  // Rotations happen in staging first, so the counts differ for a while.
  "hydraSystemRotations",
] as const satisfies readonly (keyof PlainConfig)[];

export interface ParityRow {
  key: string;
  staging: string;
  prod: string;
}

export interface ParityReport {
  ok: boolean;
  problems: string[];
  /** Sanctioned differences, key by key; secrets show only whether they differ. */
  differences: ParityRow[];
  /** Rendered files whose content differs between the stacks (all explained by sanctioned keys). */
  differingFiles: string[];
  /** What both stacks monitor and alert on, when it is the same (a difference is a problem). */
  monitoring: { rules: string[]; scrapeJobs: string[] };
}

function flatten(value: unknown, prefix: string, into: Map<string, unknown>): Map<string, unknown> {
  if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value)) flatten(child, prefix ? `${prefix}.${key}` : key, into);
  } else {
    into.set(prefix, value);
  }
  return into;
}

const plainPart = (config: StackConfig): PlainConfig => {
  const { stack: _stack, secrets: _secrets, ...plain } = config;
  return plain;
};

const isSanctioned = (path: string) => sanctionedKeys.some((key) => path === key || path.startsWith(`${key}.`));
const show = (value: unknown) => (value === undefined ? "(unset)" : JSON.stringify(value));

/** Fixed stand-ins in valid formats, identical for both stacks, so only config can change the files. */
async function placeholderSecrets(): Promise<DeploymentSecrets> {
  const hex = "0".repeat(64);
  const base64 = Buffer.alloc(32, 7).toString("base64");
  const ory = { kratosCookie: hex, kratosCipher: "c".repeat(32), hydraSystem: [hex], hydraPairwiseSalt: hex };
  return {
    postgresPassword: "p".repeat(40),
    ory: { ciam: ory, iam: ory },
    encryptionKey: base64,
    sessionSigningKey: Buffer.alloc(32, 9).toString("base64"),
    oauthClients: Object.fromEntries(oauthClientIds.map((id) => [id, "a".repeat(48)])),
    adminPassword: "a".repeat(32),
    rolePasswords: Object.fromEntries(
      roleNames.map((role) => [role, "r".repeat(48)]),
    ) as DeploymentSecrets["rolePasswords"],
    smtpUri: "smtp://redacted",
    captchaSecretKey: "redacted",
    syntheticPassword: "redacted",
    postgresTls: await postgresTlsFromSeeds(
      Buffer.alloc(32, 1).toString("base64"),
      Buffer.alloc(32, 2).toString("base64"),
      2026,
    ),
    backup: { accessKeyId: "redacted", secretAccessKey: "redacted", passphrase: "b".repeat(64) },
  };
}

/** The input a stack's release is rendered from, from its config alone. */
function configInput(config: PlainConfig, stack: string): ConfigInput {
  const plan = syntheticPlan({ ...config, stack });
  return {
    stack,
    environment: config.environment,
    domain: config.domain,
    siteSubdomain: config.siteSubdomain,
    images: deployedImages(config.stagedRollout, config.imageSource).images,
    mail: mailSettings(config.mail, config.domain),
    edge: edgeSettings(config.rateLimits),
    loginSimulation: {
      loginsPerHour: config.loginSimulation.loginsPerHour,
      emails: config.loginSimulation.loginsPerHour > 0 ? syntheticEmails(plan, config.seeding.count) : [],
    },
    backup: {
      endpoint: config.backup.endpoint,
      region: config.backup.region,
      bucket: config.backup.bucket,
      // The CA is a file of the machine that deploys (the dev tier's); from config alone, its stand-in.
      ca: config.backup.caFile ? placeholderCa : null,
    },
  };
}

const placeholderCa = "-----BEGIN CERTIFICATE-----\n<the CA in backup.caFile>\n-----END CERTIFICATE-----\n";

/** A stack's release as its config renders it: the configuration files and the facts they decide. */
export function releaseForConfig(config: PlainConfig, stack: string): RenderedRelease {
  return renderConfigFiles(configInput(config, stack));
}

/** The files a stack deploys, rendered from its config alone (placeholder secrets, fixed keys). */
export async function renderForConfig(config: PlainConfig, stack: string): Promise<RenderedFiles> {
  return renderDeployment({
    ...configInput(config, stack),
    authorizedKeys: config.adminSshPublicKeys,
    alerting: { environment: config.environment, recipients: config.alerts.recipients },
    secrets: await placeholderSecrets(),
  });
}

/**
 * Compares the configuration both stacks derive, key by key, and the files they would deploy. Fails
 * when the key sets differ, a key outside the sanctioned list differs, a secret value is shared, prod
 * is looser than staging, or a rendered file differs in a way no sanctioned key explains.
 */
export async function checkParity(staging: StackConfig, prod: StackConfig): Promise<ParityReport> {
  const problems: string[] = [];
  const differences: ParityRow[] = [];
  const stagingKeys = flatten(plainPart(staging), "", new Map());
  const prodKeys = flatten(plainPart(prod), "", new Map());

  for (const key of new Set([...stagingKeys.keys(), ...prodKeys.keys()])) {
    const inStaging = stagingKeys.has(key);
    const inProd = prodKeys.has(key);
    const a = stagingKeys.get(key);
    const b = prodKeys.get(key);
    if (inStaging !== inProd && !isSanctioned(key)) {
      problems.push(`key ${key} exists only in ${inStaging ? "staging" : "prod"}`);
      continue;
    }
    if (isDeepStrictEqual(a, b)) continue;
    if (isSanctioned(key)) differences.push({ key, staging: show(a), prod: show(b) });
    else problems.push(`${key} differs but is not a sanctioned difference: staging ${show(a)}, prod ${show(b)}`);
  }

  for (const name of Object.keys(secretKeys) as SecretName[]) {
    const a = staging.secrets[name];
    const b = prod.secrets[name];
    if (a === undefined && b === undefined) continue;
    if (a !== undefined && a === b)
      problems.push(`secret ${secretKeys[name]} has the same value in staging and prod; secrets are never shared`);
    else
      differences.push({
        key: secretKeys[name],
        staging: a === undefined ? "(unset)" : "differs",
        prod: b === undefined ? "(unset)" : "differs",
      });
  }

  problems.push(...crossStackRules(plainPart(staging), plainPart(prod)));

  const stagingFiles = await renderForConfig(plainPart(staging), staging.stack);
  const prodFiles = await renderForConfig(plainPart(prod), prod.stack);
  // Prod with staging's sanctioned values must render exactly staging's files: then every difference
  // between the two stacks' files comes from a sanctioned key.
  const counterfactual: PlainConfig = { ...plainPart(prod) };
  for (const key of sanctionedKeys) (counterfactual as Record<string, unknown>)[key] = plainPart(staging)[key];
  const explained = await renderForConfig(counterfactual, staging.stack);
  for (const path of new Set([...Object.keys(stagingFiles), ...Object.keys(explained)])) {
    if (stagingFiles[path]?.content !== explained[path]?.content)
      problems.push(`rendered file ${path} differs between the stacks beyond the sanctioned keys`);
  }
  const differingFiles = [...new Set([...Object.keys(stagingFiles), ...Object.keys(prodFiles)])]
    .filter((path) => stagingFiles[path]?.content !== prodFiles[path]?.content)
    .sort();

  const monitoring = monitoringOf(stagingFiles);
  if (!isDeepStrictEqual(monitoring, monitoringOf(prodFiles, prod.domain, staging.domain)))
    problems.push(
      "the monitoring differs between the stacks (alert rules, thresholds or scrape jobs); staging's alerts must rehearse prod's",
    );
  return { ok: problems.length === 0, problems, differences, differingFiles, monitoring };
}

/**
 * The alert rules (name, expression, duration) and the scrape jobs a stack's files configure, its
 * domain written as staging's so the sites' probes compare.
 */
function monitoringOf(files: RenderedFiles, domain?: string, asDomain?: string): ParityReport["monitoring"] {
  const read = (path: string) => parse(files[path]?.content ?? "{}");
  const rules = (read("prometheus/rules.yml").groups ?? []).flatMap(
    (group: { rules: { alert: string; expr: string; for: string }[] }) =>
      group.rules.map((rule) => `${rule.alert} (for ${rule.for}): ${rule.expr}`),
  );
  const scrapeJobs = (read("prometheus/prometheus.yml").scrape_configs ?? []).map((job: { job_name: string }) =>
    domain && asDomain ? job.job_name.replace(domain, asDomain) : job.job_name,
  );
  return { rules, scrapeJobs };
}

export function formatParityTable(rows: ParityRow[]): string {
  const header: ParityRow = { key: "key", staging: "staging", prod: "prod" };
  const all = [header, ...rows];
  const width = (column: keyof ParityRow) => Math.max(...all.map((row) => row[column].length));
  const line = (row: ParityRow) =>
    `| ${row.key.padEnd(width("key"))} | ${row.staging.padEnd(width("staging"))} | ${row.prod.padEnd(width("prod"))} |`;
  return [
    line(header),
    `|${"-".repeat(width("key") + 2)}|${"-".repeat(width("staging") + 2)}|${"-".repeat(width("prod") + 2)}|`,
    ...rows.map(line),
  ].join("\n");
}

/**
 * What a stack runs instead of the version table, for the parity report: nothing for staging and prod;
 * for the offline dev tier, each local build beside the image it stands in for, and what is left out.
 */
export function imageSourceReport(stack: string, config: PlainConfig): string[] {
  if (config.imageSource === "registry") return [`${stack}: the version table's images`];
  const { images, leftOut } = deployedImages(config.stagedRollout, config.imageSource);
  return [
    `${stack}: images built on its host, not the registries' (imageSource local-build):`,
    ...(Object.entries(images) as [ImageName, string][]).map(
      ([name, image]) =>
        `  ${name}: ${image} (${localBuilds[name]!.builtFrom}) for ${serviceImages[name].repository}:${serviceImages[name].tag}`,
    ),
    `  left out, no image can be built there: ${leftOut.join(", ") || "nothing"}`,
  ];
}

/**
 * Where a deployed host's configuration (what its host-config step last applied, the stack's
 * `hostConfiguration` output) differs from what the code renders: a server that is never replaced
 * falls behind until its next `pulumi up`. An empty list means every stack runs the rendered one.
 */
export function hostConfigurationDrift(deployed: Record<string, unknown>, rendered: string): string[] {
  return Object.entries(deployed).flatMap(([stack, applied]) => {
    if (typeof applied !== "string") return [];
    if (applied === rendered) return [];
    return [
      `${stack}: its host runs host configuration ${applied}, the code renders ${rendered}; pulumi up --stack ${stack} applies it without replacing the server`,
    ];
  });
}
