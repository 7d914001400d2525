/**
 * Makes this machine the dev tier's host, the way cloud-init makes a Hetzner server one: podman with the
 * settings this machine kind needs, a `deploy` user with passwordless sudo, an sshd on a loopback port
 * with its own host key, the public names in /etc/hosts, and the images. Every step checks before it
 * changes anything, so running it again changes nothing.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import execa from "execa";
import { parsePlainConfig } from "../../lib/config/schema";
import { readStackFile } from "../../lib/config/stackFiles";
import { deployUser, hostnames } from "../../lib/topology";
import { projectDir, pulumiDir } from "../toolchain/toolchain";
import {
  backupRepositoryAddress,
  removeBackupRepository,
  repositorySettings,
  startBackupRepository,
} from "./backupRepository";
import { buildDevImages } from "./devImages";

export const devStack = "dev";
const devDir = join(pulumiDir, "dev");
/** The deploy user's passwordless sudo; also the mark that this setup created the user. */
const sudoersFile = `/etc/sudoers.d/olympus-${deployUser}`;
const log = (message: string) => console.log(`[dev-host] ${message}`);

/** What Pulumi.dev.yaml's existingHost must name; the files are this machine's, created here. */
export const devAccess = {
  address: "127.0.0.1",
  port: 2222,
  user: deployUser,
  hostKeyFile: ".pulumi/dev/ssh_host_ed25519_key.pub",
  identityFile: ".pulumi/dev/deploy_ed25519",
};

const packages = [
  "podman",
  "runc",
  "iptables",
  "netavark",
  "aardvark-dns",
  "jq",
  "python3-venv",
  "sudo",
  "openssh-server",
  "mmdebstrap",
];

/** podman as root with runc, cgroupfs and no default ulimits: crun and the defaults fail on this machine kind's hybrid cgroups. */
const containersConf = `# Written by olympus-infra's npm run dev (scripts/devhost/devHost.ts).
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "netavark"
`;

const hostsMarker = "# olympus-infra dev tier";
const root = async (command: string, args: string[]) => execa(command, args, { all: true });

async function installPackages() {
  const missing = [];
  for (const name of packages)
    if ((await execa("dpkg", ["-s", name], { reject: false })).exitCode !== 0) missing.push(name);
  if (missing.length === 0) return;
  log(`installing ${missing.join(" ")}`);
  await root("apt-get", ["update", "-qq"]);
  await execa("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

function configurePodman() {
  const path = "/etc/containers/containers.conf";
  if (existsSync(path) && readFileSync(path, "utf8") === containersConf) return;
  if (existsSync(path) && !readFileSync(path, "utf8").startsWith("# Written by olympus-infra")) {
    throw new Error(`${path} exists and is not ours; merge these settings into it, then run again:\n${containersConf}`);
  }
  mkdirSync("/etc/containers", { recursive: true });
  writeFileSync(path, containersConf);
  log(`wrote ${path}`);
}

async function createDeployUser() {
  if ((await execa("id", [deployUser], { reject: false })).exitCode !== 0) {
    await root("useradd", ["--create-home", "--shell", "/bin/bash", deployUser]);
    log(`created the ${deployUser} user`);
  }
  // Key-only: no password, but not locked either ("!"), which sshd refuses without PAM.
  await root("usermod", ["--password", "*", deployUser]);
  writeFileSync(sudoersFile, `${deployUser} ALL=(ALL) NOPASSWD:ALL\n`, { mode: 0o440 });
}

async function keyPair(path: string, comment: string) {
  if (!existsSync(path)) await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
  return readFileSync(`${path}.pub`, "utf8").trim();
}

async function authorize(publicKey: string) {
  const dir = `/home/${deployUser}/.ssh`;
  const file = join(dir, "authorized_keys");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const current = existsSync(file) ? readFileSync(file, "utf8") : "";
  if (!current.includes(publicKey)) writeFileSync(file, `${current}${publicKey}\n`, { mode: 0o600 });
  await root("chown", ["-R", `${deployUser}:${deployUser}`, dir]);
}

const sshdRunning = async (pidFile: string) =>
  existsSync(pidFile) &&
  (await execa("kill", ["-0", readFileSync(pidFile, "utf8").trim()], { reject: false })).exitCode === 0;

/** Our own sshd on 127.0.0.1, beside any sshd the machine already runs. */
async function startSshd(hostKey: string) {
  const config = join(devDir, "sshd_config");
  const pidFile = join(devDir, "sshd.pid");
  writeFileSync(
    config,
    [
      `Port ${devAccess.port}`,
      `ListenAddress ${devAccess.address}`,
      `HostKey ${hostKey}`,
      `PidFile ${pidFile}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin no",
      `AllowUsers ${deployUser}`,
      // The release gate reaches the loopback-only APIs through SSH local forwards.
      "AllowTcpForwarding local",
      "UsePAM no",
      "",
    ].join("\n"),
  );
  if (await sshdRunning(pidFile)) return;
  mkdirSync("/run/sshd", { recursive: true });
  await root("/usr/sbin/sshd", ["-f", config]);
  log(`sshd listens on ${devAccess.address}:${devAccess.port}`);
}

/**
 * The public names of the dev stack resolve to this machine, and the backup repository's name to its
 * own address. Containers get these entries too (podman copies /etc/hosts into each one it creates).
 */
function writeHostsEntries() {
  const { config, problems } = parsePlainConfig(readStackFile(projectDir, devStack).raw);
  if (!config) throw new Error(`Pulumi.${devStack}.yaml is invalid:\n  - ${problems.join("\n  - ")}`);
  const names = Object.values(hostnames(config.domain, config.siteSubdomain));
  const lines = [
    `127.0.0.1 ${names.join(" ")} ${hostsMarker}`,
    `${backupRepositoryAddress} ${repositorySettings(devStack).host} ${hostsMarker}`,
  ];
  const hosts = readFileSync("/etc/hosts", "utf8");
  if (lines.every((line) => hosts.includes(line))) return;
  const others = hosts.split("\n").filter((entry) => entry && !entry.endsWith(hostsMarker));
  writeFileSync("/etc/hosts", [...others, ...lines, ""].join("\n"));
  log(
    `/etc/hosts resolves ${names.length} names to 127.0.0.1 and the backup repository's to ${backupRepositoryAddress}`,
  );
}

export async function prepareDevHost(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error("npm run dev prepares this machine (packages, a user, sshd, /etc/hosts): run it as root");
  mkdirSync(devDir, { recursive: true, mode: 0o700 });
  await installPackages();
  configurePodman();
  await createDeployUser();
  await keyPair(join(projectDir, devAccess.hostKeyFile.replace(/\.pub$/, "")), "olympus-dev-host");
  await authorize(await keyPair(join(projectDir, devAccess.identityFile), "olympus-dev-operator"));
  await reachDevHost();
  await startBackupRepository(devStack);
  const built = await buildDevImages();
  log(built.length ? `built ${built.join(", ")}` : "images are up to date");
}

/**
 * Starts the dev sshd and writes the names again, e.g. after this machine restarted: `pulumi destroy`
 * runs its delete commands over SSH, so the host must be reachable to be taken down.
 */
export async function reachDevHost(): Promise<void> {
  const hostKey = join(projectDir, devAccess.hostKeyFile.replace(/\.pub$/, ""));
  if (!existsSync(hostKey)) throw new Error(`${hostKey} is missing: this machine was never prepared by npm run dev`);
  await startSshd(hostKey);
  writeHostsEntries();
}

/**
 * Stops the dev sshd, removes the backup repository with everything it holds, the names from
 * /etc/hosts, and everything that granted access: the deploy user (with its home and authorized keys)
 * and its sudoers rule. What stays grants nothing: the packages, podman's settings and the images, which
 * the next `npm run dev` would otherwise install and build again.
 */
export async function releaseDevHost(): Promise<void> {
  await removeBackupRepository();
  const pidFile = join(devDir, "sshd.pid");
  if (await sshdRunning(pidFile)) await execa("kill", [readFileSync(pidFile, "utf8").trim()]);
  // The sudoers rule is the mark that this setup created the user: a machine's own user of that name stays.
  if (existsSync(sudoersFile)) {
    rmSync(sudoersFile);
    if ((await execa("id", [deployUser], { reject: false })).exitCode === 0) {
      await root("userdel", ["--remove", deployUser]);
      log(`removed the ${deployUser} user, its home and keys, and its sudo rule`);
    }
  }
  const hosts = readFileSync("/etc/hosts", "utf8");
  if (hosts.includes(hostsMarker))
    writeFileSync(
      "/etc/hosts",
      hosts
        .split("\n")
        .filter((entry) => !entry.endsWith(hostsMarker))
        .join("\n"),
    );
}
