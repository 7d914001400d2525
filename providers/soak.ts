import * as pulumi from "@pulumi/pulumi";
import { runSoakGate, type SoakPlan, type SoakResult } from "../clients/soakGate";
import type { Environment } from "../lib/config/schema";
import { refuseInProd } from "../lib/prodGuard";
import { isKnown } from "./dynamic";
import { asleepOutputs, type HostBound, sleepDiff } from "./hostBound";

export const soakProviderVersion = "2";

export interface SoakInputs extends HostBound {
  providerVersion: string;
  environment: Environment;
  /** What was deployed (rendered files plus images): the gate runs once per value. */
  releaseFingerprint: string;
  plan: SoakPlan;
}

export interface SoakOutputs extends SoakInputs {
  /** The last soak's results; null until a release has been soaked (a gate created while asleep). */
  result: SoakResult | null;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Whether the release must be soaked: nothing soaked yet, or something deployed or the SLO changed. Where
 * the checks connect (tunnel credentials, addresses of a woken server) is not a new release.
 */
const soakDue = (olds: SoakOutputs, news: SoakInputs) =>
  !olds.result ||
  olds.releaseFingerprint !== news.releaseFingerprint ||
  olds.providerVersion !== news.providerVersion ||
  !same(olds.plan?.slo, news.plan?.slo) ||
  !same(olds.plan?.users?.count, news.plan?.users?.count);

const refuseProd = (inputs: SoakInputs) => refuseInProd(inputs.environment, `run the soak in ${inputs.plan.stack}`);

/**
 * The release gate as a dynamic resource. It is keyed by the release fingerprint, so a preview shows it
 * only when something deployed changed, and `up` runs smoke checks and the soak exactly once per
 * release. A failure throws: the update fails and the pipeline never reaches prod.
 */
export const soakProvider: pulumi.dynamic.ResourceProvider<SoakInputs, SoakOutputs> = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (news.environment === "prod")
      failures.push({ property: "environment", reason: "the soak logs in synthetic users, which never exist in prod" });
    const slo = news.plan?.slo;
    if (slo && isKnown(slo)) {
      if (!(slo.minSuccessRate >= 0 && slo.minSuccessRate <= 1))
        failures.push({ property: "plan", reason: `minSuccessRate must be within 0..1; got ${slo.minSuccessRate}` });
      if (!(slo.loginsPerMinute > 0))
        failures.push({ property: "plan", reason: `loginsPerMinute must be positive; got ${slo.loginsPerMinute}` });
    }
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    return sleepDiff(olds, news) ?? { changes: soakDue(olds, news) };
  },

  async create(inputs) {
    refuseProd(inputs);
    const id = `soak-${inputs.releaseFingerprint.slice(0, 16)}`;
    // A release deployed while asleep is soaked when the stack wakes, before anything may promote it.
    if (!inputs.hostAwake) return { id, outs: { ...inputs, result: null } };
    return { id, outs: { ...inputs, result: await runSoakGate(inputs.plan) } };
  },

  async update(_id, olds, news) {
    refuseProd(news);
    if (!news.hostAwake) return { outs: asleepOutputs(olds) };
    // Waking without a new release: the soaked release and its results stand.
    if (!soakDue(olds, news)) return { outs: { ...news, result: olds.result } };
    return { outs: { ...news, result: await runSoakGate(news.plan) } };
  },

  async delete() {
    // Nothing to undo: the soak only observed.
  },
};

export interface SoakArgs {
  environment: pulumi.Input<Environment>;
  releaseFingerprint: pulumi.Input<string>;
  plan: pulumi.Input<SoakPlan>;
  /** Whether the host's services run; asleep, the gate only keeps its record. */
  hostAwake: pulumi.Input<boolean>;
}

/** Smoke test plus soak of one release; its outputs are the last soak's results. */
export class Soak extends pulumi.dynamic.Resource {
  declare readonly result: pulumi.Output<SoakResult | null>;
  /** The release these results are for: while asleep, the last one soaked, not the last one deployed. */
  declare readonly releaseFingerprint: pulumi.Output<string>;

  constructor(name: string, args: SoakArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      soakProvider,
      name,
      { providerVersion: soakProviderVersion, ...args, result: undefined },
      { ...opts, additionalSecretOutputs: ["plan"] },
      "olympus:seed",
      "Soak",
    );
  }
}
