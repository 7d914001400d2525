import type { RequestOptions } from "./adminApi";
import {
  indexOfExternalId,
  type KratosIdentityBody,
  type SyntheticIdentityPlan,
  syntheticIdentity,
} from "./identities";
import { batchCreate, deleteIdentity, type KratosIdentity, listIdentities } from "./kratosAdmin";

/**
 * Converges a Kratos to exactly N synthetic identities of one plan: it lists what exists, creates the
 * missing ones in batches and deletes surplus and duplicates. Every run starts from what Kratos holds,
 * so a run that crashed half-way is finished by the next one, and nothing but this plan's own
 * identities (by their metadata_admin tag) is ever deleted.
 */
/** Kratos accepts at most this many identities with hashed passwords in one batch request. */
export const maxBatchSize = 1000;
/**
 * Kratos validates each request's identities on one core, so several smaller batches in flight beat
 * one large one (measured: 1,000 identities in 1.8 s as 4 x 250, 2.2 s as 1 x 1,000).
 */
export const defaultBatchSize = 250;
export const defaultConcurrency = 4;

export interface SeedOptions extends RequestOptions {
  adminUrl: string;
  plan: SyntheticIdentityPlan;
  count: number;
  /** bcrypt hash of the one synthetic password, imported as hashed_password. */
  passwordHash: string;
  /** Identities per PATCH /admin/identities, at most `maxBatchSize`. @default 250 */
  batchSize?: number;
  /** Batches in flight at once. @default 4 */
  concurrency?: number;
  log?: (message: string) => void;
}

export interface SeedOutcome {
  created: number;
  deleted: number;
  /** Synthetic identities of this plan in Kratos afterwards. */
  total: number;
}

/** Index of an identity that belongs to the plan, from its external_id (or the index in its tag). */
export function planIndex(plan: SyntheticIdentityPlan, identity: KratosIdentity): number | undefined {
  const tag = identity.metadata_admin;
  if (tag?.synthetic !== true || tag.stack !== plan.stack || tag.run !== plan.run) return undefined;
  return (
    indexOfExternalId(plan, identity.external_id) ?? (Number.isInteger(tag.index) ? (tag.index as number) : undefined)
  );
}

/** This plan's identities in Kratos, grouped by index (more than one id per index is a duplicate). */
export async function syntheticIdentitiesByIndex(
  adminUrl: string,
  plan: SyntheticIdentityPlan,
  options?: RequestOptions,
): Promise<Map<number, string[]>> {
  const byIndex = new Map<number, string[]>();
  for (const identity of await listIdentities(adminUrl, options)) {
    const index = planIndex(plan, identity);
    if (index === undefined) continue;
    byIndex.set(index, [...(byIndex.get(index) ?? []), identity.id]);
  }
  return byIndex;
}

export async function countSyntheticUsers(
  adminUrl: string,
  plan: SyntheticIdentityPlan,
  options?: RequestOptions,
): Promise<number> {
  let total = 0;
  for (const ids of (await syntheticIdentitiesByIndex(adminUrl, plan, options)).values()) total += ids.length;
  return total;
}

async function deleteAll(adminUrl: string, ids: string[], options: RequestOptions): Promise<number> {
  const pLimit = require("p-limit") as typeof import("p-limit");
  const limit = pLimit(16);
  await Promise.all(ids.map((id) => limit(() => deleteIdentity(adminUrl, id, options))));
  return ids.length;
}

export async function convergeSyntheticUsers(options: SeedOptions): Promise<SeedOutcome> {
  const pLimit = require("p-limit") as typeof import("p-limit");
  const log = options.log ?? (() => {});
  const { adminUrl, plan, count } = options;
  const existing = await syntheticIdentitiesByIndex(adminUrl, plan, options);

  const surplus: string[] = [];
  for (const [index, ids] of existing) {
    if (index >= count) surplus.push(...ids);
    else surplus.push(...ids.slice(1));
  }
  const missing: KratosIdentityBody[] = [];
  for (let index = 0; index < count; index++) {
    if (existing.has(index)) continue;
    missing.push({
      ...syntheticIdentity(plan, index),
      credentials: { password: { config: { hashed_password: options.passwordHash } } },
    });
  }
  log(`synthetic users: ${existing.size} present, ${missing.length} to create, ${surplus.length} to delete`);

  const batchSize = options.batchSize ?? defaultBatchSize;
  if (!(batchSize >= 1 && batchSize <= maxBatchSize))
    throw new Error(`batchSize must be 1 to ${maxBatchSize}; got ${batchSize}`);
  const batches = Array.from({ length: Math.ceil(missing.length / batchSize) }, (_, i) =>
    missing.slice(i * batchSize, (i + 1) * batchSize),
  );
  const limit = pLimit(options.concurrency ?? defaultConcurrency);
  let created = 0;
  let conflicts = 0;
  const errors: string[] = [];
  let failure: unknown;
  await Promise.allSettled(
    batches.map((batch) =>
      limit(async () => {
        // After one batch failed for good, the rest are not sent: a failed run must stop, not linger.
        if (failure !== undefined) return;
        try {
          const result = await batchCreate(adminUrl, batch, options);
          created += result.created;
          conflicts += result.conflicts;
          errors.push(...result.errors);
          log(`synthetic users: created ${created}/${missing.length}`);
        } catch (error) {
          failure ??= error;
        }
      }),
    ),
  );
  if (failure !== undefined) throw failure;
  if (errors.length > 0)
    throw new Error(`Kratos refused ${errors.length} synthetic identities, e.g. ${errors.slice(0, 3).join("; ")}`);
  const deleted = await deleteAll(adminUrl, surplus, options);
  // Without conflicts every missing identity was created and every surplus one deleted; only an
  // identity that appeared meanwhile makes listing everything again worth it.
  const total = conflicts === 0 ? count - missing.length + created : await countSyntheticUsers(adminUrl, plan, options);
  if (total !== count) throw new Error(`expected ${count} synthetic identities after seeding, Kratos holds ${total}`);
  return { created, deleted, total };
}

/** Deletes every identity of the plan (and nothing else). */
export async function deleteSyntheticUsers(
  adminUrl: string,
  plan: SyntheticIdentityPlan,
  options: RequestOptions = {},
): Promise<number> {
  const ids = [...(await syntheticIdentitiesByIndex(adminUrl, plan, options)).values()].flat();
  return deleteAll(adminUrl, ids, options);
}
