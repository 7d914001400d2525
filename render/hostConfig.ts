import { createHash } from "node:crypto";
import { adminNetwork } from "../lib/services";
import { composeProjectDir, dataMountPath } from "../lib/topology";

/**
 * The host's own configuration that may change over its life: packages, SSH hardening, automatic
 * security upgrades. cloud-init applies it at first boot; the host-config step applies the same
 * document on every change, so a server that is never replaced (prod) runs what a server recreated
 * this morning (staging) runs.
 */
export interface HostConfiguration {
  packages: string[];
  files: { path: string; mode: "0644"; content: string }[];
  /**
   * systemd units: reloaded after the files change, enabled and started now, and enabled for the next
   * boot only (the platform's own unit: a deploy is what starts it the first time).
   */
  services: { reload: string[]; enable: string[]; enableAtBoot: string[] };
}

/** A systemd unit file as sections of directives; a directive given several values is written once per value. */
export type SystemdUnit = Record<string, Record<string, string | number | string[]>>;

export function renderSystemdUnit(unit: SystemdUnit): string {
  return `${Object.entries(unit)
    .map(([section, directives]) =>
      [
        `[${section}]`,
        ...Object.entries(directives).flatMap(([key, value]) =>
          (Array.isArray(value) ? value : [value]).map((each) => `${key}=${each}`),
        ),
      ].join("\n"),
    )
    .join("\n\n")}\n`;
}

/** Hetzner's metadata service: it serves the server's user data (its SSH host key among it) to any local process. */
export const metadataAddress = "169.254.169.254";

/** An nftables table as data: one family, chains with their hook and rules. */
export interface NftTable {
  family: "inet" | "ip";
  name: string;
  chains: { name: string; hook: "forward" | "input" | "output"; priority: number; rules: string[] }[];
}

/** The table, written so that loading it again replaces it (create, delete, create) rather than adding rules twice. */
export function renderNftTable(table: NftTable): string {
  const id = `${table.family} ${table.name}`;
  return `${[
    `table ${id}`,
    `delete table ${id}`,
    `table ${id} {`,
    ...table.chains.flatMap((chain) => [
      `\tchain ${chain.name} {`,
      `\t\ttype filter hook ${chain.hook} priority ${chain.priority}; policy accept;`,
      ...chain.rules.map((rule) => `\t\t${rule}`),
      "\t}",
    ]),
    "}",
  ].join("\n")}\n`;
}

/**
 * Containers never reach the metadata service: what they send there is forwarded from podman's bridge,
 * and refused before podman's own rules see it. The host's own processes (cloud-init) still reach it.
 */
export const metadataBlock: NftTable = {
  family: "inet",
  name: "olympus_metadata",
  chains: [{ name: "forward", hook: "forward", priority: -10, rules: [`ip daddr ${metadataAddress} reject`] }],
};
export const metadataBlockFile = "/etc/olympus/metadata-block.nft";

/**
 * Nothing reaches the admin network from another network (lib/services.ts adminNetwork): a container on
 * the intranet dialling an admin address is forwarded by the host, and refused here. The network's
 * members reach each other on its own bridge, and the SSH tunnels' loopback ports are the host's own
 * traffic, never forwarded. The deploy loads it before any service starts, in every environment.
 */
export const adminNetworkGuard: NftTable = {
  family: "inet",
  name: "olympus_admin_network",
  chains: [
    {
      name: "forward",
      hook: "forward",
      priority: -10,
      rules: [`ip daddr ${adminNetwork.subnet} ip saddr != ${adminNetwork.subnet} reject`],
    },
  ],
};
const metadataBlockUnit = "olympus-metadata-block.service";

/** The unit that brings the platform back when the host boots. */
export const platformUnit = "olympus.service";

/**
 * After a reboot (a kernel update, a Hetzner host event, a resize, which powers the server off) the
 * platform starts again by itself: once the data volume is mounted and the network is up, the deploy
 * script's `boot` starts the phases in order, each healthy before the next, as a deploy does (without
 * its migrations and restore point: no release is being made). A project that was taken down on
 * purpose (`down`) stays down.
 */
export function platformBootUnit(deployUser: string): SystemdUnit {
  return {
    Unit: {
      Description: "The Olympus platform, started phase by phase until healthy",
      Wants: "network-online.target",
      After: ["network-online.target", "local-fs.target"],
      RequiresMountsFor: dataMountPath,
      ConditionPathExists: `${composeProjectDir}/olympus-deploy.sh`,
    },
    Service: {
      Type: "oneshot",
      RemainAfterExit: "yes",
      User: deployUser,
      ExecStart: `${composeProjectDir}/olympus-deploy.sh boot`,
      // Every phase may wait its health timeout; the unit must outlast them rather than kill a start half-way.
      TimeoutStartSec: "30min",
    },
    Install: { WantedBy: "multi-user.target" },
  };
}

export const sshdHardening = {
  PasswordAuthentication: "no",
  KbdInteractiveAuthentication: "no",
  PermitRootLogin: "no",
  PubkeyAuthentication: "yes",
  AllowUsers: undefined as string | undefined,
};

export function hostConfiguration(deployUser: string): HostConfiguration {
  const sshd = { ...sshdHardening, AllowUsers: deployUser };
  return {
    // The deploy step installs the pinned podman-compose into a virtual environment: Ubuntu's is too old.
    packages: ["podman", "python3-venv", "unattended-upgrades", "jq", "postgresql-client", "nftables"],
    files: [
      {
        path: "/etc/ssh/sshd_config.d/10-olympus.conf",
        mode: "0644",
        content: `${Object.entries(sshd)
          .map(([option, value]) => `${option} ${value}`)
          .join("\n")}\n`,
      },
      {
        path: "/etc/apt/apt.conf.d/20auto-upgrades",
        mode: "0644",
        content: 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n',
      },
      { path: metadataBlockFile, mode: "0644", content: renderNftTable(metadataBlock) },
      {
        path: `/etc/systemd/system/${metadataBlockUnit}`,
        mode: "0644",
        content: renderSystemdUnit({
          Unit: {
            Description: "Containers never reach Hetzner's metadata service (the server's user data)",
            // In place before podman starts any container at boot.
            Before: ["network-pre.target", platformUnit],
            Wants: "network-pre.target",
          },
          Service: { Type: "oneshot", RemainAfterExit: "yes", ExecStart: `/usr/sbin/nft -f ${metadataBlockFile}` },
          Install: { WantedBy: "multi-user.target" },
        }),
      },
      {
        path: `/etc/systemd/system/${platformUnit}`,
        mode: "0644",
        content: renderSystemdUnit(platformBootUnit(deployUser)),
      },
    ],
    services: {
      reload: ["ssh.service", metadataBlockUnit],
      enable: ["unattended-upgrades.service", metadataBlockUnit],
      enableAtBoot: [platformUnit],
    },
  };
}

/** Short digest of a host configuration: what the host-config step applied, as the stack reports it. */
export function hostConfigurationDigest(config: HostConfiguration): string {
  return createHash("sha256").update(JSON.stringify(config)).digest("hex").slice(0, 16);
}

/**
 * The configuration as the apply script reads it on stdin, one tab-separated record per line (the host
 * has no JSON tool before its packages are installed): `package NAME`, `file PATH MODE BASE64`,
 * `reload UNIT`, `enable UNIT`, `boot UNIT`.
 */
export function hostConfigurationRecords(config: HostConfiguration): string {
  return `${[
    ...config.packages.map((name) => `package\t${name}`),
    ...config.files.map((file) => `file\t${file.path}\t${file.mode}\t${Buffer.from(file.content).toString("base64")}`),
    ...config.services.reload.map((unit) => `reload\t${unit}`),
    ...config.services.enable.map((unit) => `enable\t${unit}`),
    ...config.services.enableAtBoot.map((unit) => `boot\t${unit}`),
  ].join("\n")}\n`;
}
