import * as pulumi from "@pulumi/pulumi";
import { resourceOptions } from "./pulumiMocks";

/**
 * Closure serialization, which every dynamic resource performs on construction, cannot run under
 * vitest (pulumi/pulumi#10480). Unit tests that build whole stacks swap the dynamic resources for
 * custom resources with the same type token and inputs; the provider objects are tested as plain
 * functions, and the real serialization is proven by the engine tests.
 */
export function standInFor(module: string, type: string, outputs: string[]) {
  return class extends pulumi.CustomResource {
    constructor(name: string, args: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) {
      resourceOptions.set(name, opts ?? {});
      super(
        `pulumi-nodejs:dynamic/${module}:${type}`,
        name,
        { ...args, ...Object.fromEntries(outputs.map((output) => [output, undefined])) },
        opts,
      );
    }
  };
}
