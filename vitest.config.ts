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
          // One module graph per worker: importing @pulumi/pulumi per file was a third of the run (18.5 s
          // isolated, 12 s shared). The files share no state: each sets its own Pulumi mocks before running
          // the program, and they pass in shuffled order.
          isolate: false,
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
