/**
 * `npm run tools`: provides the Pulumi CLI, its Node.js language host and dynamic-provider plugin,
 * and the real services the tests run (Kratos, Mailpit, Caddy with the rate-limit plugin, actionlint),
 * built from the Go module proxy because nothing else is reachable. Builds are cached outside the
 * checkout, keyed by version and by the wrapper module's go.mod/go.sum, so a warm run takes seconds.
 * Nothing is ever downloaded as a binary.
 */
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import execa from "execa";
import { binDir, cacheRoot, manifestPath, projectDir, pulumiDir, pulumiEnvironment, type ToolManifest } from "./toolchain";

interface GoBuild {
  /** Binary name, also the cache key's prefix. */
  name: string;
  version: string;
  /** Wrapper module under tools/go (go.mod + go.sum only). */
  wrapper: string;
  /** Main package to build. */
  main: string;
  cgo?: boolean;
  tags?: string[];
  ldflags?: string[];
  /** A main.go the build needs (Caddy with plugins, as xcaddy would write it); generated, never committed. */
  mainSource?: string;
}

interface ProviderPlugin {
  name: string;
  /** npm package whose locked version the plugin must match exactly. */
  npmPackage: string;
  /** The repository's root module, whose vX tag names the release commit. */
  tagModule: string;
  /** The module holding the provider's main package. */
  providerModule: string;
  majorSuffix: string;
}

const lockedVersion = (name: string): string => {
  const lock = JSON.parse(readFileSync(join(projectDir, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string }> };
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`${name} is not in package-lock.json`);
  return version;
};

const pulumiVersion = lockedVersion("@pulumi/pulumi");

const goBuilds: GoBuild[] = [
  {
    name: "pulumi",
    version: pulumiVersion,
    wrapper: "pulumi",
    main: "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
    ldflags: [`-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${pulumiVersion}`],
  },
  {
    // The language host became a module of its own after v3.68, and the proxy here serves none of
    // its versions; v3.68.0 is the newest one inside sdk/v3 and drives current CLIs and SDKs fine.
    name: "pulumi-language-nodejs",
    version: "3.68.0",
    wrapper: "pulumi-language-nodejs",
    main: "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs",
    ldflags: ["-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.68.0"],
  },
  {
    name: "kratos",
    version: "1.3.1",
    wrapper: "kratos",
    main: "github.com/ory/kratos",
    cgo: true,
    tags: ["sqlite"],
    ldflags: ["-X github.com/ory/kratos/driver/config.Version=v1.3.1"],
  },
  {
    name: "mailpit",
    version: "1.33.1",
    wrapper: "mailpit",
    main: "github.com/axllent/mailpit",
    ldflags: ["-X github.com/axllent/mailpit/config.Version=v1.33.1"],
  },
  {
    name: "caddy",
    version: "2.11.9-ratelimit-0.1.0",
    wrapper: "caddy",
    main: ".",
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
  {
    name: "actionlint",
    version: "1.7.12",
    wrapper: "actionlint",
    main: "github.com/rhysd/actionlint/cmd/actionlint",
    ldflags: ["-X github.com/rhysd/actionlint.version=1.7.12"],
  },
];

const providerPlugins: ProviderPlugin[] = [
  { name: "command", npmPackage: "@pulumi/command", tagModule: "github.com/pulumi/pulumi-command", providerModule: "github.com/pulumi/pulumi-command/provider", majorSuffix: "" },
  { name: "random", npmPackage: "@pulumi/random", tagModule: "github.com/pulumi/pulumi-random", providerModule: "github.com/pulumi/pulumi-random/provider/v4", majorSuffix: "+incompatible" },
  { name: "hcloud", npmPackage: "@pulumi/hcloud", tagModule: "github.com/pulumi/pulumi-hcloud", providerModule: "github.com/pulumi/pulumi-hcloud/provider", majorSuffix: "" },
];

const log = (message: string) => console.log(`[tools] ${message}`);
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

function goEnvironment(cgo = false): Record<string, string> {
  return { ...(process.env as Record<string, string>), GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod", CGO_ENABLED: cgo ? "1" : "0" };
}

class ToolBuildError extends Error {}

async function run(what: string, command: string, args: string[], options: { cwd: string; env: Record<string, string> }) {
  try {
    return await execa(command, args, { ...options, all: true });
  } catch (error) {
    const output = (error as { all?: string }).all ?? (error as Error).message;
    throw new ToolBuildError(`${what} failed:\n${output.split("\n").slice(-25).join("\n")}`);
  }
}

async function buildGo(build: GoBuild): Promise<string> {
  const wrapperDir = join(projectDir, "tools", "go", build.wrapper);
  const recipe = [readFileSync(join(wrapperDir, "go.mod"), "utf8"), readFileSync(join(wrapperDir, "go.sum"), "utf8"), build.mainSource ?? "", (build.ldflags ?? []).join(" "), (build.tags ?? []).join(",")].join("\0");
  const key = `${build.name}-${build.version}-${createHash("sha256").update(recipe).digest("hex").slice(0, 12)}`;
  const toolDir = join(cacheRoot, key);
  const binary = join(toolDir, build.name);
  if (existsSync(binary)) {
    log(`${build.name} ${build.version}: cached`);
    return binary;
  }
  const sourceDir = join(toolDir, "src");
  rmSync(sourceDir, { recursive: true, force: true });
  mkdirSync(sourceDir, { recursive: true });
  copyFileSync(join(wrapperDir, "go.mod"), join(sourceDir, "go.mod"));
  copyFileSync(join(wrapperDir, "go.sum"), join(sourceDir, "go.sum"));
  if (build.mainSource) writeFileSync(join(sourceDir, "main.go"), build.mainSource);
  const env = goEnvironment(build.cgo);
  const module = `${build.main} (wrapper tools/go/${build.wrapper})`;

  log(`${build.name} ${build.version}: downloading modules`);
  let started = performance.now();
  await run(`downloading the modules of ${module}`, "go", ["mod", "download"], { cwd: sourceDir, env });
  const downloadTime = seconds(started);
  log(`${build.name} ${build.version}: building`);
  started = performance.now();
  const args = ["build", "-trimpath", "-o", `${binary}.partial`];
  if (build.tags?.length) args.push("-tags", build.tags.join(","));
  args.push("-ldflags", ["-s", "-w", ...(build.ldflags ?? [])].join(" "), build.main);
  await run(`building ${module}`, "go", args, { cwd: sourceDir, env });
  renameSync(`${binary}.partial`, binary);
  log(`${build.name} ${build.version}: downloaded in ${downloadTime}, built in ${seconds(started)}`);
  return binary;
}

/** Uses a pulumi already on PATH when it is exactly the locked version, else builds one. */
async function pulumiBinary(): Promise<string> {
  try {
    const { stdout: path } = await execa("sh", ["-c", "command -v pulumi"]);
    const { stdout: version } = await execa(path, ["version"]);
    if (version.trim() === `v${pulumiVersion}` && !path.startsWith(binDir)) {
      log(`pulumi v${pulumiVersion}: using ${path}`);
      return path;
    }
  } catch {
    // Not on PATH: build it.
  }
  return buildGo(goBuilds[0]!);
}

async function moduleDir(module: string): Promise<string> {
  const { stdout } = await run(`downloading ${module}`, "go", ["mod", "download", "-json", module], { cwd: projectDir, env: goEnvironment() });
  return (JSON.parse(stdout) as { Dir: string }).Dir;
}

/**
 * Provider plugins must match the npm SDKs exactly. Their Go modules have no tags of their own: the
 * release commit comes from the repository's vX tag. When the proxy refuses the module, the plugin is
 * reported unavailable with the proxy's answer.
 */
async function providerPlugin(plugin: ProviderPlugin, pulumi: string): Promise<string | undefined> {
  const version = lockedVersion(plugin.npmPackage);
  const env = goEnvironment();
  try {
    const tag = await run(`resolving ${plugin.tagModule}@v${version}`, "go", ["list", "-m", "-json", `${plugin.tagModule}@v${version}${plugin.majorSuffix}`], { cwd: projectDir, env });
    const info = JSON.parse(tag.stdout) as { Time: string; Origin?: { Hash: string } };
    if (!info.Origin?.Hash) throw new ToolBuildError(`the proxy gave no commit for ${plugin.tagModule}@v${version}`);
    const stamp = info.Time.replace(/[-:TZ]/g, "").slice(0, 14);
    const major = /\/v(\d+)$/.exec(plugin.providerModule)?.[1];
    const pseudo = `v${major ?? "0"}.0.0-${stamp}-${info.Origin.Hash.slice(0, 12)}`;
    await run(`downloading ${plugin.providerModule}@${pseudo}`, "go", ["mod", "download", "-json", `${plugin.providerModule}@${pseudo}`], { cwd: projectDir, env });
    const key = `pulumi-resource-${plugin.name}-${version}`;
    const binary = join(cacheRoot, key, `pulumi-resource-${plugin.name}`);
    if (!existsSync(binary)) {
      const source = join(cacheRoot, key, "src");
      rmSync(source, { recursive: true, force: true });
      mkdirSync(source, { recursive: true });
      await execa("cp", ["-R", `${await moduleDir(`${plugin.providerModule}@${pseudo}`)}/.`, source]);
      await execa("chmod", ["-R", "u+w", source]);
      const started = performance.now();
      const main = `./cmd/pulumi-resource-${plugin.name}`;
      await run(`generating the schema of ${plugin.providerModule}`, "go", ["generate", main], { cwd: source, env: { ...env, VERSION: `v${version}` } });
      await run(`building ${plugin.providerModule}`, "go", ["build", "-trimpath", "-o", binary, main], { cwd: source, env });
      log(`pulumi-resource-${plugin.name} ${version}: built in ${seconds(started)}`);
    }
    await run(`registering ${plugin.name}`, pulumi, ["plugin", "install", "resource", plugin.name, version, "--file", binary], { cwd: projectDir, env: pulumiEnvironment() });
    return undefined;
  } catch (error) {
    const message = (error as Error).message;
    const refused = /"?([^"\s]+@v[^:\s]+): reading \S+: (40[34] [A-Za-z ]+)/.exec(message);
    const reason = refused ? `the Go proxy refused ${refused[1]} (${refused[2]})` : message.split("\n")[0]!;
    return `${plugin.npmPackage} ${version} needs ${plugin.providerModule}: ${reason}`;
  }
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

async function main() {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 22) throw new ToolBuildError(`Node ${process.versions.node} is too old: @pulumi/pulumi ${pulumiVersion} needs Node >= 22 (npm scripts run node_modules/.bin/node, installed by npm ci)`);
  const started = performance.now();
  mkdirSync(binDir, { recursive: true });
  mkdirSync(join(pulumiDir, "state"), { recursive: true });
  mkdirSync(cacheRoot, { recursive: true });

  const pulumi = await pulumiBinary();
  link("pulumi", pulumi);
  const binaries: Record<string, string> = { pulumi };
  for (const build of goBuilds.slice(1)) {
    binaries[build.name] = await buildGo(build);
    link(build.name, binaries[build.name]!);
  }
  // Dynamic providers run through this script, shipped in the Go SDK module; it must sit next to pulumi.
  const dynamicProvider = join(await moduleDir(`github.com/pulumi/pulumi/sdk/v3@v${pulumiVersion}`), "nodejs", "dist", "pulumi-resource-pulumi-nodejs");
  const dynamicCopy = join(cacheRoot, `pulumi-resource-pulumi-nodejs-${pulumiVersion}`);
  copyFileSync(dynamicProvider, dynamicCopy);
  chmodSync(dynamicCopy, 0o755);
  link("pulumi-resource-pulumi-nodejs", dynamicCopy);
  binaries["pulumi-resource-pulumi-nodejs"] = dynamicCopy;

  const unavailablePlugins: Record<string, string> = {};
  for (const plugin of providerPlugins) {
    const problem = await providerPlugin(plugin, pulumi);
    if (problem) {
      unavailablePlugins[plugin.name] = problem;
      log(`provider plugin ${plugin.name}: UNAVAILABLE: ${problem}`);
    } else {
      log(`provider plugin ${plugin.name}: registered in ${join(pulumiDir, "home")}`);
    }
  }

  const kratosDir = await moduleDir("github.com/ory/kratos@v1.3.1");
  const kratosGoMod = readFileSync(join(kratosDir, "go.mod"), "utf8");
  const oryX = /github\.com\/ory\/x (v\S+)/.exec(kratosGoMod)?.[1];
  if (!oryX) throw new ToolBuildError("cannot find the github.com/ory/x version Kratos v1.3.1 requires");
  const manifest: ToolManifest = {
    binaries,
    kratosConfigSchema: join(kratosDir, "embedx", "config.schema.json"),
    tracingConfigSchema: join(await moduleDir(`github.com/ory/x@${oryX}`), "otelx", "config.schema.json"),
    unavailablePlugins,
  };
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  log(`toolchain ready in ${seconds(started)} (cache ${cacheRoot}, binaries linked in ${binDir})`);
}

main().catch((error) => {
  console.error(`[tools] ${error instanceof ToolBuildError ? error.message : (error as Error).stack}`);
  process.exit(1);
});
