// @ts-check
/**
 * The project's guardrails as policies. They import nothing from the program: they read what the
 * resources declare (firewall rules, protection, the configuration the deploy step installs) and the
 * version table as data, so they hold when a component is changed, a resource is added by hand or a
 * config check is bypassed. Every value they read is known at preview, so they run on PR previews.
 */
const { parse } = require("yaml");
const versionTable = require("../lib/versionTable.json");

/** @typedef {import("@pulumi/policy").ResourceValidationPolicy} ResourceValidationPolicy */
/** @typedef {import("@pulumi/policy").StackValidationPolicy} StackValidationPolicy */
/** @typedef {{ type: string; name: string; urn: string; props: Record<string, any> }} Resource */
/** @typedef {{ repository: string; tag: string; digest?: string }} Pin */

/** Ports the world may reach; everything else is closed, SSH only to named admin networks. */
const publicPorts = new Set(["tcp/80", "tcp/443", "udp/443"]);

/** @param {string} cidr */
const isWorldCidr = (cidr) => /\/0$/.test(cidr.trim());

/** Stack name from a URN: urn:pulumi:<stack>::<project>::... @param {string} urn */
const stackOf = (urn) => urn.split(":")[2]?.split("::")[0];

/**
 * Whether a resource belongs to a prod environment: its labels or inputs say so, or the stack is named prod.
 * @param {Resource} resource
 */
function isProd(resource) {
  return (
    resource.props.labels?.env === "prod" || resource.props.environment === "prod" || stackOf(resource.urn) === "prod"
  );
}

/** @type {ResourceValidationPolicy} */
const firewallExposure = {
  name: "firewall-exposure",
  description: "Inbound rules open only 80/443 tcp and 443 udp to the world, and 22/tcp to admin networks only.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== "hcloud:index/firewall:Firewall") return;
    /** @type {{ direction: string; protocol: string; port?: string; sourceIps?: string[] }[]} */
    const rules = args.props.rules ?? [];
    for (const rule of rules) {
      if (rule.direction !== "in") continue;
      const key = `${rule.protocol}/${rule.port ?? "any"}`;
      const sources = rule.sourceIps ?? [];
      if (publicPorts.has(key)) continue;
      if (key === "tcp/22" && sources.length > 0 && !sources.some(isWorldCidr)) continue;
      reportViolation(
        `inbound ${key} from ${sources.join(", ") || "nowhere"} is not allowed: only 80/443 tcp and 443 udp may be public, and 22/tcp only from admin networks`,
      );
    }
  },
};

const protectedInProd = [
  "hcloud:index/server:Server",
  "hcloud:index/primaryIp:PrimaryIp",
  "hcloud:index/volume:Volume",
  "hcloud:index/zone:Zone",
];

/** @type {StackValidationPolicy} */
const prodProtection = {
  name: "prod-protection",
  description:
    "Prod's server, primary IPs, volume and DNS zone are protected (Pulumi protect and Hetzner delete protection).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    for (const resource of args.resources) {
      if (!protectedInProd.includes(resource.type) || !isProd(resource)) continue;
      if (!resource.opts.protect)
        reportViolation(`${resource.name} (${resource.type}) is not protected (Pulumi protect)`, resource.urn);
      if (resource.props.deleteProtection !== true)
        reportViolation(`${resource.name} (${resource.type}) has no Hetzner delete protection`, resource.urn);
    }
  },
};

/**
 * What a deploy step installs: the environment and images of the compose file in its configuration
 * bundle (stdin, one `path<TAB>mode<TAB>base64` line per file).
 * @param {Resource} resource
 * @returns {{ environment?: string; images: Record<string, string> } | undefined}
 */
function deployedProject(resource) {
  if (resource.type !== "command:remote:Command" || !String(resource.props.create ?? "").endsWith(" install-config"))
    return undefined;
  const line = String(resource.props.stdin ?? "")
    .split("\n")
    .find((entry) => entry.startsWith("compose.yml\t"));
  if (!line) return undefined;
  /** @type {{ "x-olympus"?: { environment?: string }; services?: Record<string, { image?: string }> }} */
  const compose = parse(Buffer.from(line.split("\t")[2] ?? "", "base64").toString("utf8"));
  const images = Object.fromEntries(
    Object.entries(compose.services ?? {}).map(([service, definition]) => [service, definition.image ?? ""]),
  );
  return { environment: compose["x-olympus"]?.environment, images };
}

const syntheticTypes = ["olympus:seed:SyntheticUsers", "olympus:seed:Soak", "olympus:seed:ReleaseGate"];
const syntheticServices = ["login-simulator"];

/** @type {StackValidationPolicy} */
const noSyntheticTrafficInProd = {
  name: "no-synthetic-traffic-in-prod",
  description: "No synthetic-seeding, soak or login-simulation resource or service exists in a prod stack.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const projects = args.resources.map((resource) => ({ resource, project: deployedProject(resource) }));
    const prodStack = args.resources.some(isProd) || projects.some(({ project }) => project?.environment === "prod");
    if (!prodStack) return;
    for (const resource of args.resources) {
      if (syntheticTypes.some((type) => resource.type.endsWith(type))) {
        reportViolation(
          `${resource.name} (${resource.type}) seeds or simulates synthetic users in a prod stack`,
          resource.urn,
        );
      }
    }
    for (const { resource, project } of projects) {
      for (const service of syntheticServices.filter((name) => project?.images[name] !== undefined)) {
        reportViolation(
          `${resource.name} deploys the ${service} service, which simulates synthetic users, in a prod stack`,
          resource.urn,
        );
      }
    }
  },
};

/** @type {[string, Pin][]} */
const pins = Object.entries(versionTable);
/** @param {Pin} pin */
const reference = (pin) => `${pin.repository}:${pin.tag}${pin.digest ? `@${pin.digest}` : ""}`;
/** Images the dev host builds itself when no registry is reachable (npm run dev). */
const localRepository = "localhost/olympus-local/";

/** @type {ResourceValidationPolicy} */
const oneVersionTable = {
  name: "one-version-table",
  description:
    "Every service image is the shared version table's; outside prod a staged tag of a table repository, and in dev a local build.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const project = deployedProject(args);
    if (!project) return;
    const prod = isProd(args) || project.environment === "prod";
    for (const [service, image] of Object.entries(project.images)) {
      if (pins.some(([, pin]) => reference(pin) === image)) continue;
      if (project.environment === "dev" && image.startsWith(localRepository)) continue;
      const staged = pins.find(([, pin]) => image.startsWith(`${pin.repository}:`));
      if (staged && !prod) continue;
      reportViolation(
        staged
          ? `${service} runs ${image}: prod runs the version table only (${reference(staged[1])}); stage new tags in staging first`
          : `${service} runs ${image}, which is not in the version table (lib/versionTable.json)`,
      );
    }
  },
};

/** @type {StackValidationPolicy} */
const dmarcNeedsDkim = {
  name: "dmarc-needs-dkim",
  description:
    "A DMARC record that rejects (or quarantines) mail needs the provider's DKIM key in the same zone, or every verification and recovery mail is refused.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const rrsets = args.resources.filter((resource) => resource.type === "hcloud:index/zoneRrset:ZoneRrset");
    for (const dmarc of rrsets.filter((resource) => resource.props.name === "_dmarc")) {
      /** @type {{ value: string }[]} */
      const records = dmarc.props.records ?? [];
      if (!records.some((record) => /p=(reject|quarantine)/.test(record.value))) continue;
      const dkim = rrsets.some(
        (resource) => resource.props.zone === dmarc.props.zone && String(resource.props.name).endsWith("._domainkey"),
      );
      if (!dkim)
        reportViolation(
          `${dmarc.name} publishes a DMARC policy that rejects mail, but the zone has no DKIM record (<selector>._domainkey): add the provider's DKIM records (mail.records) or publish p=none`,
          dmarc.urn,
        );
    }
  },
};

module.exports = {
  isProd,
  deployedProject,
  firewallExposure,
  prodProtection,
  noSyntheticTrafficInProd,
  oneVersionTable,
  dmarcNeedsDkim,
  policies: [firewallExposure, prodProtection, noSyntheticTrafficInProd, oneVersionTable, dmarcNeedsDkim],
};
