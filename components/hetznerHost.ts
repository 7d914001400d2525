import { readFileSync } from "node:fs";
import { join } from "node:path";
import { remote } from "@pulumi/command";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../lib/config/schema";
import { type ServerType, volumeDevicePath } from "../lib/hetzner";
import type { OlympusHost } from "../lib/host";
import { type SshKeyPair, sshFingerprint } from "../lib/keys";
import { dataMountPath, deployUser } from "../lib/topology";
import { renderCloudInit } from "../render/cloudInit";
import { hostConfiguration, hostConfigurationDigest, hostConfigurationRecords } from "../render/hostConfig";

export interface HetznerHostArgs {
  /** What the resources are called in the Hetzner project (people read the stack there). @default the component's name */
  namePrefix?: string;
  /** Environment kind, written into every resource's labels. */
  environment: Environment;
  /** Hetzner ARM server type (cax11 ... cax41). */
  serverType: ServerType;
  /** Hetzner location offering ARM servers. */
  location: string;
  /** Server image. @default "ubuntu-24.04" */
  image?: string;
  /** Size of the data volume in GB. @default 20 */
  volumeSizeGb?: number;
  /** Networks allowed to reach SSH; nothing else but 80/443 is open. */
  adminCidrs: string[];
  /** Operators' SSH public keys, added next to the stack's deploy key. @default [] */
  adminSshPublicKeys?: string[];
  /** The stack's deploy key pair (secret). */
  deployKey: pulumi.Input<SshKeyPair>;
  /** The stack's SSH host key pair (secret): baked into cloud-init and pinned by the deploy step. */
  hostKey: pulumi.Input<SshKeyPair>;
  /** Name the primary IPs resolve back to (reverse DNS), e.g. host.example.com. */
  reverseDnsName: string;
  /** Pulumi `protect` and Hetzner delete/rebuild protection on server, IPs and volume. @default false */
  protect?: boolean;
  /** Hetzner daily backups of the server. @default false */
  backups?: boolean;
  /** false deletes only the server; IPs, volume and firewall stay (staging sleep). @default true */
  awake?: boolean;
}

const hostScript = readFileSync(join(__dirname, "..", "render", "assets", "olympus-host.sh")).toString("base64");
/** The apply script travels inline, the configuration on stdin: nothing needs installing first. */
const applyHostConfiguration = `bash -c "$(echo ${hostScript} | base64 -d)" olympus-host`;

export type FirewallRule = hcloud.types.input.FirewallRule & { port: string; sourceIps: string[] };

const anywhere = ["0.0.0.0/0", "::/0"];

/** Inbound rules: web from anywhere, SSH from the admin networks; Hetzner denies everything else. */
export function firewallRules(adminCidrs: string[]): FirewallRule[] {
  return [
    {
      direction: "in",
      protocol: "tcp",
      port: "80",
      sourceIps: anywhere,
      description: "HTTP (ACME, redirect to HTTPS)",
    },
    { direction: "in", protocol: "tcp", port: "443", sourceIps: anywhere, description: "HTTPS" },
    { direction: "in", protocol: "udp", port: "443", sourceIps: anywhere, description: "HTTP/3" },
    {
      direction: "in",
      protocol: "tcp",
      port: "22",
      sourceIps: [...adminCidrs],
      description: "SSH from admin networks",
    },
  ];
}

/** Hetzner routes a primary IPv6 /64 to the server, which answers on its first address. */
export function firstAddressOf(ipv6Network: string): string {
  const [prefix] = ipv6Network.split("/");
  if (!prefix?.endsWith("::"))
    throw new Error(`expected an IPv6 /64 network such as 2001:db8::/64; got ${ipv6Network}`);
  return `${prefix}1`;
}

/**
 * One Hetzner Cloud server with everything that must outlive it: primary IPv4/IPv6 with reverse DNS,
 * a data volume, a default-deny Cloud Firewall and the SSH keys. The server can be deleted and
 * recreated (staging sleep, a forced rebuild) without losing addresses, data or the host key.
 */
export class HetznerHost extends pulumi.ComponentResource implements OlympusHost {
  readonly ipv4: pulumi.Output<string>;
  readonly ipv6: pulumi.Output<string>;
  readonly connection: OlympusHost["connection"];
  readonly sshCommand: pulumi.Output<string>;
  readonly awake: boolean;
  readonly machineId: pulumi.Output<string>;
  readonly protections: pulumi.Output<Record<string, boolean>>;
  readonly server?: hcloud.Server;
  readonly firewall: hcloud.Firewall;
  readonly volume: hcloud.Volume;
  /** Digest of the host configuration the host-config step applies (render/hostConfig.ts). */
  readonly hostConfiguration: string;

  constructor(name: string, args: HetznerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("olympus:host:HetznerHost", name, {}, opts);
    const parent = this;
    const protect = args.protect ?? false;
    const prefix = args.namePrefix ?? name;
    const labels = { env: args.environment, stack: pulumi.getStack(), "managed-by": "pulumi" };

    const sshKeyIds = createSshKeys();
    this.firewall = createFirewall();
    const ipv4 = createPrimaryIp("ipv4");
    const ipv6 = createPrimaryIp("ipv6");
    this.ipv4 = ipv4.ipAddress;
    this.ipv6 = ipv6.ipNetwork.apply(firstAddressOf);
    createReverseDns("ipv4", ipv4, this.ipv4);
    createReverseDns("ipv6", ipv6, this.ipv6);
    this.volume = createVolume();
    this.awake = args.awake ?? true;
    const access = sshAccess();
    this.hostConfiguration = hostConfigurationDigest(hostConfiguration(deployUser));
    if (this.awake) {
      this.server = createServer();
      // Every remote step of the stack waits for a configured host.
      this.connection = configureHost(attachVolume(this.server));
    } else {
      this.connection = access;
    }
    this.machineId = this.server ? this.server.id : pulumi.output("asleep");
    this.sshCommand = pulumi.interpolate`ssh ${deployUser}@${this.ipv4}`;
    this.protections = pulumi.output<Record<string, boolean>>({
      pulumiProtect: protect,
      hetznerDeleteProtection: protect,
      hetznerRebuildProtection: protect,
      backups: args.backups ?? false,
    });
    this.registerOutputs({
      ipv4: this.ipv4,
      ipv6: this.ipv6,
      sshCommand: this.sshCommand,
      protections: this.protections,
      hostConfiguration: this.hostConfiguration,
    });

    /** The deploy key and every operator's key, for the server's first boot. */
    function createSshKeys(): pulumi.Output<string>[] {
      const deploy = new hcloud.SshKey(
        `${name}-deploy-key`,
        { name: `${prefix}-deploy`, publicKey: pulumi.output(args.deployKey).apply((key) => key.publicKey), labels },
        { parent },
      );
      const admins = (args.adminSshPublicKeys ?? []).map((publicKey) => {
        // Named by fingerprint so reordering the config list replaces nothing.
        const id = sshFingerprint(publicKey)
          .slice("SHA256:".length)
          .replace(/[^A-Za-z0-9]/g, "")
          .slice(0, 12);
        return new hcloud.SshKey(
          `${name}-admin-key-${id}`,
          { name: `${prefix}-admin-${id}`, publicKey, labels },
          { parent },
        );
      });
      return [deploy, ...admins].map((key) => key.id);
    }

    function createFirewall(): hcloud.Firewall {
      return new hcloud.Firewall(
        `${name}-firewall`,
        { name: `${prefix}-firewall`, labels, rules: firewallRules(args.adminCidrs) },
        // Deleted, the server would face the internet unfiltered: a raw destroy of prod stops here.
        { parent, protect },
      );
    }

    /** Addresses that outlive the server: a rebuilt or woken server gets them back. */
    function createPrimaryIp(type: "ipv4" | "ipv6"): hcloud.PrimaryIp {
      return new hcloud.PrimaryIp(
        `${name}-${type}`,
        {
          name: `${prefix}-${type}`,
          type,
          location: args.location,
          autoDelete: false,
          deleteProtection: protect,
          labels,
        },
        { parent, protect },
      );
    }

    function createReverseDns(type: "ipv4" | "ipv6", ip: hcloud.PrimaryIp, address: pulumi.Output<string>) {
      return new hcloud.Rdns(
        `${name}-${type}-rdns`,
        { primaryIpId: ip.id.apply(Number), ipAddress: address, dnsPtr: args.reverseDnsName },
        { parent },
      );
    }

    /** The data volume (PostgreSQL, Caddy's certificates): it outlives the server. */
    function createVolume(): hcloud.Volume {
      return new hcloud.Volume(
        `${name}-data`,
        {
          name: `${prefix}-data`,
          size: args.volumeSizeGb ?? 20,
          location: args.location,
          format: "ext4",
          automount: false,
          deleteProtection: protect,
          labels,
        },
        { parent, protect },
      );
    }

    /** How every remote step reaches the host: the deploy key, with the stack's host key pinned. Secret. */
    function sshAccess(): OlympusHost["connection"] {
      return pulumi.secret(
        pulumi.all([parent.ipv4, args.deployKey, args.hostKey]).apply(([host, deployKey, hostKey]) => ({
          host,
          port: 22,
          user: deployUser,
          privateKey: deployKey.privateKey,
          hostKey: hostKey.publicKey.split(" ").slice(0, 2).join(" "),
          // A new server needs a minute or two before sshd answers.
          dialErrorLimit: 40,
          perDialTimeout: 15,
        })),
      );
    }

    function createServer(): hcloud.Server {
      const userData = pulumi.secret(
        pulumi.all([args.hostKey, args.deployKey, parent.volume.id]).apply(([hostKey, deployKey, volumeId]) =>
          renderCloudInit({
            deployUser,
            authorizedKeys: [deployKey.publicKey, ...(args.adminSshPublicKeys ?? [])],
            hostKey,
            volumeId,
            mountPath: dataMountPath,
          }),
        ),
      );
      return new hcloud.Server(
        `${name}-server`,
        {
          name: prefix,
          serverType: args.serverType,
          image: args.image ?? "ubuntu-24.04",
          location: args.location,
          sshKeys: sshKeyIds,
          userData,
          backups: args.backups ?? false,
          deleteProtection: protect,
          rebuildProtection: protect,
          shutdownBeforeDeletion: true,
          keepDisk: true,
          firewallIds: [parent.firewall.id.apply(Number)],
          publicNets: [
            { ipv4Enabled: true, ipv4: ipv4.id.apply(Number), ipv6Enabled: true, ipv6: ipv6.id.apply(Number) },
          ],
          labels,
        },
        {
          parent,
          protect,
          // Hetzner replaces a server when user data, keys or image change. They only matter at first
          // boot; later key changes are applied by the deploy step, so an edit never rebuilds the host.
          ignoreChanges: ["userData", "sshKeys", "image"],
          // The replacement needs the primary IPs the old server holds.
          deleteBeforeReplace: true,
        },
      );
    }

    function attachVolume(server: hcloud.Server): hcloud.VolumeAttachment {
      return new hcloud.VolumeAttachment(
        `${name}-data-attachment`,
        { serverId: server.id.apply(Number), volumeId: parent.volume.id.apply(Number), automount: false },
        // Detached under a running PostgreSQL, the data would be lost mid-write.
        { parent, protect },
      );
    }

    /** The user data is ignored after first boot; this step keeps the host's configuration current. */
    function configureHost(attachment: hcloud.VolumeAttachment): OlympusHost["connection"] {
      const configured = new remote.Command(
        `${name}-host-config`,
        {
          connection: access,
          create: applyHostConfiguration,
          stdin: hostConfigurationRecords(hostConfiguration(deployUser)),
          triggers: [parent.server!.id],
          addPreviousOutputInEnv: false,
          logging: "stderr",
        },
        { parent, dependsOn: [attachment] },
      );
      // A raised volumeSizeGb grows the volume; this grows its filesystem into the new space, online.
      const grown = new remote.Command(
        `${name}-grow-filesystem`,
        {
          connection: access,
          create: pulumi.interpolate`${applyHostConfiguration} grow-filesystem ${parent.volume.id.apply(volumeDevicePath)}`,
          triggers: [parent.server!.id, parent.volume.size],
          addPreviousOutputInEnv: false,
          logging: "stderr",
        },
        { parent, dependsOn: [configured] },
      );
      return pulumi.secret(pulumi.all([access, configured.id, grown.id]).apply(([connection]) => connection));
    }
  }
}
