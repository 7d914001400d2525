/**
 * The dev tier's backup repository: a real S3 server (versitygw, built by `npm run tools`) serving a
 * directory, standing where Hetzner Object Storage stands for staging and prod. It listens on an address
 * of its own on this machine's loopback interface (containers reach it through their gateway; the
 * machine's network does not), under the name and bucket Pulumi.dev.yaml's `backup` gives, with a CA of
 * its own that pgBackRest verifies, and the credentials the dev stack holds as secrets.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import execa from "execa";
import { parsePlainConfig } from "../../lib/config/schema";
import { readStackFile } from "../../lib/config/stackFiles";
import { decryptedConfig } from "../operations/stacks";
import { projectDir, toolBinary } from "../toolchain/toolchain";

/** The repository's address: not the machine's, and not loopback's 127/8 (containers cannot reach that). */
export const backupRepositoryAddress = "10.254.254.1";
/** Everything the repository keeps (certificates, its process, its objects), in a project's .pulumi/dev. */
const repositoryDir = (dir = projectDir) => join(dir, ".pulumi", "dev", "backups");
/** Where the objects live: a directory per bucket. */
export const repositoryData = (dir = projectDir) => join(repositoryDir(dir), "data");
const pidFile = (dir = projectDir) => join(repositoryDir(dir), "versitygw.pid");
const log = (message: string) => console.log(`[dev-host] ${message}`);

/** What Pulumi.dev.yaml's `backup` names: the endpoint's host, the bucket, the CA file. */
export function repositorySettings(stack: string): { host: string; bucket: string; caFile: string } {
  const { config, problems } = parsePlainConfig(readStackFile(projectDir, stack).raw);
  if (!config) throw new Error(`Pulumi.${stack}.yaml is invalid:\n  - ${problems.join("\n  - ")}`);
  if (!config.backup.caFile) throw new Error(`Pulumi.${stack}.yaml's backup.caFile must name the dev repository's CA`);
  return {
    host: new URL(config.backup.endpoint).hostname,
    bucket: config.backup.bucket,
    caFile: join(projectDir, config.backup.caFile),
  };
}

const running = async () =>
  existsSync(pidFile()) &&
  (await execa("kill", ["-0", readFileSync(pidFile(), "utf8").trim()], { reject: false })).exitCode === 0;

const answers = () =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: backupRepositoryAddress, port: 443, timeout: 1000 }, () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false)).on("timeout", () => resolve(false));
  });

async function addAddress() {
  const { stdout } = await execa("ip", ["-4", "addr", "show", "dev", "lo"]);
  if (!stdout.includes(`${backupRepositoryAddress}/32`))
    await execa("ip", ["addr", "add", `${backupRepositoryAddress}/32`, "dev", "lo"]);
}

/** A CA and the server's certificate for the repository's name, made once (ECDSA P-256, ten years). */
async function certificates(host: string, caFile: string) {
  const server = { key: join(repositoryDir(), "server.key"), cert: join(repositoryDir(), "server.crt") };
  if (existsSync(caFile) && existsSync(server.cert)) return server;
  const caKey = join(repositoryDir(), "ca.key");
  const openssl = (args: string[]) => execa("openssl", args);
  await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", caKey]);
  await openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    caKey,
    "-days",
    "3650",
    "-subj",
    "/CN=Olympus dev backups CA",
    "-out",
    caFile,
  ]);
  await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", server.key]);
  const request = join(repositoryDir(), "server.csr");
  await openssl(["req", "-new", "-key", server.key, "-subj", `/CN=${host}`, "-out", request]);
  const extensions = join(repositoryDir(), "server.ext");
  writeFileSync(extensions, `subjectAltName=DNS:${host}\nextendedKeyUsage=serverAuth\n`);
  await openssl([
    ...["x509", "-req", "-in", request, "-CA", caFile, "-CAkey", caKey, "-CAcreateserial"],
    ...["-days", "3650", "-extfile", extensions, "-out", server.cert],
  ]);
  log(`made the dev backup repository's CA (${caFile}) and its certificate for ${host}`);
  return server;
}

/** Starts the repository (idempotent): address, certificates, bucket, and the server with the stack's keys. */
export async function startBackupRepository(stack: string): Promise<void> {
  const { host, bucket, caFile } = repositorySettings(stack);
  mkdirSync(join(repositoryData(), bucket), { recursive: true });
  await addAddress();
  const server = await certificates(host, caFile);
  if ((await running()) && (await answers())) return;
  const { raw } = await decryptedConfig(projectDir, stack);
  const output = openSync(join(repositoryDir(), "versitygw.log"), "a");
  const child = execa(
    toolBinary("versitygw"),
    [
      ...["--port", `${backupRepositoryAddress}:443`, "--cert", server.cert, "--key", server.key],
      ...["--region", "dev", "--quiet", "posix", repositoryData()],
    ],
    {
      detached: true,
      stdio: ["ignore", output, output],
      // The root credentials travel in the environment, never on a command line.
      env: {
        ROOT_ACCESS_KEY_ID: raw["olympus:backupAccessKeyId"] ?? "",
        ROOT_SECRET_ACCESS_KEY: raw["olympus:backupSecretAccessKey"] ?? "",
      },
    },
  );
  closeSync(output);
  child.unref();
  child.catch(() => undefined);
  writeFileSync(pidFile(), `${child.pid}\n`);
  for (let attempt = 0; attempt < 50 && !(await answers()); attempt++)
    await new Promise((resolve) => setTimeout(resolve, 200));
  if (!(await answers()))
    throw new Error(`the dev backup repository did not start; see ${join(repositoryDir(), "versitygw.log")}`);
  log(`backup repository https://${host} (${backupRepositoryAddress}:443), bucket ${bucket}`);
}

/** The repository server's process of a project (copy), for tests that make it stop answering. */
export function backupRepositoryPid(dir = projectDir): number {
  return Number(readFileSync(pidFile(dir), "utf8").trim());
}

/** Stops the repository and removes it with everything it holds, and its address. */
export async function removeBackupRepository(): Promise<void> {
  if (await running()) await execa("kill", [readFileSync(pidFile(), "utf8").trim()], { reject: false });
  rmSync(repositoryDir(), { recursive: true, force: true });
  await execa("ip", ["addr", "del", `${backupRepositoryAddress}/32`, "dev", "lo"], { reject: false });
}
