import * as pulumi from "@pulumi/pulumi";
import { hashSync } from "bcryptjs";
import { convergeSyntheticUsers, countSyntheticUsers, deleteSyntheticUsers } from "./seeder";
import type { SyntheticUsersInputs } from "./syntheticUsers";
import { withEndpoint } from "./tunnel";

/** What the SyntheticUsers provider does at run time, kept apart from the provider object. */
const plan = (inputs: Pick<SyntheticUsersInputs, "stack" | "seed" | "run">) => ({
  stack: inputs.stack,
  seed: inputs.seed,
  run: inputs.run,
});

/** bcrypt cost of the imported hash: Kratos's own CIAM setting, so logins cost what real ones do. */
export const syntheticPasswordCost = 12;

export async function seedSyntheticUsers(inputs: SyntheticUsersInputs): Promise<number> {
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

export async function countWithTunnel(inputs: SyntheticUsersInputs): Promise<number> {
  return withEndpoint(inputs.endpoint, (adminUrl) => countSyntheticUsers(adminUrl, plan(inputs)));
}

export async function removeSyntheticUsers(inputs: SyntheticUsersInputs): Promise<void> {
  const deleted = await withEndpoint(inputs.endpoint, (adminUrl) => deleteSyntheticUsers(adminUrl, plan(inputs)));
  void pulumi.log.info(`synthetic users: deleted ${deleted} from ${inputs.stack}`);
}
