/** The operations behind the staging workflows, as pure plans that scripts run and tests check. */

export type PowerAction = "sleep" | "wake";

export interface PulumiStep {
  /** Arguments for the pulumi CLI. */
  args: string[];
  /** Why, printed before the step runs. */
  description: string;
}

function refuseProd(environment: string | undefined, stack: string, what: string): void {
  if (environment === "prod") throw new Error(`refusing to ${what} ${stack}: it is a prod environment (prod never sleeps and is never reseeded)`);
  if (environment === undefined) throw new Error(`${stack} has no olympus:environment; refusing to ${what} a stack of unknown kind`);
}

/**
 * Staging sleeps by deleting only its server (awake=false): Hetzner bills a stopped server in full.
 * Waking recreates it from the same cloud-init, host key included, and the deploy step brings every
 * service back up healthy on the data volume that never went away.
 */
export function powerPlan(action: PowerAction, stack: string, environment: string | undefined): PulumiStep[] {
  refuseProd(environment, stack, action === "sleep" ? "put to sleep" : "wake");
  const awake = action === "wake";
  return [
    { args: ["config", "set", "awake", String(awake), "--stack", stack], description: `${stack}: awake=${awake}` },
    { args: ["up", "--yes", "--non-interactive", "--stack", stack], description: awake ? `${stack}: recreate the server and redeploy` : `${stack}: delete only the server` },
  ];
}

interface StateExport {
  deployment?: { resources?: { type: string; urn: string }[] };
}

/** URNs of the synthetic-user resources in a stack's state. */
export function syntheticUserUrns(state: StateExport): string[] {
  return (state.deployment?.resources ?? []).filter((resource) => resource.type.endsWith("olympus:seed:SyntheticUsers")).map((resource) => resource.urn);
}

/**
 * Monthly refresh: remove the synthetic users (and what depends on them, the soak gate) so the next
 * `pulumi up` seeds them afresh; or, with `full`, destroy the whole stack (after a schema migration).
 */
export function refreshPlan(stack: string, environment: string | undefined, full: boolean, state: StateExport): PulumiStep[] {
  refuseProd(environment, stack, "refresh");
  if (full) return [{ args: ["destroy", "--yes", "--non-interactive", "--stack", stack], description: `${stack}: destroy everything; the next up rebuilds it` }];
  const urns = syntheticUserUrns(state);
  if (urns.length === 0) return [];
  return [
    {
      args: ["destroy", "--yes", "--non-interactive", "--stack", stack, "--target-dependents", ...urns.flatMap((urn) => ["--target", urn])],
      description: `${stack}: delete the synthetic users and the soak that depends on them`,
    },
  ];
}
