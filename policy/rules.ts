import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { firewallRules } from "../components/hetznerHost";
import { isWorldCidr } from "../lib/config";
import { resolveImages, type StagedRollout } from "../lib/versions";
import { loginSimulatorService } from "../render/compose";

/**
 * The project's guardrails as policies, independent of the program's own checks: they hold even if a
 * component is changed, a resource is added by hand in index.ts, or a config check is bypassed.
 */
const worldOpen = new Set(firewallRules([]).filter((rule) => rule.sourceIps.length > 0).map((rule) => `${rule.protocol}/${rule.port}`));

/** Whether a resource belongs to a prod environment: its labels or inputs say so, or the stack is named prod. */
export function isProd(resource: { urn: string; props: Record<string, any> }): boolean {
  const stack = resource.urn.split(":")[2]?.split("::")[0];
  return resource.props.labels?.env === "prod" || resource.props.environment === "prod" || stack === "prod";
}

export const firewallExposure: ResourceValidationPolicy = {
  name: "firewall-exposure",
  description: "Inbound rules open only 80/443 tcp and 443 udp to the world, and 22/tcp to admin networks only.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== "hcloud:index/firewall:Firewall") return;
    for (const rule of (args.props.rules ?? []) as { direction: string; protocol: string; port?: string; sourceIps?: string[] }[]) {
      if (rule.direction !== "in") continue;
      const key = `${rule.protocol}/${rule.port ?? "any"}`;
      const sources = rule.sourceIps ?? [];
      if (worldOpen.has(key)) continue;
      if (key === "tcp/22" && sources.length > 0 && !sources.some(isWorldCidr)) continue;
      reportViolation(`inbound ${key} from ${sources.join(", ") || "nowhere"} is not allowed: only 80/443 tcp and 443 udp may be public, and 22/tcp only from admin networks`);
    }
  },
};

const protectedInProd = ["hcloud:index/server:Server", "hcloud:index/primaryIp:PrimaryIp", "hcloud:index/volume:Volume", "hcloud:index/zone:Zone"];

export const prodProtection: StackValidationPolicy = {
  name: "prod-protection",
  description: "Prod's server, primary IPs, volume and DNS zone are protected (Pulumi protect and Hetzner delete protection).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    for (const resource of args.resources) {
      if (!protectedInProd.includes(resource.type) || !isProd(resource)) continue;
      if (!resource.opts.protect) reportViolation(`${resource.name} (${resource.type}) is not protected (Pulumi protect)`, resource.urn);
      if (resource.props.deleteProtection !== true) reportViolation(`${resource.name} (${resource.type}) has no Hetzner delete protection`, resource.urn);
    }
  },
};

/** What the deploy step records in its triggers for policies: images, staged rollout, services. */
interface RecordedRelease {
  images: Record<string, string>;
  stagedRollout: StagedRollout;
  services: string[];
}

function recordedRelease(resource: { type: string; name: string; props: Record<string, any> }): RecordedRelease | undefined {
  if (resource.type !== "command:remote:Command" || !resource.name.endsWith("-up")) return undefined;
  const recorded = (resource.props.triggers ?? []).find((trigger: unknown) => typeof trigger === "string" && trigger.includes('"images"'));
  return recorded ? (JSON.parse(recorded) as RecordedRelease) : undefined;
}

const syntheticTypes = ["olympus:seed:SyntheticUsers", "olympus:seed:Soak", "olympus:seed:ReleaseGate"];

export const noSyntheticTrafficInProd: StackValidationPolicy = {
  name: "no-synthetic-traffic-in-prod",
  description: "No synthetic-seeding, soak or login-simulation resource exists in a prod stack.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const prodStack = args.resources.some((resource) => isProd(resource));
    for (const resource of args.resources) {
      const synthetic = syntheticTypes.some((type) => resource.type.endsWith(type));
      const simulator = recordedRelease(resource)?.services.includes(loginSimulatorService) ?? false;
      if ((synthetic || simulator) && (prodStack || isProd(resource))) {
        reportViolation(`${resource.name} (${resource.type}) seeds or simulates synthetic users in a prod stack`, resource.urn);
      }
    }
  },
};

export const oneVersionTable: ResourceValidationPolicy = {
  name: "one-version-table",
  description: "Every service image is the shared version table's, except a visible staged rollout outside prod.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== "command:remote:Command" || !args.name.endsWith("-up")) return;
    const recorded = recordedRelease(args);
    if (!recorded) {
      reportViolation("the deploy step does not record its images, so they cannot be checked against the version table");
      return;
    }
    const { images, stagedRollout } = recorded;
    if (isProd(args) && Object.keys(stagedRollout).length > 0) reportViolation(`prod runs a staged rollout ${JSON.stringify(stagedRollout)}; prod runs the version table only`);
    const expected = resolveImages(stagedRollout);
    for (const [service, image] of Object.entries(images)) {
      if (expected[service as keyof typeof expected] !== image) reportViolation(`${service} runs ${image}, but the version table says ${expected[service as keyof typeof expected] ?? "nothing"}`);
    }
  },
};

export const policies = [firewallExposure, prodProtection, noSyntheticTrafficInProd, oneVersionTable];
