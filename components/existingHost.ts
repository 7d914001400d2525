import { remote } from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { OlympusHost } from "../lib/host";
import { composeProject, dataMountPath } from "../lib/topology";

export interface ExistingHostArgs {
  /** Address the machine is reached at (IPv4 address or DNS name). */
  address: string;
  /** SSH port. @default 22 */
  port?: number;
  /** User with passwordless sudo that runs the deploy. */
  user: string;
  /** The machine's SSH host public key (`ssh-ed25519 AAAA...`), pinned by every remote step. */
  hostKey: string;
  /** A private key the machine accepts for `user`. Secret. */
  privateKey: pulumi.Input<string>;
  /** false stops the stack's services (the machine stays, as do its data). @default true */
  awake?: boolean;
}

/** Runs as root: directly when the user is root, through sudo otherwise. */
const asRoot = (command: string) => `if [ "$(id -u)" -eq 0 ]; then ${command}; else sudo sh -c '${command}'; fi`;

/**
 * A machine that already exists and is reached over SSH (the local dev tier). It offers the same
 * outputs as a Hetzner host, so the Olympus stack deploys onto it unchanged. The one thing it owns is
 * the stack's workspace there: the data directory, and on delete everything the compose project left
 * (volumes, data), so the machine is left as it was found.
 */
export class ExistingHost extends pulumi.ComponentResource implements OlympusHost {
  readonly ipv4: pulumi.Output<string>;
  readonly ipv6: pulumi.Output<string>;
  readonly connection: OlympusHost["connection"];
  readonly sshCommand: pulumi.Output<string>;
  readonly awake: boolean;
  readonly machineId: pulumi.Output<string>;
  readonly protections: pulumi.Output<Record<string, boolean>>;

  constructor(name: string, args: ExistingHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("olympus:host:ExistingHost", name, {}, opts);
    const port = args.port ?? 22;
    const access = pulumi.secret(
      pulumi
        .output(args.privateKey)
        .apply((privateKey) => ({ host: args.address, port, user: args.user, privateKey, hostKey: args.hostKey })),
    );
    const volumes = `podman volume ls -q --filter label=com.docker.compose.project=${composeProject} | xargs -r podman volume rm`;
    const workspace = new remote.Command(
      `${name}-workspace`,
      {
        connection: access,
        create: asRoot(`mkdir -p ${dataMountPath}`),
        // The project's containers are gone by now (the deploy steps are deleted first); what they kept stays behind.
        delete: asRoot(`${volumes} && rm -rf ${dataMountPath}`),
        addPreviousOutputInEnv: false,
      },
      { parent: this },
    );
    // Every remote step waits for the workspace, so on destroy they are deleted before it cleans up.
    this.connection = pulumi.secret(pulumi.all([access, workspace.id]).apply(([connection]) => connection));
    this.ipv4 = pulumi.output(args.address);
    this.ipv6 = pulumi.output("");
    this.sshCommand = pulumi.output(`ssh -p ${port} ${args.user}@${args.address}`);
    this.awake = args.awake ?? true;
    this.machineId = pulumi.output(`${args.user}@${args.address}:${port}`);
    this.protections = pulumi.output<Record<string, boolean>>({ pulumiProtect: false, backups: false });
    this.registerOutputs({ ipv4: this.ipv4, sshCommand: this.sshCommand });
  }
}
