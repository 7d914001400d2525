import type * as pulumi from "@pulumi/pulumi";

/**
 * State of a dynamic resource that acts through the host's services (seeding, soak, OAuth clients).
 * While the stack sleeps its server does not exist, so such a resource only keeps its record: what it
 * last did stays in its outputs, and the first run after waking compares against that and catches up.
 */
export interface HostBound {
  /** Whether the host's services run; false while the stack sleeps. */
  hostAwake: boolean;
}

/** Records from before this field existed were made with the host awake. */
const wasAwake = (olds: Partial<HostBound>) => olds.hostAwake !== false;

/**
 * The part of a diff that sleep decides, or undefined when the host is awake before and after (then
 * the resource's own rules apply). Falling asleep records the fact (an update that contacts nothing);
 * while asleep nothing changes; the first run after waking always updates, so the resource catches up.
 */
export function sleepDiff(olds: Partial<HostBound>, news: HostBound): pulumi.dynamic.DiffResult | undefined {
  if (!news.hostAwake) return { changes: wasAwake(olds) };
  if (!wasAwake(olds)) return { changes: true };
  return undefined;
}

/** Outputs while asleep: the last real outcome, marked asleep, so a later diff still sees what was done. */
export function asleepOutputs<T extends HostBound>(olds: T): T {
  return { ...olds, hostAwake: false };
}
