import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { generateSshKeyPair } from "../../lib/keys";

/** Options passed to constructors wrapped by `recordingOptions` (mocks never see options). */
// On globalThis: vi.resetModules gives mock factories a fresh copy of this module.
const optionsStore = globalThis as { __olympusResourceOptions?: Map<string, pulumi.CustomResourceOptions> };
optionsStore.__olympusResourceOptions ??= new Map<string, pulumi.CustomResourceOptions>();
export const resourceOptions = optionsStore.__olympusResourceOptions;

/**
 * A copy of a provider module whose resource classes remember the options they were constructed
 * with; use it in a vi.mock factory.
 */
export function recordingOptions<M extends Record<string, unknown>>(module: M, classNames: (keyof M & string)[]): M {
  const wrapped: Record<string, unknown> = { ...module };
  for (const className of classNames) {
    const Original = module[className] as new (
      name: string,
      args: unknown,
      opts?: pulumi.CustomResourceOptions,
    ) => object;
    wrapped[className] = class extends Original {
      constructor(name: string, args: unknown, opts?: pulumi.CustomResourceOptions) {
        resourceOptions.set(name, opts ?? {});
        super(name, args, opts);
      }
    };
  }
  return wrapped as M;
}

/** Every resource the mock engine saw, with its inputs and options as registered. */
export interface RecordedResource {
  type: string;
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: inputs as the engine recorded them; tests assert on their shape
  inputs: Record<string, any>;
  custom: boolean;
  id: string;
  /** Resource options as the program passed them (captured by a stack transformation). */
  options: pulumi.CustomResourceOptions;
}

/**
 * The bytes a random resource would produce, derived from its stack and name: repeatable, distinct
 * between resources and between stacks, so a value the program does not take from its own resources
 * (a constant, a value shared across stacks) shows up in tests.
 */
const bytesFor = (stack: string, name: string, length: number) => {
  let bytes = Buffer.alloc(0);
  for (let block = 0; bytes.length < length; block++)
    bytes = Buffer.concat([bytes, createHash("sha256").update(`${stack}\0${name}\0${block}`).digest()]);
  return bytes.subarray(0, length);
};
const password = (stack: string, name: string, length: number) => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return [...bytesFor(stack, name, length)].map((byte) => alphabet[byte % alphabet.length]).join("");
};

/** Computed outputs the real providers would return, so components see realistic values. */
function providerOutputs(
  stack: string,
  type: string,
  name: string,
  // biome-ignore lint/suspicious/noExplicitAny: inputs as the engine recorded them; tests assert on their shape
  inputs: Record<string, any>,
): Record<string, unknown> {
  const n = Number.parseInt(createHash("sha256").update(name).digest("hex").slice(0, 4), 16);
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
      return { result: password(stack, name, inputs.length) };
    case "pulumi-nodejs:dynamic/olympus:keys:SshKeyPair":
      return { ...generateSshKeyPair(inputs.comment) };
    case "hcloud:index/primaryIp:PrimaryIp":
      return inputs.type === "ipv4"
        ? { ipAddress: `203.0.113.${n % 250}`, ipNetwork: "" }
        : { ipAddress: `2001:db8:${n.toString(16)}::`, ipNetwork: `2001:db8:${n.toString(16)}::/64` };
    case "hcloud:index/zone:Zone":
      return { name: inputs.name };
    default:
      return {};
  }
}

/**
 * Installs mocks that record every resource. Unexpected provider function calls throw, so a data
 * source lookup that would call the Hetzner API during preview fails the test.
 */
export function installMocks(options: {
  project?: string;
  stack: string;
  config: Record<string, string>;
  secretKeys?: string[];
  /** The outputs of the stack's last run, which the program reads back through a reference to itself. @default {} */
  previousOutputs?: Record<string, unknown>;
}): RecordedResource[] {
  const recorded: RecordedResource[] = [];
  pulumi.runtime.setAllConfig(options.config, options.secretKeys ?? []);
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (args.type === "pulumi:pulumi:StackReference")
          return {
            id: args.name,
            state: { name: args.name, outputs: options.previousOutputs ?? {}, secretOutputNames: [] },
          };
        const id = `${args.name}-id-${recorded.length + 1}`;
        const numericId = String(1000 + recorded.length);
        const outputs = { ...args.inputs, ...providerOutputs(options.stack, args.type, args.name, args.inputs) };
        recorded.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          custom: args.custom ?? true,
          id: numericId,
          options: resourceOptions.get(args.name) ?? {},
        });
        return { id: args.type.startsWith("hcloud:") ? numericId : id, state: outputs };
      },
      call(args) {
        throw new Error(`unexpected provider function call ${args.token}: previews must not query provider APIs`);
      },
    },
    options.project ?? "olympus",
    options.stack,
    false,
    // What the file backend calls every stack's organization.
    "organization",
  );
  return recorded;
}

/** Resolves an Output's value; assertions happen on the awaited value, never inside apply. */
export function outputValue<T>(output: pulumi.Output<T> | pulumi.Input<T>): Promise<T> {
  return new Promise<T>((resolve) => pulumi.output(output).apply((value) => resolve(value as T)));
}

/** Whether the Output carries the secret flag. */
export function isSecret(output: pulumi.Output<unknown>): Promise<boolean> {
  return (output as unknown as { isSecret: Promise<boolean> }).isSecret;
}

export const ofType = (recorded: RecordedResource[], type: string) =>
  recorded.filter((resource) => resource.type === type);

/** Waits until the mock engine has seen every resource registration in flight. */
export async function settled(): Promise<void> {
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
  await settings.waitForRPCs();
}

/** The signature key Pulumi marks secret values with on the wire. */
const secretSignature = "4dabf18193072939515e22adb298388d";

/** Whether a recorded input arrived as a secret, and its value. */
// biome-ignore lint/suspicious/noExplicitAny: a recorded input's value, whatever the resource took
export function secretInput(value: unknown): { secret: boolean; value: any } {
  if (value && typeof value === "object" && secretSignature in value)
    return { secret: true, value: (value as unknown as { value: unknown }).value };
  return { secret: false, value };
}
