import * as pulumi from "@pulumi/pulumi";
import type { OlympusHost } from "../lib/host";
import type { SshKeyPair } from "../lib/keys";

export interface ExistingHostArgs {
  /** Address the machine is reached at (IPv4 address or DNS name). */
  address: string;
  /** SSH port. @default 22 */
  port?: number;
  /** User with passwordless sudo that runs the deploy. */
  user: string;
  /** The machine's SSH host public key (`ssh-keyscan -t ed25519 HOST`), pinned by every remote step. */
  hostKey: string;
  /** The stack's deploy key pair (secret); its public half must be in the user's authorized_keys. */
  deployKey: pulumi.Input<SshKeyPair>;
}

/**
 * A machine that already exists and is reached over SSH (the local dev tier). It offers the same
 * outputs as a Hetzner host, so the Olympus stack deploys onto it unchanged; nothing is created.
 */
export class ExistingHost extends pulumi.ComponentResource implements OlympusHost {
  readonly ipv4: pulumi.Output<string>;
  readonly ipv6: pulumi.Output<string>;
  readonly connection: OlympusHost["connection"];
  readonly sshCommand: pulumi.Output<string>;
  readonly machineId: pulumi.Output<string>;
  readonly protections: pulumi.Output<Record<string, boolean>>;

  constructor(name: string, args: ExistingHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("olympus:host:ExistingHost", name, {}, opts);
    const port = args.port ?? 22;
    this.ipv4 = pulumi.output(args.address);
    this.ipv6 = pulumi.output("");
    this.connection = pulumi.secret(
      pulumi.output(args.deployKey).apply((deployKey) => ({
        host: args.address,
        port,
        user: args.user,
        privateKey: deployKey.privateKey,
        hostKey: args.hostKey.split(" ").slice(0, 2).join(" "),
      })),
    );
    this.sshCommand = pulumi.output(`ssh -p ${port} ${args.user}@${args.address}`);
    this.machineId = pulumi.output(`${args.user}@${args.address}:${port}`);
    this.protections = pulumi.output<Record<string, boolean>>({ pulumiProtect: false, backups: false });
    this.registerOutputs({ ipv4: this.ipv4, sshCommand: this.sshCommand });
  }
}
