import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layers, from the ground floor up: lib (config, topology, facts) < render (pure files) and seed
 * (what runs against the services) < components (Pulumi resources) and ops (checks across stacks) <
 * index.ts and scripts. A module may import only from its own layer or below.
 */
const root = join(__dirname, "..", "..");
const allowed: Record<string, string[]> = {
  lib: ["lib"],
  render: ["lib", "render"],
  seed: ["lib", "seed"],
  components: ["lib", "render", "seed", "components"],
  ops: ["lib", "render", "seed", "ops"],
};

const importsOf = (file: string) =>
  [...readFileSync(file, "utf8").matchAll(/from "\.\.\/([a-z]+)\//g)].map((match) => match[1]!);

describe("the layers", () => {
  it.each(Object.keys(allowed))("%s imports only from its own layer or below", (layer) => {
    const offending = readdirSync(join(root, layer))
      .filter((file) => file.endsWith(".ts"))
      .flatMap((file) =>
        importsOf(join(root, layer, file))
          .filter((target) => !allowed[layer]!.includes(target))
          .map((target) => `${layer}/${file} -> ${target}/`),
      );
    expect(offending).toEqual([]);
  });
});
