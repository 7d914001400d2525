import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The JSON report feeds .ci/run's "N passed, M failed" line.
    reporters: ["default", ["json", { outputFile: ".pulumi/test-results.json" }]],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          setupFiles: ["test/helpers/unitSetup.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          // Real services and the real Pulumi engine: slower, and they share ports, so one file at a time.
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 600_000,
          hookTimeout: 900_000,
          globalSetup: ["test/integration/globalSetup.ts"],
        },
      },
    ],
  },
});
