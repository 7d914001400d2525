import * as pulumi from "@pulumi/pulumi";
import { hashSync } from "bcryptjs";
import type { Endpoint } from "../lib/endpoint";
import { convergeSyntheticUsers, countSyntheticUsers, deleteSyntheticUsers } from "./seeder";
import { withEndpoint } from "./tunnel";

/**
 * One stack's synthetic users as the SyntheticUsers resource keeps them, in the Kratos behind an
 * endpoint (the host's loopback through SSH): what the provider does at run time.
 */
export interface SyntheticUsersRequest {
  stack: string;
  seed: number;
  run: string;
  count: number;
  /** The CIAM Kratos admin API: direct URL, or through an SSH tunnel to its address on the admin network. */
  endpoint: Endpoint;
  /** The one password every synthetic user gets. */
  password: string;
  batchSize: number;
  concurrency: number;
}

const plan = (inputs: Pick<SyntheticUsersRequest, "stack" | "seed" | "run">) => ({
  stack: inputs.stack,
  seed: inputs.seed,
  run: inputs.run,
});

/** bcrypt cost of the imported hash: Kratos's own CIAM setting, so logins cost what real ones do. */
export const syntheticPasswordCost = 12;

export async function seedSyntheticUsers(inputs: SyntheticUsersRequest): Promise<number> {
  // Hashed once and imported as hashed_password: a plaintext import would make Kratos hash every user.
  const passwordHash = hashSync(inputs.password, syntheticPasswordCost);
  const outcome = await withEndpoint(inputs.endpoint, (adminUrl) =>
    convergeSyntheticUsers({
      adminUrl,
      plan: plan(inputs),
      count: inputs.count,
      passwordHash,
      batchSize: inputs.batchSize,
      concurrency: inputs.concurrency,
      log: (message) => void pulumi.log.info(message),
    }),
  );
  void pulumi.log.info(
    `synthetic users: ${outcome.total} in ${inputs.stack} (${outcome.created} created, ${outcome.deleted} deleted)`,
  );
  return outcome.total;
}

export async function countWithTunnel(inputs: SyntheticUsersRequest): Promise<number> {
  return withEndpoint(inputs.endpoint, (adminUrl) => countSyntheticUsers(adminUrl, plan(inputs)));
}

export async function removeSyntheticUsers(inputs: SyntheticUsersRequest): Promise<void> {
  const deleted = await withEndpoint(inputs.endpoint, (adminUrl) => deleteSyntheticUsers(adminUrl, plan(inputs)));
  void pulumi.log.info(`synthetic users: deleted ${deleted} from ${inputs.stack}`);
}
