import * as pulumi from "@pulumi/pulumi";
import { generateSshKeyPair } from "../lib/keys";

export interface SshKeyPairInputs {
  /** Written into the public key line. */
  comment: string;
}

export interface SshKeyPairOutputs extends SshKeyPairInputs {
  publicKey: string;
  privateKey: string;
  fingerprint: string;
}

/**
 * An SSH key pair generated once (by ssh2, in OpenSSH's formats) and kept in the state from then on: a
 * host key that a rebuilt or woken server gets back, a deploy key. Nothing replaces it: a new comment
 * changes no key.
 */
export const sshKeyPairProvider: pulumi.dynamic.ResourceProvider<SshKeyPairInputs, SshKeyPairOutputs> = {
  async create(inputs) {
    const pair = generateSshKeyPair(inputs.comment);
    return { id: pair.fingerprint, outs: { ...inputs, ...pair } };
  },

  async diff() {
    return { changes: false };
  },
};

/** An Ed25519 SSH key pair that lives in the stack's state. */
export class SshKeyPair extends pulumi.dynamic.Resource {
  declare readonly publicKey: pulumi.Output<string>;
  declare readonly privateKey: pulumi.Output<string>;
  declare readonly fingerprint: pulumi.Output<string>;

  constructor(name: string, args: { comment: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
    super(
      sshKeyPairProvider,
      name,
      { ...args, publicKey: undefined, privateKey: undefined, fingerprint: undefined },
      { ...opts, additionalSecretOutputs: ["privateKey"] },
      "olympus:keys",
      "SshKeyPair",
    );
  }
}
