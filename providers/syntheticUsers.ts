import * as pulumi from "@pulumi/pulumi";
import { defaultBatchSize, defaultConcurrency, maxBatchSize } from "../clients/seeder";
import {
  countWithTunnel,
  removeSyntheticUsers,
  type SyntheticUsersRequest,
  seedSyntheticUsers,
} from "../clients/syntheticUsersRemote";
import type { Environment } from "../lib/config/schema";
import type { Endpoint } from "../lib/endpoint";
import { refuseInProd } from "../lib/prodGuard";
import { isKnown } from "./dynamic";
import { asleepOutputs, type HostBound, sleepDiff } from "./hostBound";

/** Bump when the provider's behaviour changes: provider code changes are not diffs by themselves. */
export const syntheticUsersProviderVersion = "2";

export interface SyntheticUsersInputs extends SyntheticUsersRequest, HostBound {
  providerVersion: string;
  environment: Environment;
}

export interface SyntheticUsersOutputs extends SyntheticUsersInputs {
  /** Synthetic identities of this run that Kratos holds. */
  total: number;
}

/** A new stack or run is a different set of identities; a new password means re-importing them. */
const replaceKeys = ["stack", "run", "password"] as const;
const updateKeys = ["count", "seed", "providerVersion", "batchSize", "concurrency"] as const;
const differs = (olds: SyntheticUsersInputs, news: SyntheticUsersInputs, key: keyof SyntheticUsersInputs) =>
  !isKnown(news[key]) || JSON.stringify(olds[key]) !== JSON.stringify(news[key]);

const refuseProd = (inputs: Pick<SyntheticUsersInputs, "environment" | "stack">) =>
  refuseInProd(inputs.environment, `seed synthetic users into ${inputs.stack}`);

/**
 * Dynamic provider for SyntheticUsers. Each method loads what it needs itself (no captured modules or
 * credentials, as closure serialization requires) and works from what Kratos holds, so every
 * operation is idempotent. Preview runs only check and diff, which have no side effects.
 */
export const syntheticUsersProvider: pulumi.dynamic.ResourceProvider<SyntheticUsersInputs, SyntheticUsersOutputs> = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (isKnown(news.environment) && news.environment === "prod") {
      failures.push({ property: "environment", reason: "synthetic users are never seeded into a prod environment" });
    }
    if (isKnown(news.count) && !(Number.isInteger(news.count) && news.count >= 0 && news.count <= 100_000)) {
      failures.push({
        property: "count",
        reason: `must be an integer from 0 to 100000; got ${JSON.stringify(news.count)}`,
      });
    }
    if (
      isKnown(news.batchSize) &&
      !(Number.isInteger(news.batchSize) && news.batchSize >= 1 && news.batchSize <= maxBatchSize)
    ) {
      failures.push({
        property: "batchSize",
        reason: `must be 1 to ${maxBatchSize} (Kratos's limit with hashed passwords); got ${JSON.stringify(news.batchSize)}`,
      });
    }
    if (isKnown(news.seed) && !Number.isInteger(news.seed))
      failures.push({ property: "seed", reason: `must be an integer; got ${JSON.stringify(news.seed)}` });
    if (isKnown(news.password) && !(typeof news.password === "string" && news.password.length >= 8)) {
      failures.push({ property: "password", reason: "must be at least 8 characters (Kratos's minimum)" });
    }
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    // Asleep, nothing can be replaced: waking catches up in update, which then removes the old set itself.
    const sleeping = sleepDiff(olds, news);
    if (sleeping) return sleeping;
    const replaces = replaceKeys.filter((key) => differs(olds, news, key));
    const updates = updateKeys.filter((key) => differs(olds, news, key));
    return {
      changes: replaces.length + updates.length > 0,
      replaces,
      detailedDiff: undefined,
      deleteBeforeReplace: true,
    };
  },

  async create(inputs) {
    refuseProd(inputs);
    if (!inputs.hostAwake) return { id: `${inputs.stack}/${inputs.run}`, outs: { ...inputs, total: 0 } };
    const total = await seedSyntheticUsers(inputs);
    return { id: `${inputs.stack}/${inputs.run}`, outs: { ...inputs, total } };
  },

  async read(id, props) {
    if (!props) throw new Error(`cannot read synthetic users ${id} without their recorded inputs`);
    // A sleeping stack has no server to count on; its record stands until it wakes.
    if (props.hostAwake === false) return { id, props };
    return { id, props: { ...props, total: await countWithTunnel(props) } };
  },

  async update(_id, olds, news) {
    refuseProd(news);
    if (!news.hostAwake) return { outs: asleepOutputs(olds) };
    // A new set decided while asleep: remove the recorded one first, as a replacement would have.
    if (olds.hostAwake === false && olds.total > 0 && replaceKeys.some((key) => differs(olds, news, key))) {
      await removeSyntheticUsers({ ...olds, endpoint: news.endpoint });
    }
    return { outs: { ...news, total: await seedSyntheticUsers(news) } };
  },

  async delete(_id, props) {
    if (props.hostAwake === false) {
      // Nothing answers while the stack sleeps; the identities stay in the data volume (gone with it on teardown).
      void pulumi.log.info(
        `synthetic users ${props.stack}/${props.run}: the host is asleep, so they stay in its database`,
      );
      return;
    }
    await removeSyntheticUsers(props);
  },
};

export interface SyntheticUsersArgs {
  stack: pulumi.Input<string>;
  environment: pulumi.Input<Environment>;
  seed: pulumi.Input<number>;
  run: pulumi.Input<string>;
  count: pulumi.Input<number>;
  endpoint: pulumi.Input<Endpoint>;
  password: pulumi.Input<string>;
  /** Whether the host's services run; asleep, the resource only keeps its record. */
  hostAwake: pulumi.Input<boolean>;
  /** Identities per batch request (at most 1000). @default 250 */
  batchSize?: pulumi.Input<number>;
  /** Batch requests in flight. @default 4 */
  concurrency?: pulumi.Input<number>;
}

/** N deterministic synthetic identities in a non-prod CIAM Kratos, tagged so they can be removed exactly. */
export class SyntheticUsers extends pulumi.dynamic.Resource {
  declare readonly total: pulumi.Output<number>;
  declare readonly count: pulumi.Output<number>;

  constructor(name: string, args: SyntheticUsersArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      syntheticUsersProvider,
      name,
      {
        providerVersion: syntheticUsersProviderVersion,
        batchSize: defaultBatchSize,
        concurrency: defaultConcurrency,
        ...args,
        total: undefined,
      },
      { ...opts, additionalSecretOutputs: ["password", "endpoint"], deleteBeforeReplace: true },
      "olympus:seed",
      "SyntheticUsers",
    );
  }
}
