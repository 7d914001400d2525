import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import execa from "execa";
import { parse, stringify } from "yaml";
import { parsePlainConfig } from "../../lib/config/schema";
import { readStackFile } from "../../lib/config/stackFiles";
import { renderForConfig } from "../../ops/parity";
import { projectDir, toolBinary } from "../toolchain/toolchain";

/**
 * Real services for the integration tests and the benchmark, started from the binaries `npm run tools` built: Kratos
 * with the CIAM configuration and schemas this project renders for staging (only addresses, database
 * and secrets are local), Mailpit as its courier's target, and an sshd on loopback.
 */
export const binary = toolBinary;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function waitFor(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
      last = `${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not become ready within ${timeoutMs} ms (last: ${last})`);
}

export interface Mailpit {
  smtpPort: number;
  apiUrl: string;
  stop: () => Promise<void>;
}

export async function startMailpit(): Promise<Mailpit> {
  const smtpPort = await freePort();
  const httpPort = await freePort();
  const process = execa(
    binary("mailpit"),
    [
      "--smtp",
      `127.0.0.1:${smtpPort}`,
      "--listen",
      `127.0.0.1:${httpPort}`,
      "--disable-version-check",
      "--smtp-auth-allow-insecure",
    ],
    { reject: false },
  );
  const apiUrl = `http://127.0.0.1:${httpPort}`;
  await waitFor(`${apiUrl}/readyz`);
  return {
    smtpPort,
    apiUrl,
    stop: async () => {
      process.kill("SIGTERM");
      await process;
    },
  };
}

export interface Kratos {
  publicUrl: string;
  adminUrl: string;
  /** Stops the server; the database stays, so `start` brings the same Kratos back. */
  kill: (signal?: NodeJS.Signals) => Promise<void>;
  start: () => Promise<void>;
  logs: () => string;
  /** Stops the server for good and removes its database and configuration. */
  stop: () => Promise<void>;
}

/** The staging CIAM kratos.yml and schemas as rendered, pointed at a local database, ports and Mailpit. */
export async function kratosConfig(
  dir: string,
  ports: { public: number; admin: number },
  smtpPort: number,
): Promise<string> {
  const { config: staging, problems } = parsePlainConfig(readStackFile(projectDir, "staging").raw);
  if (!staging) throw new Error(`the staging stack file is invalid: ${problems.join("; ")}`);
  const files = await renderForConfig(staging, "staging");
  const configDir = join(dir, "ciam-kratos");
  mkdirSync(configDir, { recursive: true });
  for (const [path, file] of Object.entries(files)) {
    if (path.startsWith("ciam-kratos/")) writeFileSync(join(dir, path), file.content);
  }
  const config = parse(files["ciam-kratos/kratos.yml"]!.content);
  config.dsn = `sqlite://${join(dir, "kratos.db")}?_fk=true&mode=rwc&_journal_mode=WAL&_busy_timeout=10000`;
  config.serve.public = {
    ...config.serve.public,
    host: "127.0.0.1",
    port: ports.public,
    base_url: `http://127.0.0.1:${ports.public}/`,
  };
  config.serve.admin = {
    ...config.serve.admin,
    host: "127.0.0.1",
    port: ports.admin,
    base_url: `http://127.0.0.1:${ports.admin}/`,
  };
  config.identity.schemas = config.identity.schemas.map((schema: { id: string; url: string }) => ({
    ...schema,
    url: schema.url.replace("file:///etc/config/ciam-kratos", `file://${configDir}`),
  }));
  config.secrets = { cookie: ["c".repeat(32)], cipher: ["x".repeat(32)] };
  config.courier.smtp.connection_uri = `smtp://127.0.0.1:${smtpPort}/?disable_starttls=true`;
  const path = join(dir, "kratos.yml");
  writeFileSync(path, stringify(config));
  return path;
}

export async function startKratos(mailpit: Mailpit): Promise<Kratos> {
  const dir = mkdtempSync(join(tmpdir(), "olympus-kratos-"));
  const ports = { public: await freePort(), admin: await freePort() };
  const configPath = await kratosConfig(dir, ports, mailpit.smtpPort);
  await execa(binary("kratos"), ["migrate", "sql", "-e", "--yes", "-c", configPath]);
  let output = "";
  let process: execa.ExecaChildProcess | undefined;
  const kratos: Kratos = {
    publicUrl: `http://127.0.0.1:${ports.public}`,
    adminUrl: `http://127.0.0.1:${ports.admin}`,
    start: async () => {
      process = execa(binary("kratos"), ["serve", "-c", configPath, "--watch-courier", "--sqa-opt-out"], {
        reject: false,
        all: true,
      });
      process.all?.on("data", (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-20_000);
      });
      await waitFor(`${kratos.adminUrl}/health/ready`);
    },
    kill: async (signal = "SIGKILL") => {
      process?.kill(signal);
      await process;
      process = undefined;
    },
    logs: () => output,
    stop: async () => {
      await kratos.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await kratos.start();
  return kratos;
}

export interface Hydra {
  /** The issuer, also where its public API answers. */
  publicUrl: string;
  adminUrl: string;
  stop: () => Promise<void>;
}

/**
 * Hydra v26.2.0 with the staging CIAM hydra.yml as rendered; only ports, database and secrets are local.
 * `--dev` lets it run its public API over plain HTTP on loopback with an http:// issuer.
 */
export async function startHydra(): Promise<Hydra> {
  const dir = mkdtempSync(join(tmpdir(), "olympus-hydra-"));
  const { config: staging, problems } = parsePlainConfig(readStackFile(projectDir, "staging").raw);
  if (!staging) throw new Error(`the staging stack file is invalid: ${problems.join("; ")}`);
  const config = parse((await renderForConfig(staging, "staging"))["ciam-hydra/hydra.yml"]!.content);
  const ports = { public: await freePort(), admin: await freePort() };
  config.serve.public = { ...config.serve.public, host: "127.0.0.1", port: ports.public };
  config.serve.admin = { ...config.serve.admin, host: "127.0.0.1", port: ports.admin };
  const configPath = join(dir, "hydra.yml");
  writeFileSync(configPath, stringify(config));
  const publicUrl = `http://127.0.0.1:${ports.public}`;
  // The variables the compose file hands the container (DSN, URLS_*, SECRETS_*, the pairwise salt).
  const env = {
    DSN: `sqlite://${join(dir, "hydra.db")}?_fk=true&mode=rwc`,
    URLS_SELF_ISSUER: publicUrl,
    URLS_LOGIN: "http://127.0.0.1:9/login",
    URLS_CONSENT: "http://127.0.0.1:9/consent",
    SECRETS_SYSTEM: "s".repeat(64),
    OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT: "p".repeat(64),
  };
  await execa(binary("hydra"), ["migrate", "sql", "up", "-e", "--yes", "-c", configPath], { env });
  const process = execa(binary("hydra"), ["serve", "all", "-c", configPath, "--dev", "--sqa-opt-out"], {
    env,
    reject: false,
    all: true,
  });
  await waitFor(`http://127.0.0.1:${ports.admin}/health/ready`);
  return {
    publicUrl,
    adminUrl: `http://127.0.0.1:${ports.admin}`,
    stop: async () => {
      process.kill("SIGTERM");
      await process;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Sshd {
  port: number;
  hostKey: string;
  user: string;
  privateKey: string;
  stop: () => Promise<void>;
}

/** sshd on loopback with a throwaway host key and client key, both generated like the stack's own. */
export async function startSshd(
  hostKeyPair: { privateKey: string; publicKey: string },
  clientKeyPair: { privateKey: string; publicKey: string },
): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), "olympus-sshd-"));
  const port = await freePort();
  writeFileSync(join(dir, "host_ed25519"), hostKeyPair.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, "authorized_keys"), `${clientKeyPair.publicKey}\n`, { mode: 0o600 });
  const user = (await execa("id", ["-un"])).stdout;
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_ed25519")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "StrictModes no",
      "UsePAM no",
      "AllowTcpForwarding yes",
      `AllowUsers ${user}`,
      "",
    ].join("\n"),
  );
  mkdirSync("/run/sshd", { recursive: true });
  const process = execa("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], { reject: false, all: true });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = require("node:net").connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.end();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) break;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on ${port}: ${(await process).all}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    port,
    user,
    hostKey: hostKeyPair.publicKey,
    privateKey: clientKeyPair.privateKey,
    stop: async () => {
      process.kill("SIGTERM");
      await process;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
