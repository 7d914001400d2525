/** The operations behind the workflows, as pure plans that scripts run and tests check. */
import { join } from "node:path";
import { type PowerRequest, powerVariable } from "../../lib/power";

export interface PulumiStep {
  /** Arguments for the pulumi CLI. */
  args: string[];
  /** Why, printed before the step runs. */
  description: string;
  /** Extra environment of the step (the power request). @default {} */
  env?: Record<string, string>;
}

/** What a step needs from a stack's exported state. */
export interface StateExport {
  deployment?: {
    resources?: { type: string; urn: string; protect?: boolean; outputs?: Record<string, unknown> }[];
  };
}

/** The dynamic resource whose state holds the last soak a release passed. */
export const soakType = "pulumi-nodejs:dynamic/olympus:seed:Soak";

/**
 * What the stack's soak gate last passed, from its state, not from a stack output: an output would be
 * recorded only by a run that succeeded entirely, and a stack output that waited for the soak would keep
 * a failed wake from recording that the stack is awake (lib/power.ts). A soak that failed left the last
 * passed one in place. A stack without a soak gate has none.
 */
export function lastSoakOf(state: StateExport): ReleaseOutputs["lastSoak"] {
  const soak = state.deployment?.resources?.find((resource) => resource.type === soakType)?.outputs;
  if (!soak) return "no soak gate in this stack";
  const result = soak.result as { finishedAt?: string; successRate?: number } | null;
  return { releaseFingerprint: String(soak.releaseFingerprint), ...(result ?? {}) };
}

function refuseProd(environment: string | undefined, stack: string, what: string): void {
  if (environment === "prod")
    throw new Error(`refusing to ${what} ${stack}: it is a prod environment (prod never sleeps and is never reseeded)`);
  if (environment === undefined)
    throw new Error(`${stack} has no olympus:environment; refusing to ${what} a stack of unknown kind`);
}

/** Every `up` a script runs is held to the same guardrails as a deploy. */
const policyPack = join(__dirname, "..", "..", "policy");

const up = (stack: string, description: string, power?: PowerRequest): PulumiStep => ({
  args: ["up", "--yes", "--non-interactive", "--stack", stack, "--policy-pack", policyPack],
  description,
  ...(power ? { env: { [powerVariable]: power } } : {}),
});

/**
 * Staging sleeps by deleting only its server: Hetzner bills a stopped server in full. The request
 * travels as OLYMPUS_POWER and the outcome is stored in the backend (the stack's `awake` output), so
 * every later run, from any checkout, keeps it asleep until a wake. Waking recreates the server from
 * the same cloud-init, host key included; the deploy brings every service back up on the data volume
 * that never went away, and a release deployed meanwhile is soaked then.
 */
export function powerPlan(action: PowerRequest, stack: string, environment: string | undefined): PulumiStep[] {
  refuseProd(environment, stack, action === "sleep" ? "put to sleep" : "wake");
  return [
    up(
      stack,
      action === "wake"
        ? `${stack}: recreate the server and redeploy`
        : `${stack}: stop the services and delete only the server`,
      action,
    ),
  ];
}

/** URNs of the synthetic-user resources in a stack's state. */
export function syntheticUserUrns(state: StateExport): string[] {
  return (state.deployment?.resources ?? [])
    .filter((resource) => resource.type.endsWith("olympus:seed:SyntheticUsers"))
    .map((resource) => resource.urn);
}

/**
 * Monthly refresh: remove the synthetic users (and what depends on them, the soak gate) and seed them
 * afresh; or, with `full`, destroy the whole stack (after a schema migration) and build it again. The
 * users live in the server's database, so a sleeping staging is woken first and put back to sleep after.
 */
export function refreshPlan(
  stack: string,
  environment: string | undefined,
  full: boolean,
  state: StateExport,
  awake: boolean,
): PulumiStep[] {
  refuseProd(environment, stack, "refresh");
  if (full) {
    return [
      {
        args: ["destroy", "--yes", "--non-interactive", "--stack", stack],
        description: `${stack}: destroy everything`,
      },
      // A destroyed stack has no sleep state: it is rebuilt awake and put back to sleep if it slept.
      up(stack, `${stack}: build it again`),
      ...(awake ? [] : [up(stack, `${stack}: back to sleep`, "sleep")]),
    ];
  }
  const urns = syntheticUserUrns(state);
  const reseed = [
    ...(urns.length > 0
      ? [
          {
            args: [
              "destroy",
              "--yes",
              "--non-interactive",
              "--stack",
              stack,
              "--target-dependents",
              ...urns.flatMap((urn) => ["--target", urn]),
            ],
            description: `${stack}: delete the synthetic users and the soak that depends on them`,
          },
        ]
      : []),
    up(stack, `${stack}: seed the synthetic users again`),
  ];
  if (awake) return reseed;
  return [
    up(stack, `${stack}: asleep; wake it, the synthetic users live in its database`, "wake"),
    ...reseed,
    up(stack, `${stack}: back to sleep`, "sleep"),
  ];
}

/**
 * A teardown that refuses before anything is deleted while any resource is protected: the engine
 * would otherwise delete dependents (the running project, DNS records, the volume attachment) and only
 * then stop at the protected server. Prod also needs its name typed.
 */
export function teardownPlan(
  stack: string,
  environment: string | undefined,
  confirm: string | undefined,
  state: StateExport,
): PulumiStep[] {
  if (environment === "prod" && confirm !== stack)
    throw new Error(`refusing to destroy ${stack}: it is a prod environment; confirm with --confirm ${stack}`);
  const protectedUrns = (state.deployment?.resources ?? [])
    .filter((resource) => resource.protect)
    .map((resource) => resource.urn);
  if (protectedUrns.length > 0) {
    const names = protectedUrns.map((urn) => urn.split("::").pop()).join(", ");
    throw new Error(
      `refusing to destroy ${stack}: ${protectedUrns.length} resources are protected (${names}); nothing was deleted. ` +
        "Remove the protection on purpose first (olympus:protect false and pulumi up, or pulumi state unprotect), then run the teardown again.",
    );
  }
  return [
    {
      args: ["destroy", "--yes", "--non-interactive", "--stack", stack],
      description: `${stack}: destroy every resource`,
    },
  ];
}

/** The outputs a release decision reads (see index.ts). */
export interface ReleaseOutputs {
  awake?: boolean;
  releaseFingerprint?: string;
  lastSoak?: string | { releaseFingerprint: string; finishedAt?: string; successRate?: number };
}

export interface Promotion {
  /** Whether the release staging runs has passed its gate, so prod may take it. */
  promote: boolean;
  /** Whether the staging services run (the outside smoke test needs them). */
  awake: boolean;
  /** When the soak of this release finished, if it was soaked. */
  soakedAt?: string;
  reason: string;
}

/**
 * Whether prod may take staging's release: staging is awake and its soak passed this very release. A
 * release pushed while staging sleeps is recorded there but soaked only when it wakes; until then prod
 * waits. A stack without a soak gate promotes what its successful `up` deployed.
 */
export function promotion(stack: string, outputs: ReleaseOutputs): Promotion {
  const awake = outputs.awake !== false;
  const release = (outputs.releaseFingerprint ?? "").slice(0, 12);
  if (!awake)
    return {
      promote: false,
      awake,
      reason: `${stack} is asleep: release ${release} waits for the wake's soak before it may reach prod`,
    };
  if (typeof outputs.lastSoak !== "object")
    return { promote: true, awake, reason: `${stack} has no soak gate; its up deployed release ${release}` };
  if (outputs.lastSoak.releaseFingerprint !== outputs.releaseFingerprint) {
    return {
      promote: false,
      awake,
      reason: `${stack}'s last soak passed release ${outputs.lastSoak.releaseFingerprint.slice(0, 12)}, not the deployed ${release}`,
    };
  }
  return {
    promote: true,
    awake,
    soakedAt: outputs.lastSoak.finishedAt,
    reason: `${stack}'s soak passed release ${release} at ${outputs.lastSoak.finishedAt}`,
  };
}
