import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

/**
 * The rooms of the house, from the ground floor up, and what each may import besides itself:
 * lib (config, the service catalogue, facts) < render (pure files) and clients (what talks to the
 * services) < providers (dynamic resources) < components (Pulumi resources) and ops (checks across
 * stacks) < index.ts; scripts by job, toolchain < operations < devhost < bench. The policy pack reads
 * only the version table. dependency-cruiser reads every import and finds every circle.
 */
const program = ["lib", "render", "clients", "providers", "components", "ops"];
const layers: Record<string, string[]> = {
  lib: [],
  render: ["lib"],
  clients: ["lib"],
  providers: ["lib", "clients"],
  components: ["lib", "render", "clients", "providers"],
  ops: ["lib", "render", "clients"],
  "index.ts": program,
  "scripts/toolchain": ["lib"],
  "scripts/operations": ["lib", "render", "clients", "ops", "scripts/toolchain"],
  "scripts/devhost": ["lib", "render", "clients", "ops", "scripts/toolchain", "scripts/operations"],
  "scripts/bench": ["lib", "render", "clients", "ops", "scripts/toolchain", "scripts/operations", "scripts/devhost"],
  policy: ["lib/versionTable.json"],
};
const root = join(__dirname, "..", "..");
const literal = (path: string) => path.replace(/[.]/g, "\\.");
const under = (paths: string[]) => `^(${paths.map(literal).join("|")})(/|$)`;

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
  cycle?: { name: string }[];
}
let violations: Violation[] = [];

beforeAll(async () => {
  const { cruise } = await import("dependency-cruiser");
  const rooms = Object.keys(layers);
  const result = await cruise(
    rooms,
    {
      baseDir: root,
      validate: true,
      tsPreCompilationDeps: true,
      doNotFollow: { path: "node_modules" },
      exclude: { path: "node_modules" },
      ruleSet: {
        forbidden: [
          { name: "no-circular", severity: "error", from: {}, to: { circular: true } },
          ...rooms.map((room) => ({
            name: `${room} imports only ${layers[room]!.join(", ") || "itself"}`,
            severity: "error" as const,
            from: { path: under([room]) },
            to: { pathNot: under([room, ...layers[room]!, "node_modules"]), dependencyTypesNot: ["core" as const] },
          })),
        ],
      },
    },
    {},
    { tsConfig: { fileName: join(root, "tsconfig.json") } },
  );
  violations = (result.output as { summary: { violations: Violation[] } }).summary.violations;
}, 60_000);

describe("the house", () => {
  it.each(Object.keys(layers))("%s imports only from the rooms below it", (room) => {
    expect(
      violations
        .filter((violation) => violation.rule.name.startsWith(`${room} imports`))
        .map((violation) => `${violation.from} -> ${violation.to}`),
    ).toEqual([]);
  });

  it("has no import circle, inside a room or across rooms", () => {
    expect(
      violations
        .filter((violation) => violation.rule.name === "no-circular")
        .map((violation) => [violation.from, ...(violation.cycle ?? []).map((step) => step.name)].join(" -> ")),
    ).toEqual([]);
  });
});
