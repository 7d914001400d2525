/**
 * `npm run bench:seed`: in one run against the same real Kratos (the staging CIAM configuration, SQLite),
 * the staging guide's approach (one POST per user with a plaintext password, sequential) against this
 * project's seeder (one bcrypt hash, batches of 250 hashed identities, four in flight), for
 * 1,000 users, then the seeder alone for 10,000.
 */
import { parseArgs } from "node:util";
import { hashSync } from "bcryptjs";
import { syntheticIdentity } from "../../clients/identities";
import { createIdentity } from "../../clients/kratosAdmin";
import { convergeSyntheticUsers } from "../../clients/seeder";
import { syntheticPasswordCost } from "../../clients/syntheticUsersRemote";
import { startKratos, startMailpit } from "./localServices";

const password = "bench-Synthetic-Passw0rd";

async function naive(adminUrl: string, count: number): Promise<number> {
  const plan = { stack: "bench-naive", seed: 1, run: "seed-1" };
  const started = performance.now();
  for (let index = 0; index < count; index++) {
    const { external_id: _unsupported, ...body } = syntheticIdentity(plan, index);
    await createIdentity(adminUrl, { ...body, credentials: { password: { config: { password } } } });
  }
  return (performance.now() - started) / 1000;
}

async function batched(adminUrl: string, count: number, stack: string): Promise<number> {
  const started = performance.now();
  // The one hash is part of the cost: it is paid on every seeding run.
  const passwordHash = hashSync(password, syntheticPasswordCost);
  const outcome = await convergeSyntheticUsers({
    adminUrl,
    plan: { stack, seed: 2, run: "seed-2" },
    count,
    passwordHash,
  });
  if (outcome.total !== count) throw new Error(`expected ${count} identities, got ${outcome.total}`);
  return (performance.now() - started) / 1000;
}

async function main() {
  const { values } = parseArgs({
    options: { naive: { type: "string", default: "1000" }, large: { type: "string", default: "10000" } },
  });
  const naiveCount = Number(values.naive);
  const largeCount = Number(values.large);
  const mailpit = await startMailpit();
  const kratos = await startKratos(mailpit);
  try {
    console.log(
      `Kratos ${kratos.adminUrl} (SQLite, staging CIAM config); ${naiveCount} users per approach, then ${largeCount} with the seeder\n`,
    );
    const naiveSeconds = await naive(kratos.adminUrl, naiveCount);
    const naiveRate = naiveCount / naiveSeconds;
    console.log(
      `naive  (POST per user, plaintext, sequential): ${naiveCount} identities in ${naiveSeconds.toFixed(1)} s = ${naiveRate.toFixed(1)} identities/s`,
    );
    const batchSeconds = await batched(kratos.adminUrl, naiveCount, "bench-batch");
    const batchRate = naiveCount / batchSeconds;
    console.log(
      `seeder (batched PATCH, hashed once):           ${naiveCount} identities in ${batchSeconds.toFixed(1)} s = ${batchRate.toFixed(1)} identities/s`,
    );
    const largeSeconds = await batched(kratos.adminUrl, largeCount, "bench-large");
    console.log(
      `seeder (batched PATCH, hashed once):           ${largeCount} identities in ${largeSeconds.toFixed(1)} s = ${(largeCount / largeSeconds).toFixed(1)} identities/s`,
    );
    console.log(
      `\nspeedup: ${(batchRate / naiveRate).toFixed(1)}x; ${largeCount} identities in ${largeSeconds.toFixed(1)} s`,
    );
  } finally {
    await kratos.stop();
    await mailpit.stop();
  }
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
