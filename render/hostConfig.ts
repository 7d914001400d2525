import { createHash } from "node:crypto";

/**
 * The host's own configuration that may change over its life: packages, SSH hardening, automatic
 * security upgrades. cloud-init applies it at first boot; the host-config step applies the same
 * document on every change, so a server that is never replaced (prod) runs what a server recreated
 * this morning (staging) runs.
 */
export interface HostConfiguration {
  packages: string[];
  files: { path: string; mode: "0644"; content: string }[];
  /** systemd units to (re)start after the files change. */
  services: { reload: string[]; enable: string[] };
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
    packages: ["podman", "python3-venv", "unattended-upgrades", "jq", "postgresql-client"],
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
    ],
    services: { reload: ["ssh.service"], enable: ["unattended-upgrades.service"] },
  };
}

/** Short digest of a host configuration: what the host-config step applied, as the stack reports it. */
export function hostConfigurationDigest(config: HostConfiguration): string {
  return createHash("sha256").update(JSON.stringify(config)).digest("hex").slice(0, 16);
}

/**
 * The configuration as the apply script reads it on stdin, one tab-separated record per line (the host
 * has no JSON tool before its packages are installed): `package NAME`, `file PATH MODE BASE64`,
 * `reload UNIT`, `enable UNIT`.
 */
export function hostConfigurationRecords(config: HostConfiguration): string {
  return `${[
    ...config.packages.map((name) => `package\t${name}`),
    ...config.files.map((file) => `file\t${file.path}\t${file.mode}\t${Buffer.from(file.content).toString("base64")}`),
    ...config.services.reload.map((unit) => `reload\t${unit}`),
    ...config.services.enable.map((unit) => `enable\t${unit}`),
  ].join("\n")}\n`;
}
