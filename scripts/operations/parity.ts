/**
 * `npm run parity [-- STAGING PROD] [--project-dir DIR] [--deployed]`: compares the configuration staging
 * and prod derive (through the same loader the program uses) and the files they would deploy, prints the
 * sanctioned differences, and fails on anything else. With --deployed it also reads each stack's outputs
 * from the backend and fails where a host runs an older host configuration than the code renders.
 */
import { parseArgs } from "node:util";
import { backupPolicy } from "../../lib/backup";
import { parseStackConfig } from "../../lib/config/parse";
import { ConfigError, parsePlainConfig } from "../../lib/config/schema";
import { readStackFile, stackNames } from "../../lib/config/stackFiles";
import { deployUser } from "../../lib/topology";
import { checkParity, formatParityTable, hostConfigurationDrift, imageSourceReport } from "../../ops/parity";
import { hostConfiguration, hostConfigurationDigest } from "../../render/hostConfig";
import { projectDir } from "../toolchain/toolchain";
import { decryptedConfig, stackOutputs } from "./stacks";

async function main() {
  const { values, positionals } = parseArgs({
    options: { "project-dir": { type: "string" }, deployed: { type: "boolean", default: false } },
    allowPositionals: true,
  });
  const dir = values["project-dir"] ?? projectDir;
  const [stagingStack = "staging", prodStack = "prod"] = positionals;
  const load = async (stack: string) => {
    const { raw, encrypted } = await decryptedConfig(dir, stack);
    return parseStackConfig(stack, raw, encrypted);
  };
  const staging = await load(stagingStack);
  const prod = await load(prodStack);
  const report = await checkParity(staging, prod);
  console.log(`Sanctioned differences between ${stagingStack} and ${prodStack}:\n`);
  console.log(formatParityTable(report.differences));
  console.log(
    `\nRendered files that differ (all explained by the keys above): ${report.differingFiles.join(", ") || "none"}`,
  );
  console.log("\nImages each stack runs:");
  for (const stack of stackNames(dir)) {
    const { config } = parsePlainConfig(readStackFile(dir, stack).raw);
    if (config) console.log(imageSourceReport(stack, config).join("\n"));
  }
  console.log(
    `\nBackups, the same in every stack (lib/backup.ts): a full backup daily at ${backupPolicy.fullBackupAt} UTC, ${backupPolicy.retentionFull} kept, ${backupPolicy.cipher} on the client, WAL archived at least every ${backupPolicy.archiveTimeoutSeconds} s; only where the repository is (backup, its keys) differs.`,
  );
  console.log(
    `\nMonitoring, the same in every stack (lib/monitoring.ts): ${report.monitoring.rules.length} alert rules, ${report.monitoring.scrapeJobs.length} scrape jobs (${report.monitoring.scrapeJobs.join(", ")})`,
  );
  if (values.deployed) {
    const deployed = Object.fromEntries(
      await Promise.all(
        [stagingStack, prodStack].map(
          async (stack) => [stack, (await stackOutputs(dir, stack)).hostConfiguration] as const,
        ),
      ),
    );
    const drift = hostConfigurationDrift(deployed, hostConfigurationDigest(hostConfiguration(deployUser)));
    console.log(
      `\nHost configuration deployed: ${Object.entries(deployed)
        .map(([stack, digest]) => `${stack} ${digest ?? "(not deployed)"}`)
        .join(", ")}`,
    );
    report.problems.push(...drift);
    report.ok &&= drift.length === 0;
  }
  if (!report.ok) {
    console.error(`\nparity FAILED:\n  - ${report.problems.join("\n  - ")}`);
    process.exit(1);
  }
  console.log("\nparity OK: no difference outside the sanctioned list");
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : (error as Error).message);
  process.exit(1);
});
