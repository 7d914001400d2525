import type { types } from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";

/**
 * What every host variant offers the Olympus stack, so the stack never cares whether it runs on a
 * Hetzner server or on an existing machine reached over SSH.
 */
export interface OlympusHost {
  /** Public IPv4 address. */
  ipv4: pulumi.Output<string>;
  /** Public IPv6 address ("" where the host has none). */
  ipv6: pulumi.Output<string>;
  /** SSH connection for @pulumi/command remote resources, with the host key pinned. Secret. */
  connection: pulumi.Output<types.input.remote.ConnectionArgs>;
  /** The command an operator runs to reach the host. */
  sshCommand: pulumi.Output<string>;
  /**
   * Changes whenever the machine itself is replaced (a new server id); remote steps use it as a
   * trigger so a rebuilt or woken server is provisioned again.
   */
  machineId: pulumi.Output<string>;
  /**
   * Whether the machine runs the stack's services. False while the stack sleeps: a Hetzner server is
   * deleted (its IPs, volume and DNS stay); an existing machine stays, its services stopped.
   */
  awake: boolean;
  /** Which protections are in force, for the stack outputs. */
  protections: pulumi.Output<Record<string, boolean>>;
}
