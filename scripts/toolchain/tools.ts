/**
 * `npm run tools`: provides the Pulumi CLI and everything the engine and the tests run, without any binary
 * download. Go builds come from the Go module proxy (wrapper modules in tools/go) or, when
 * OLYMPUS_VENDOR_DIR names a folder of upstream source archives, from those archives (overlays in
 * tools/vendor where a build needs other module versions than upstream pinned). Builds are cached outside
 * the checkout, keyed by everything that goes into them, so a warm run takes seconds.
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import execa from "execa";
import { type ImageName, isUpstreamVersion, serviceImages } from "../../lib/versions";
import {
  binDir,
  cacheRoot,
  type ModuleDifference,
  manifestPath,
  projectDir,
  pulumiDir,
  pulumiEnvironment,
  readManifest,
  type ToolManifest,
  vendorDir,
} from "./toolchain";

/** A wrapper module under tools/go (go.mod + go.sum) that pins a build from the Go module proxy. */
interface ProxySource {
  kind: "proxy";
  wrapper: string;
  /** A main.go the build needs (Caddy with plugins, as xcaddy would write it); generated, never committed. */
  mainSource?: string;
}

/** A module inside an upstream source archive from the vendor folder. */
interface ArchiveSource {
  kind: "archive";
  archive: string;
  /** Directory of the Go module inside the archive. */
  module: string;
  /** Archives unpacked beside it, for a replace directive of the overlay. */
  companions?: string[];
  /** tools/vendor/<overlay>: a go.mod and go.sum used instead of the module's own. */
  overlay?: string;
  /** Directory (in the module) whose schema.json is embedded as schema-embed.json, with the version set. */
  embedSchema?: string;
}

interface GoBuild {
  name: string;
  version: string;
  /** Module versions the build must be made of (the version table's); a wrapper go.mod that disagrees fails. */
  modules?: Record<string, string>;
  source: ProxySource | ArchiveSource;
  /** Main package: an import path for proxy builds, a directory of the module for archive builds. */
  main: string;
  cgo?: boolean;
  tags?: string[];
  ldflags?: string[];
}

interface ProviderPlugin extends GoBuild {
  plugin: string;
  /** npm SDK whose locked version the plugin must report exactly. */
  npmPackage: string;
}

const lockedVersion = (name: string): string => {
  const lock = JSON.parse(readFileSync(join(projectDir, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version?: string }>;
  };
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (!version) throw new ToolBuildError(`${name} is not in package-lock.json`);
  return version;
};

class ToolBuildError extends Error {}

const pulumiVersion = lockedVersion("@pulumi/pulumi");
const versionFlag = (variable: string, version: string) => `-X ${variable}=${version}`;
const pulumiSdkVersion = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version";

const pulumiCli: GoBuild = {
  name: "pulumi",
  version: pulumiVersion,
  source: { kind: "proxy", wrapper: "pulumi" },
  main: "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
  ldflags: [versionFlag(pulumiSdkVersion, `v${pulumiVersion}`)],
};

const languageHost: GoBuild = {
  name: "pulumi-language-nodejs",
  version: "3.259.0",
  source: {
    kind: "archive",
    archive: "pulumi-language-nodejs-v3.259.0.tar.gz",
    module: "pulumi-language-nodejs-v3.259.0/sdk/nodejs/cmd/pulumi-language-nodejs",
    overlay: "pulumi-language-nodejs",
  },
  main: ".",
  ldflags: [versionFlag(pulumiSdkVersion, "v3.259.0")],
};

const providerPlugin = (
  plugin: string,
  npmPackage: string,
  version: string,
  source: Omit<ArchiveSource, "kind">,
  versionVariable: string,
): ProviderPlugin => ({
  name: `pulumi-resource-${plugin}`,
  plugin,
  npmPackage,
  version,
  source: { kind: "archive", ...source },
  main: `./cmd/pulumi-resource-${plugin}`,
  ldflags: [versionFlag(versionVariable, version)],
});

const providerPlugins: ProviderPlugin[] = [
  providerPlugin(
    "command",
    "@pulumi/command",
    "1.2.1",
    { archive: "pulumi-command-v1.2.1.tar.gz", module: "pulumi-command-v1.2.1/provider" },
    "github.com/pulumi/pulumi-command/provider/pkg/version.Version",
  ),
  providerPlugin(
    "random",
    "@pulumi/random",
    "4.21.1",
    {
      archive: "pulumi-random-v4.21.1.tar.gz",
      module: "pulumi-random-v4.21.1/provider",
      overlay: "pulumi-random",
      embedSchema: "cmd/pulumi-resource-random",
    },
    "github.com/pulumi/pulumi-random/provider/v4/pkg/version.Version",
  ),
  providerPlugin(
    "hcloud",
    "@pulumi/hcloud",
    "1.35.0",
    {
      archive: "pulumi-hcloud-v1.35.0.tar.gz",
      module: "pulumi-hcloud-v1.35.0/provider",
      companions: ["terraform-provider-hcloud-v1.63.0.tar.gz"],
      overlay: "pulumi-hcloud",
      embedSchema: "cmd/pulumi-resource-hcloud",
    },
    "github.com/pulumi/pulumi-hcloud/provider/pkg/version.Version",
  ),
];

/**
 * An Ory service at the version both stacks deploy (the version table's tag), built from its release
 * archive (the proxy serves no v26 module), with SQLite for the tests.
 */
const oryService = (name: "kratos" | "hydra", versionVariable: string): GoBuild => {
  const version = serviceImages[name].tag;
  return {
    name,
    version,
    source: { kind: "archive", archive: `${name}-${version}.tar.gz`, module: `${name}-${version}` },
    main: ".",
    cgo: true,
    tags: ["sqlite"],
    ldflags: [versionFlag(versionVariable, version)],
  };
};
const oryServices = [
  oryService("kratos", "github.com/ory/kratos/driver/config.Version"),
  oryService("hydra", "github.com/ory/hydra/v2/driver/config.Version"),
];

/** The dev tier's build of an image from the Go module proxy, as the version table's localBuild names it. */
function localBuildOf(image: ImageName): { version: string; modules: Record<string, string> } {
  const build = serviceImages[image].localBuild;
  if (!build?.goModules) throw new ToolBuildError(`the version table gives ${image} no local build from Go modules`);
  return { version: build.tag, modules: build.goModules };
}
const mailpit = localBuildOf("mailpit");
const caddy = localBuildOf("caddy");
const proxyTools: GoBuild[] = [
  {
    name: "mailpit",
    ...mailpit,
    source: { kind: "proxy", wrapper: "mailpit" },
    main: "github.com/axllent/mailpit",
    ldflags: [versionFlag("github.com/axllent/mailpit/config.Version", mailpit.version)],
  },
  {
    name: "caddy",
    ...caddy,
    source: {
      kind: "proxy",
      wrapper: "caddy",
      mainSource: [
        "package main",
        "",
        "import (",
        '\tcaddycmd "github.com/caddyserver/caddy/v2/cmd"',
        '\t_ "github.com/caddyserver/caddy/v2/modules/standard"',
        '\t_ "github.com/mholt/caddy-ratelimit"',
        ")",
        "",
        "func main() { caddycmd.Main() }",
        "",
      ].join("\n"),
    },
    main: ".",
  },
  {
    name: "actionlint",
    version: "1.7.12",
    source: { kind: "proxy", wrapper: "actionlint" },
    main: "github.com/rhysd/actionlint/cmd/actionlint",
    ldflags: [versionFlag("github.com/rhysd/actionlint.version", "1.7.12")],
  },
  {
    // The dev tier's backup repository: a real S3 server (Apache-2.0) that serves a directory.
    name: "versitygw",
    version: "1.8.0",
    source: { kind: "proxy", wrapper: "versitygw" },
    main: "github.com/versity/versitygw/cmd/versitygw",
    ldflags: [versionFlag("main.Version", "v1.8.0")],
  },
];

/**
 * A binary from a Debian package, fetched by apt with its own signature checks from the suite the dev
 * tier's images come from, of the upstream version the version table names.
 */
interface DebianTool {
  name: string;
  suite: string;
  package: string;
  upstream: string;
  /** The binary's path inside the package. */
  file: string;
}

/**
 * The monitoring's own checkers, of the releases the dev tier runs: promtool tests the alert rules and
 * checks Prometheus's configuration, amtool checks Alertmanager's.
 */
const debianTools: DebianTool[] = [
  {
    name: "promtool",
    suite: "forky",
    package: "promtool",
    upstream: serviceImages.prometheus.localBuild!.debian!.version,
    file: "usr/bin/promtool",
  },
  {
    name: "amtool",
    suite: "forky",
    package: serviceImages.alertmanager.localBuild!.debian!.package,
    upstream: serviceImages.alertmanager.localBuild!.debian!.version,
    file: "usr/bin/amtool",
  },
];

const log = (message: string) => console.log(`[tools] ${message}`);
const seconds = (since: number) => (performance.now() - since) / 1000;
const timings: { tool: string; download: number; build: number }[] = [];

function goEnvironment(cgo = false): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    GOTOOLCHAIN: "local",
    GOFLAGS: "-mod=mod",
    CGO_ENABLED: cgo ? "1" : "0",
  };
}

async function run(
  what: string,
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
) {
  try {
    return await execa(command, args, { ...options, all: true });
  } catch (error) {
    const output = (error as { all?: string }).all ?? (error as Error).message;
    throw new ToolBuildError(`${what} failed:\n${output.split("\n").slice(-25).join("\n")}`);
  }
}

const sha256 = (...parts: (string | Buffer)[]) => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\0");
  return hash.digest("hex");
};

function archivePath(archive: string): string {
  const dir = vendorDir();
  const path = dir && join(dir, archive);
  if (!path || !existsSync(path))
    throw new ToolBuildError(`${archive} is not in OLYMPUS_VENDOR_DIR (${dir ?? "unset"})`);
  return path;
}

const overlayFiles = (overlay: string) =>
  ["go.mod", "go.sum"].map((file) => join(projectDir, "tools", "vendor", overlay, file));
const wrapperFiles = (wrapper: string) =>
  ["go.mod", "go.sum"].map((file) => join(projectDir, "tools", "go", wrapper, file));

/** Everything that decides a build's output; a change to any of it rebuilds. */
function recipe(build: GoBuild): string {
  const source = build.source;
  const inputs =
    source.kind === "proxy"
      ? [...wrapperFiles(source.wrapper).map((file) => readFileSync(file)), source.mainSource ?? ""]
      : [
          ...[source.archive, ...(source.companions ?? [])].map((archive) => readFileSync(archivePath(archive))),
          ...(source.overlay ? overlayFiles(source.overlay).map((file) => readFileSync(file)) : []),
          source.module,
          source.embedSchema ?? "",
        ];
  return sha256(
    ...inputs,
    JSON.stringify(build.modules ?? {}),
    build.main,
    (build.ldflags ?? []).join(" "),
    (build.tags ?? []).join(","),
    String(build.cgo ?? false),
  ).slice(0, 12);
}

/** Unpacks the sources of a build into `dir` and returns the directory to build in. */
async function prepareSources(build: GoBuild, dir: string): Promise<string> {
  const source = build.source;
  if (source.kind === "proxy") {
    const [goMod, goSum] = wrapperFiles(source.wrapper);
    copyFileSync(goMod!, join(dir, "go.mod"));
    copyFileSync(goSum!, join(dir, "go.sum"));
    if (source.mainSource) writeFileSync(join(dir, "main.go"), source.mainSource);
    return dir;
  }
  for (const archive of [source.archive, ...(source.companions ?? [])]) {
    await run(`unpacking ${archive}`, "tar", ["-xzf", archivePath(archive), "-C", dir], { cwd: dir });
  }
  const moduleDir = join(dir, source.module);
  if (source.overlay) {
    const [goMod, goSum] = overlayFiles(source.overlay);
    copyFileSync(goMod!, join(moduleDir, "go.mod"));
    copyFileSync(goSum!, join(moduleDir, "go.sum"));
  }
  if (source.embedSchema) {
    // What upstream's `go generate` does (its generator needs a pkg/v3 the proxy refuses): the schema, versioned.
    const schemaDir = join(moduleDir, source.embedSchema);
    const schema = JSON.parse(readFileSync(join(schemaDir, "schema.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(schemaDir, "schema-embed.json"), JSON.stringify({ ...schema, version: build.version }));
  }
  return moduleDir;
}

/** The modules a build must be made of (the version table's) are what its go.mod requires. */
async function checkModules(build: GoBuild, buildDir: string) {
  if (!build.modules) return;
  const { stdout } = await run(`reading the go.mod of ${build.name}`, "go", ["mod", "edit", "-json"], {
    cwd: buildDir,
    env: goEnvironment(),
  });
  const required = new Map(
    ((JSON.parse(stdout) as { Require?: { Path: string; Version: string }[] }).Require ?? []).map(
      ({ Path, Version }) => [Path, Version] as const,
    ),
  );
  const wrong = Object.entries(build.modules).filter(([module, version]) => required.get(module) !== version);
  if (wrong.length > 0)
    throw new ToolBuildError(
      `${build.name}: the version table (lib/versionTable.json) says ${wrong.map(([module, version]) => `${module} ${version}`).join(", ")}, its go.mod requires ${wrong.map(([module]) => `${module} ${required.get(module) ?? "nothing"}`).join(", ")}; change both together`,
    );
}

/** Builds (or finds cached) one Go binary; returns its path and the directory its sources stay in. */
async function buildGo(build: GoBuild): Promise<{ binary: string; sourceDir: string }> {
  const toolDir = join(cacheRoot, `${build.name}-${build.version}-${recipe(build)}`);
  const binary = join(toolDir, build.name);
  const sourceDir = join(toolDir, "src");
  if (existsSync(binary)) {
    log(`${build.name} ${build.version}: cached`);
    return { binary, sourceDir };
  }
  rmSync(sourceDir, { recursive: true, force: true });
  mkdirSync(sourceDir, { recursive: true });
  const buildDir = await prepareSources(build, sourceDir);
  const env = goEnvironment(build.cgo);
  const what = `${build.name} ${build.version}`;
  await checkModules(build, buildDir);

  log(`${what}: downloading modules`);
  let started = performance.now();
  await run(`downloading the modules of ${what}`, "go", ["mod", "download"], { cwd: buildDir, env });
  const download = seconds(started);
  log(`${what}: building`);
  started = performance.now();
  const args = ["build", "-trimpath", "-o", `${binary}.partial`];
  if (build.tags?.length) args.push("-tags", build.tags.join(","));
  args.push("-ldflags", ["-s", "-w", ...(build.ldflags ?? [])].join(" "), build.main);
  await run(`building ${what}`, "go", args, { cwd: buildDir, env });
  renameSync(`${binary}.partial`, binary);
  timings.push({ tool: build.name, download, build: seconds(started) });
  log(`${what}: downloaded in ${download.toFixed(1)} s, built in ${seconds(started).toFixed(1)} s`);
  return { binary, sourceDir };
}

async function fetchDebianTool(tool: DebianTool): Promise<string> {
  const dir = join(cacheRoot, `${tool.name}-${tool.suite}-${tool.upstream}`);
  const binary = join(dir, tool.name);
  if (existsSync(binary)) {
    log(`${tool.name} ${tool.upstream}: cached`);
    return binary;
  }
  const apt = join(dir, "apt");
  for (const sub of ["lists/partial", "archives/partial"]) mkdirSync(join(apt, sub), { recursive: true });
  writeFileSync(join(apt, "sources.list"), `deb http://deb.debian.org/debian ${tool.suite} main\n`);
  const options = [
    ["Dir::Etc::SourceList", join(apt, "sources.list")],
    ["Dir::Etc::SourceParts", "/dev/null"],
    ["Dir::State::Lists", join(apt, "lists")],
    ["Dir::Cache::Archives", join(apt, "archives")],
    // A testing suite's Release file may be older than its Valid-Until; its signature is still checked.
    ["Acquire::Check-Valid-Until", "false"],
    ["Debug::NoLocking", "1"],
    ["APT::Sandbox::User", "root"],
  ].flatMap(([option, value]) => ["-o", `${option}=${value}`]);
  const started = performance.now();
  log(`${tool.name}: fetching Debian ${tool.suite}'s ${tool.package}`);
  await run(`apt-get update for ${tool.suite}`, "apt-get", [...options, "update", "-qq"], { cwd: apt });
  await run(`downloading ${tool.package}`, "apt-get", [...options, "download", tool.package], { cwd: apt });
  const deb = readdirSync(apt).find((file) => file.startsWith(`${tool.package}_`) && file.endsWith(".deb"));
  const version = deb?.split("_")[1]?.replace("%3a", ":");
  if (!deb || !version || !isUpstreamVersion(version, tool.upstream))
    throw new ToolBuildError(
      `Debian ${tool.suite} ships ${tool.package} ${version ?? "(none)"}, the version table says ${tool.upstream}; update lib/versionTable.json together with it`,
    );
  const unpacked = join(dir, "unpacked");
  await run(`unpacking ${deb}`, "dpkg-deb", ["-x", join(apt, deb), unpacked], { cwd: dir });
  copyFileSync(join(unpacked, tool.file), binary);
  chmodSync(binary, 0o755);
  timings.push({ tool: tool.name, download: seconds(started), build: 0 });
  return binary;
}

/** Module versions (required or replaced) of an overlay that differ from the upstream release's go.mod. */
async function moduleDifferences(build: GoBuild): Promise<ModuleDifference[]> {
  const source = build.source;
  if (source.kind !== "archive" || !source.overlay) return [];
  interface GoModJson {
    Require?: { Path: string; Version: string }[];
    Replace?: { Old: { Path: string }; New: { Path: string; Version?: string } }[];
  }
  const describe = async (goMod: string) => {
    const { stdout } = await run(`reading ${goMod}`, "go", ["mod", "edit", "-json", goMod], {
      cwd: projectDir,
      env: goEnvironment(),
    });
    const parsed = JSON.parse(stdout) as GoModJson;
    const versions = new Map<string, string>();
    for (const { Path, Version } of parsed.Require ?? []) versions.set(Path, Version);
    for (const { Old, New } of parsed.Replace ?? [])
      versions.set(`${Old.Path} (replace)`, New.Version ? `${New.Path} ${New.Version}` : New.Path);
    return versions;
  };
  const upstreamDir = join(cacheRoot, "upstream-go-mod", source.overlay);
  mkdirSync(upstreamDir, { recursive: true });
  await run(
    `reading the upstream go.mod of ${source.archive}`,
    "tar",
    ["-xzf", archivePath(source.archive), "-C", upstreamDir, `${source.module}/go.mod`],
    { cwd: upstreamDir },
  );
  const upstream = await describe(join(upstreamDir, source.module, "go.mod"));
  const built = await describe(overlayFiles(source.overlay)[0]!);
  const differences: ModuleDifference[] = [];
  for (const module of new Set([...upstream.keys(), ...built.keys()])) {
    const [before, after] = [upstream.get(module) ?? "-", built.get(module) ?? "-"];
    if (before !== after) differences.push({ module, upstream: before, built: after });
  }
  return differences.sort((a, b) => a.module.localeCompare(b.module));
}

/**
 * Puts a tool into .pulumi/bin. A hard link, not a symlink: pulumi looks for its language host next to
 * its own resolved path, so the two must really sit in one directory.
 */
function link(name: string, target: string) {
  const path = join(binDir, name);
  rmSync(path, { force: true });
  try {
    linkSync(target, path);
  } catch {
    copyFileSync(target, path);
    chmodSync(path, 0o755);
  }
}

/** An installed pulumi of exactly the locked version, or undefined. */
async function pulumiOnPath(): Promise<string | undefined> {
  try {
    const { stdout: path } = await execa("sh", ["-c", "command -v pulumi"], {
      env: {
        ...process.env,
        PATH: (process.env.PATH ?? "")
          .split(":")
          .filter((dir) => dir !== binDir)
          .join(":"),
      },
    });
    const { stdout: version } = await execa(path, ["version"]);
    return version.trim() === `v${pulumiVersion}` ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Registers a plugin built here in the project's PULUMI_HOME under the version its SDK asks for. */
async function registerPlugin(plugin: ProviderPlugin, binary: string, pulumi: string) {
  const locked = lockedVersion(plugin.npmPackage);
  if (locked !== plugin.version) {
    throw new ToolBuildError(
      `${plugin.npmPackage} is locked at ${locked}, but the plugin is built from ${plugin.version}: pin the SDK to the version whose source is vendored`,
    );
  }
  const stamp = join(pulumiDir, "plugin-stamps", `${plugin.plugin}-${plugin.version}`);
  const installed = join(pulumiDir, "home", "plugins", `resource-${plugin.plugin}-v${plugin.version}`, plugin.name);
  if (existsSync(installed) && existsSync(stamp) && readFileSync(stamp, "utf8") === binary) return;
  await run(
    `registering ${plugin.plugin}`,
    pulumi,
    ["plugin", "install", "resource", plugin.plugin, plugin.version, "--file", binary],
    { cwd: projectDir, env: pulumiEnvironment() },
  );
  mkdirSync(join(pulumiDir, "plugin-stamps"), { recursive: true });
  writeFileSync(stamp, binary);
}

async function moduleDir(module: string): Promise<string> {
  const { stdout } = await run(`downloading ${module}`, "go", ["mod", "download", "-json", module], {
    cwd: projectDir,
    env: goEnvironment(),
  });
  return (JSON.parse(stdout) as { Dir: string }).Dir;
}

/**
 * The configuration schemas Kratos and Hydra validate with, from their unpacked modules, with the
 * `ory://` schemas they reference.
 */
function configSchemas(kratos: string, hydra: string): ToolManifest["configSchemas"] {
  const oryx = (root: string) => ({
    "ory://tracing-config": join(root, "oryx", "otelx", "config.schema.json"),
    "ory://cors-config": join(root, "oryx", "configx", "cors.schema.json"),
    "ory://serve-config": join(root, "oryx", "configx", "serve.schema.json"),
    "ory://tls-config": join(root, "oryx", "configx", "tls.schema.json"),
  });
  return {
    kratos: { schema: join(kratos, "embedx", "config.schema.json"), references: oryx(kratos) },
    hydra: { schema: join(hydra, "spec", "config.json"), references: oryx(hydra) },
  };
}

/**
 * The system tools the tests drive for real, from the distribution's packages: cloud-init's schema
 * check, sshd and ssh for the tunnel tests, shellcheck for the host scripts, systemd-analyze for the boot
 * unit, nft for the metadata block. Installed here, so the README's test command needs nothing that CI adds.
 */
const systemPackages: { package: string; command: string }[] = [
  { package: "cloud-init", command: "cloud-init" },
  { package: "openssh-server", command: "/usr/sbin/sshd" },
  { package: "openssh-client", command: "ssh" },
  { package: "shellcheck", command: "shellcheck" },
  { package: "systemd", command: "systemd-analyze" },
  { package: "nftables", command: "nft" },
];

async function ensureSystemPackages(): Promise<void> {
  const missing: string[] = [];
  for (const { package: name, command } of systemPackages)
    if ((await execa("sh", ["-c", `command -v ${command}`], { reject: false })).exitCode !== 0) missing.push(name);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0)
    throw new ToolBuildError(
      `the tests need ${missing.join(", ")}: install them (apt-get install ${missing.join(" ")}) or run as root`,
    );
  log(`installing ${missing.join(", ")} from the distribution's packages`);
  const apt = {
    cwd: projectDir,
    env: { ...(process.env as Record<string, string>), DEBIAN_FRONTEND: "noninteractive" },
  };
  await run("apt-get update", "apt-get", ["update", "-qq"], apt);
  await run(
    `installing ${missing.join(" ")}`,
    "apt-get",
    ["install", "-y", "-qq", "--no-install-recommends", ...missing],
    apt,
  );
}

async function main() {
  // --engine-only: what a preview needs (CLI, language host, plugins), not the services the tests run.
  const engineOnly = parseArgs({ options: { "engine-only": { type: "boolean", default: false } } }).values[
    "engine-only"
  ];
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 22)
    throw new ToolBuildError(
      `Node ${process.versions.node} is too old: @pulumi/pulumi ${pulumiVersion} needs Node >= 22 (npm scripts run node_modules/.bin/node, installed by npm ci)`,
    );
  const started = performance.now();
  for (const dir of [binDir, join(pulumiDir, "state"), cacheRoot]) mkdirSync(dir, { recursive: true });
  const vendored = vendorDir() !== undefined;
  log(
    vendored
      ? `building from the source archives in ${vendorDir()}`
      : "OLYMPUS_VENDOR_DIR is unset: the standard pulumi CLI on PATH and its plugin acquisition apply",
  );

  const binaries: Record<string, string> = {};
  const installed = await pulumiOnPath();
  if (installed) log(`pulumi v${pulumiVersion}: using ${installed}`);
  else if (!vendored)
    throw new ToolBuildError(
      `no pulumi v${pulumiVersion} on PATH: install it (https://www.pulumi.com/docs/install/), or set OLYMPUS_VENDOR_DIR to build everything from source`,
    );
  binaries.pulumi = installed ?? (await buildGo(pulumiCli)).binary;
  link("pulumi", binaries.pulumi);

  const manifest: ToolManifest = {
    mode: vendored ? "vendor" : "standard",
    vendorDir: vendorDir(),
    binaries,
    plugins: {},
    configSchemas: {} as ToolManifest["configSchemas"],
    moduleDifferences: {},
  };
  if (vendored) {
    if (!installed) {
      binaries[languageHost.name] = (await buildGo(languageHost)).binary;
      link(languageHost.name, binaries[languageHost.name]!);
    }
    for (const plugin of providerPlugins) {
      binaries[plugin.name] = (await buildGo(plugin)).binary;
      await registerPlugin(plugin, binaries[plugin.name]!, binaries.pulumi);
      manifest.plugins[plugin.plugin] = plugin.version;
    }
    const sources: Record<string, string> = {};
    for (const service of engineOnly ? [] : oryServices) {
      const { binary, sourceDir } = await buildGo(service);
      binaries[service.name] = binary;
      sources[service.name] = join(sourceDir, (service.source as ArchiveSource).module);
      link(service.name, binary);
    }
    if (!engineOnly) manifest.configSchemas = configSchemas(sources.kratos!, sources.hydra!);
    for (const build of [languageHost, ...providerPlugins]) {
      const differences = await moduleDifferences(build);
      if (differences.length > 0) manifest.moduleDifferences[`${build.name} ${build.version}`] = differences;
    }
  }
  for (const build of engineOnly ? [] : proxyTools) {
    binaries[build.name] = (await buildGo(build)).binary;
    link(build.name, binaries[build.name]!);
  }
  if (!engineOnly) {
    await ensureSystemPackages();
    for (const tool of debianTools) {
      binaries[tool.name] = await fetchDebianTool(tool);
      link(tool.name, binaries[tool.name]!);
    }
  }
  // Dynamic providers run through this script, shipped in the Go SDK module; it must sit next to pulumi.
  const dynamicProvider = join(
    await moduleDir(`github.com/pulumi/pulumi/sdk/v3@v${pulumiVersion}`),
    "nodejs",
    "dist",
    "pulumi-resource-pulumi-nodejs",
  );
  const dynamicCopy = join(cacheRoot, `pulumi-resource-pulumi-nodejs-${pulumiVersion}`);
  copyFileSync(dynamicProvider, dynamicCopy);
  chmodSync(dynamicCopy, 0o755);
  link("pulumi-resource-pulumi-nodejs", dynamicCopy);
  binaries["pulumi-resource-pulumi-nodejs"] = dynamicCopy;

  // A partial run keeps what an earlier full run of the same mode provided.
  const previous = engineOnly && existsSync(manifestPath) ? readManifest() : undefined;
  const written =
    previous?.mode === manifest.mode
      ? {
          ...previous,
          ...manifest,
          binaries: { ...previous.binaries, ...binaries },
          configSchemas: previous.configSchemas,
        }
      : manifest;
  writeFileSync(manifestPath, `${JSON.stringify(written, null, 2)}\n`);
  for (const { tool, download, build } of timings)
    log(`  ${tool.padEnd(28)} download ${download.toFixed(1).padStart(6)} s   build ${build.toFixed(1).padStart(6)} s`);
  log(`toolchain ready in ${seconds(started).toFixed(1)} s (cache ${cacheRoot}, binaries linked in ${binDir})`);
}

main().catch((error) => {
  console.error(`[tools] ${error instanceof ToolBuildError ? error.message : (error as Error).stack}`);
  process.exit(1);
});
