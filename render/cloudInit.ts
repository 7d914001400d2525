import { stringify } from "yaml";

/**
 * cloud-init user data for the Hetzner server. Hetzner replaces a server when its user data changes,
 * so this holds only what must exist at first boot and never changes afterwards: packages, the deploy
 * user, SSH hardening, the pinned host key and the data volume's mount. Everything mutable (authorized
 * keys after boot, the compose project, secrets) is the deploy step's job.
 */
export interface CloudInitInput {
  deployUser: string;
  /** Keys allowed to log in as the deploy user at first boot. */
  authorizedKeys: string[];
  /** The stack's own host key, so the deploy step can pin it before the server exists. */
  hostKey: { privateKey: string; publicKey: string };
  /** Hetzner volume id; the device appears as /dev/disk/by-id/scsi-0HC_Volume_<id>. */
  volumeId: string;
  mountPath: string;
}

export interface CloudConfig {
  package_update: boolean;
  packages: string[];
  users: {
    name: string;
    gecos: string;
    shell: string;
    groups: string[];
    sudo: string;
    lock_passwd: boolean;
    ssh_authorized_keys: string[];
  }[];
  disable_root: boolean;
  ssh_pwauth: boolean;
  ssh_deletekeys: boolean;
  ssh_genkeytypes: string[];
  ssh_keys: { ed25519_private: string; ed25519_public: string };
  mounts: string[][];
  write_files: { path: string; owner: string; permissions: string; content: string }[];
  runcmd: string[][];
}

export const sshdHardening = {
  PasswordAuthentication: "no",
  KbdInteractiveAuthentication: "no",
  PermitRootLogin: "no",
  PubkeyAuthentication: "yes",
  AllowUsers: undefined as string | undefined,
};

export function cloudConfig(input: CloudInitInput): CloudConfig {
  const sshd = { ...sshdHardening, AllowUsers: input.deployUser };
  return {
    package_update: true,
    // The deploy step installs the pinned podman-compose into a virtual environment: Ubuntu's is too old.
    packages: ["podman", "python3-venv", "unattended-upgrades", "jq", "postgresql-client"],
    users: [
      {
        name: input.deployUser,
        gecos: "Olympus deploy user",
        shell: "/bin/bash",
        groups: ["systemd-journal"],
        // podman runs rootful: Caddy binds 80/443 and PostgreSQL's key must be owned by uid 70.
        sudo: "ALL=(ALL) NOPASSWD:ALL",
        lock_passwd: true,
        ssh_authorized_keys: input.authorizedKeys,
      },
    ],
    disable_root: true,
    ssh_pwauth: false,
    ssh_deletekeys: true,
    // Our ed25519 key already exists, so cloud-init generates no other host key types.
    ssh_genkeytypes: ["ed25519"],
    ssh_keys: { ed25519_private: input.hostKey.privateKey, ed25519_public: input.hostKey.publicKey },
    mounts: [
      [`/dev/disk/by-id/scsi-0HC_Volume_${input.volumeId}`, input.mountPath, "ext4", "discard,nofail,defaults,x-systemd.automount", "0", "2"],
    ],
    write_files: [
      {
        path: "/etc/ssh/sshd_config.d/10-olympus.conf",
        owner: "root:root",
        permissions: "0644",
        content: Object.entries(sshd)
          .map(([option, value]) => `${option} ${value}`)
          .join("\n") + "\n",
      },
      {
        path: "/etc/apt/apt.conf.d/20auto-upgrades",
        owner: "root:root",
        permissions: "0644",
        content: 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n',
      },
    ],
    runcmd: [
      ["mkdir", "-p", input.mountPath],
      ["systemctl", "try-reload-or-restart", "ssh.service"],
      ["systemctl", "enable", "--now", "unattended-upgrades.service"],
    ],
  };
}

/** The user data document exactly as Hetzner receives it. */
export function renderCloudInit(input: CloudInitInput): string {
  return `#cloud-config\n${stringify(cloudConfig(input), { lineWidth: 0 })}`;
}
