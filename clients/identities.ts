import { en, Faker } from "@faker-js/faker";
import type { PlainConfig } from "../lib/config/schema";

/**
 * Synthetic CIAM identities, deterministic per (seed, index): the same config always describes the
 * same users, and user i does not depend on how many users there are, so growing or shrinking the
 * count only adds or removes the difference.
 */
export interface SyntheticIdentityPlan {
  stack: string;
  seed: number;
  /** Names this seeding run in metadata_admin.run; delete removes only identities of this run. */
  run: string;
}

/** Addresses under a reserved TLD (RFC 2606): no synthetic user can ever receive real mail. */
export const syntheticEmailDomain = (stack: string) => `${stack}.olympus.test`;

export const externalIdPrefix = (plan: SyntheticIdentityPlan) => `synthetic:${plan.stack}:${plan.run}:`;

export interface KratosIdentityBody {
  schema_id: "default";
  external_id: string;
  state: "active";
  traits: { email: string; username: string; first_name: string; last_name: string };
  verifiable_addresses: { value: string; via: "email"; verified: true; status: "completed" }[];
  recovery_addresses: { value: string; via: "email" }[];
  metadata_admin: { synthetic: true; stack: string; run: string; index: number };
  credentials?: { password: { config: { hashed_password: string } } };
}

const ascii = (value: string) =>
  value
    .normalize("NFKD")
    .replace(/[^A-Za-z0-9]/g, "")
    .toLowerCase() || "user";

export function syntheticIdentity(plan: SyntheticIdentityPlan, index: number): KratosIdentityBody {
  const faker = new Faker({ locale: [en] });
  faker.seed([plan.seed, index]);
  const firstName = faker.person.firstName();
  const lastName = faker.person.lastName();
  const handle = `${ascii(firstName)}.${ascii(lastName)}.${index}`;
  const email = `${handle}@${syntheticEmailDomain(plan.stack)}`;
  return {
    schema_id: "default",
    external_id: `${externalIdPrefix(plan)}${index}`,
    state: "active",
    traits: { email, username: handle, first_name: firstName, last_name: lastName },
    // CIAM login requires a verified address (require_verified_address).
    verifiable_addresses: [{ value: email, via: "email", verified: true, status: "completed" }],
    recovery_addresses: [{ value: email, via: "email" }],
    metadata_admin: { synthetic: true, stack: plan.stack, run: plan.run, index },
  };
}

export function syntheticEmails(plan: SyntheticIdentityPlan, count: number): string[] {
  return Array.from({ length: count }, (_, index) => syntheticIdentity(plan, index).traits.email);
}

/** The index encoded in an external_id of this plan, or undefined for anything else. */
export function indexOfExternalId(plan: SyntheticIdentityPlan, externalId: string | undefined): number | undefined {
  const prefix = externalIdPrefix(plan);
  if (!externalId?.startsWith(prefix)) return undefined;
  const index = Number(externalId.slice(prefix.length));
  return Number.isInteger(index) && index >= 0 ? index : undefined;
}

/** The identities a stack's config asks for: its seed names the run, so a new seed is a new set. */
export function syntheticPlan(config: Pick<PlainConfig, "seeding"> & { stack: string }): SyntheticIdentityPlan {
  return { stack: config.stack, seed: config.seeding.seed, run: `seed-${config.seeding.seed}` };
}
