import { stringify } from "yaml";
import { volumeDevicePath } from "../lib/hetzner";
import { hostConfiguration } from "./hostConfig";

/**
 * cloud-init user data for the Hetzner server. Hetzner replaces a server when its user data changes, so
 * the program ignores later changes: what only first boot can do (the deploy user, the pinned host key,
 * the data volume's mount) stays here, plus a first application of the host configuration, which the
 * host-config step keeps current afterwards. Everything else mutable (authorized keys after boot, the
 * compose project, secrets) is the deploy step's job.
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

export function cloudConfig(input: CloudInitInput): CloudConfig {
  const host = hostConfiguration(input.deployUser);
  return {
    package_update: true,
    packages: host.packages,
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
      [
        volumeDevicePath(input.volumeId),
        input.mountPath,
        "ext4",
        "discard,nofail,defaults,x-systemd.automount",
        "0",
        "2",
      ],
    ],
    write_files: host.files.map(({ path, mode, content }) => ({
      path,
      owner: "root:root",
      permissions: mode,
      content,
    })),
    runcmd: [
      ["mkdir", "-p", input.mountPath],
      ...host.services.reload.map((unit) => ["systemctl", "try-reload-or-restart", unit]),
      ...host.services.enable.map((unit) => ["systemctl", "enable", "--now", unit]),
      // The platform's unit starts at the next boot; the first deploy starts the platform itself.
      ["systemctl", "daemon-reload"],
      ...host.services.enableAtBoot.map((unit) => ["systemctl", "enable", unit]),
    ],
  };
}

/** The user data document exactly as Hetzner receives it. */
export function renderCloudInit(input: CloudInitInput): string {
  return `#cloud-config\n${stringify(cloudConfig(input), { lineWidth: 0 })}`;
}
