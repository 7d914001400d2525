import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import execa from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composeProjectDir, dataMountPath } from "../../lib/topology";
import { securityHeadersSnippet, serializeCaddyfile } from "../../render/caddyfile";
import {
  hostConfiguration,
  hostConfigurationRecords,
  metadataAddress,
  metadataBlockFile,
  platformUnit,
} from "../../render/hostConfig";
import { binary, freePort } from "../../scripts/bench/localServices";
import { powerPlan, promotion, refreshPlan, teardownPlan } from "../../scripts/operations/stagingOps";
import { projectDir, pulumiEnvironment, requirePulumi } from "../../scripts/toolchain/toolchain";

/** The scripts the workflows call, run as the workflows run them. */
describe("npm run smoke, against a real Caddy over HTTPS", () => {
  const dir = mkdtempSync(join(tmpdir(), "olympus-caddy-"));
  let caddy: execa.ExecaChildProcess;
  const ports = { good: 0, bare: 0, issuer: 0 };
  const url = (port: number) => `https://127.0.0.1:${port}`;
  const smoke = (urls: Record<string, string>, issuers: string[]) =>
    execa(
      "npm",
      ["run", "--silent", "smoke", "--", "--urls", JSON.stringify(urls), "--issuers", JSON.stringify(issuers)],
      {
        cwd: projectDir,
        reject: false,
        all: true,
        env: { NODE_EXTRA_CA_CERTS: join(dir, "caddy", "pki", "authorities", "local", "root.crt") },
      },
    );

  beforeAll(async () => {
    ports.good = await freePort();
    ports.bare = await freePort();
    ports.issuer = await freePort();
    const caddyfile = serializeCaddyfile([
      {
        keys: [],
        directives: [
          { name: "local_certs" },
          { name: "skip_install_trust" },
          { name: "admin", args: ["off"] },
          { name: "auto_https", args: ["disable_redirects"] },
        ],
      },
      securityHeadersSnippet,
      {
        keys: [url(ports.good)],
        directives: [
          { name: "import", args: ["security_headers"] },
          { name: "respond", args: ["hello", "200"] },
        ],
      },
      { keys: [url(ports.bare)], directives: [{ name: "respond", args: ["no headers here", "200"] }] },
      {
        keys: [url(ports.issuer)],
        directives: [
          { name: "import", args: ["security_headers"] },
          { name: "respond", args: [JSON.stringify({ issuer: url(ports.issuer) }), "200"] },
        ],
      },
    ]);
    writeFileSync(join(dir, "Caddyfile"), caddyfile);
    caddy = execa(binary("caddy"), ["run", "--config", join(dir, "Caddyfile"), "--adapter", "caddyfile"], {
      env: { XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
      reject: false,
      all: true,
    });
    // Readiness through curl -k: this process does not trust Caddy's fresh local CA.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const probe = await execa("curl", ["-sk", "-o", "/dev/null", "-w", "%{http_code}", url(ports.good)], {
        reject: false,
      });
      if (probe.stdout === "200") break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });

  afterAll(async () => {
    caddy?.kill("SIGTERM");
    await caddy;
    rmSync(dir, { recursive: true, force: true });
  });

  it("passes when every URL answers over HTTPS with the security headers and the issuer publishes discovery", async () => {
    const result = await smoke({ site: `${url(ports.good)}/` }, [url(ports.issuer)]);
    expect(result.all).toContain(`ok   https ${url(ports.good)}/: 200 with security headers`);
    expect(result.all).toContain(`ok   oidc discovery ${url(ports.issuer)}: issuer matches`);
    expect(result.exitCode).toBe(0);
  });

  it("fails, naming the host and the missing headers, when a site lacks them", async () => {
    const result = await smoke({ site: `${url(ports.good)}/`, bare: `${url(ports.bare)}/` }, []);
    expect(result.exitCode).toBe(1);
    expect(result.all).toMatch(
      new RegExp(
        `FAIL https ${url(ports.bare).replace(/\./g, "\\.")}/: missing or wrong headers: Strict-Transport-Security=\\(absent\\)`,
      ),
    );
    expect(result.all).toContain("smoke test failed: 1 of 2 checks");
  });
});

describe("staging sleep, wake, refresh, teardown and promotion", () => {
  const usersUrn =
    "urn:pulumi:staging::olympus::olympus:seed:ReleaseGate$pulumi-nodejs:dynamic/olympus:seed:SyntheticUsers::olympus-gate-synthetic-users";
  const state = {
    deployment: {
      resources: [
        { type: "pulumi-nodejs:dynamic/olympus:seed:SyntheticUsers", urn: usersUrn },
        {
          type: "hcloud:index/server:Server",
          urn: "urn:pulumi:prod::olympus::hcloud:index/server:Server::olympus-host-server",
          protect: true,
        },
      ],
    },
  };

  it("asks for sleep or wake through OLYMPUS_POWER, never through a config edit in the checkout", () => {
    const [sleep] = powerPlan("sleep", "staging", "staging");
    expect(sleep).toMatchObject({
      args: ["up", "--yes", "--non-interactive", "--stack", "staging", "--policy-pack", join(projectDir, "policy")],
      env: { OLYMPUS_POWER: "sleep" },
    });
    expect(powerPlan("wake", "staging", "staging")[0]!.env).toEqual({ OLYMPUS_POWER: "wake" });
  });

  it("refuses to put prod to sleep or refresh it, also from the command line", async () => {
    expect(() => powerPlan("sleep", "prod", "prod")).toThrow("refusing to put to sleep prod: it is a prod environment");
    expect(() => refreshPlan("prod", "prod", false, {}, true)).toThrow("refusing to refresh prod");
    const result = await execa("npm", ["run", "--silent", "staging-power", "--", "sleep", "prod"], {
      cwd: projectDir,
      reject: false,
      all: true,
      env: pulumiEnvironment(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.all).toContain("refusing to put to sleep prod: it is a prod environment");
  });

  it("refreshes by deleting exactly the synthetic users and what depends on them, waking a sleeping stack around it", () => {
    const awake = refreshPlan("staging", "staging", false, state, true);
    expect(awake.map((step) => step.args.slice(0, 1).concat(step.env ? [step.env.OLYMPUS_POWER!] : []))).toEqual([
      ["destroy"],
      ["up"],
    ]);
    expect(awake[0]!.args).toEqual([
      "destroy",
      "--yes",
      "--non-interactive",
      "--stack",
      "staging",
      "--target-dependents",
      "--target",
      usersUrn,
    ]);
    const asleep = refreshPlan("staging", "staging", false, state, false);
    expect(asleep.map((step) => `${step.args[0]} ${step.env?.OLYMPUS_POWER ?? ""}`.trim())).toEqual([
      "up wake",
      "destroy",
      "up",
      "up sleep",
    ]);
    expect(
      refreshPlan("staging", "staging", true, state, false).map((step) =>
        `${step.args[0]} ${step.env?.OLYMPUS_POWER ?? ""}`.trim(),
      ),
    ).toEqual(["destroy", "up", "up sleep"]);
  });

  it("refuses a teardown before deleting anything while a resource is protected, and prod without its name", () => {
    expect(() => teardownPlan("prod", "prod", "prod", state)).toThrow(
      /refusing to destroy prod: 1 resources are protected \(olympus-host-server\); nothing was deleted/,
    );
    expect(() => teardownPlan("prod", "prod", undefined, { deployment: { resources: [] } })).toThrow(
      "confirm with --confirm prod",
    );
    expect(
      teardownPlan("staging", "staging", undefined, { deployment: { resources: [state.deployment.resources[0]!] } })[0]!
        .args[0],
    ).toBe("destroy");
  });

  it("promotes to prod only the release staging's soak passed while awake", () => {
    const soaked = { releaseFingerprint: "a".repeat(64), finishedAt: "2026-11-26T08:00:00Z", successRate: 1 };
    expect(promotion("staging", { awake: true, releaseFingerprint: "a".repeat(64), lastSoak: soaked })).toMatchObject({
      promote: true,
      soakedAt: soaked.finishedAt,
    });
    expect(promotion("staging", { awake: false, releaseFingerprint: "b".repeat(64), lastSoak: soaked })).toMatchObject({
      promote: false,
      awake: false,
    });
    expect(promotion("staging", { awake: true, releaseFingerprint: "b".repeat(64), lastSoak: soaked }).promote).toBe(
      false,
    );
    expect(
      promotion("dev", { awake: true, releaseFingerprint: "c".repeat(64), lastSoak: "no soak gate in this stack" })
        .promote,
    ).toBe(true);
  });
});

describe("the host-config step's script, on this machine under a scratch root", () => {
  const script = join(projectDir, "render", "assets", "olympus-host.sh");
  const root = mkdtempSync(join(tmpdir(), "olympus-host-root-"));
  // Packages this machine has: the script's package handling runs for real without installing anything.
  const config = { ...hostConfiguration("deploy"), packages: ["bash", "coreutils"] };
  const apply = () =>
    execa("bash", ["-c", `bash -c "$(base64 -w0 < ${script} | base64 -d)" olympus-host`], {
      input: hostConfigurationRecords(config),
      env: { OLYMPUS_HOST_ROOT: root },
      all: true,
    });
  const sshd = join(root, "etc", "ssh", "sshd_config.d", "10-olympus.conf");
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("writes what differs, changes nothing on a second run, and restores a file edited by hand", async () => {
    expect((await apply()).all).toContain("host configuration applied: 0 packages installed, 5 files replaced");
    expect(readFileSync(sshd, "utf8")).toBe(
      "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\nPubkeyAuthentication yes\nAllowUsers deploy\n",
    );
    expect((await apply()).all).toContain("0 packages installed, 0 files replaced");
    writeFileSync(sshd, "PasswordAuthentication yes\n");
    const restored = await apply();
    expect(restored.all).toContain("wrote /etc/ssh/sshd_config.d/10-olympus.conf");
    expect(restored.all).toContain("1 files replaced");
    expect(readFileSync(sshd, "utf8")).toContain("PasswordAuthentication no");
  });

  it("blocks containers from the metadata service with a ruleset nft accepts, loaded by a unit systemd accepts", async () => {
    await apply();
    const ruleset = join(root, metadataBlockFile);
    expect(readFileSync(ruleset, "utf8")).toContain(`ip daddr ${metadataAddress} reject`);
    const checked = await execa("nft", ["--check", "--file", ruleset], { reject: false, all: true });
    expect(checked.exitCode, checked.all).toBe(0);
    writeFileSync(join(root, "broken.nft"), readFileSync(ruleset, "utf8").replace("reject", "rejekt"));
    expect((await execa("nft", ["--check", "--file", join(root, "broken.nft")], { reject: false })).exitCode).not.toBe(
      0,
    );
  });

  it("grows the volume's filesystem into a larger device, and leaves one that already fills it alone", async () => {
    const image = join(root, "volume.img");
    await execa("truncate", ["--size", "32M", image]);
    await execa("mkfs.ext4", ["-q", "-F", image]);
    const blocks = async () =>
      Number(/Block count:\s+(\d+)/.exec((await execa("dumpe2fs", ["-h", image], { all: true })).all!)![1]);
    const before = await blocks();
    // The volume grew (volumeSizeGb raised): the device is twice the size its filesystem knows.
    await execa("truncate", ["--size", "64M", image]);
    const grow = () =>
      execa("bash", ["-c", `bash -c "$(base64 -w0 < ${script} | base64 -d)" olympus-host grow-filesystem ${image}`], {
        all: true,
        reject: false,
      });
    const grown = await grow();
    expect(grown.exitCode, grown.all).toBe(0);
    expect(grown.all).toContain(`grew the filesystem on ${image}`);
    expect(await blocks()).toBe(before * 2);
    const again = await grow();
    expect(again.all).toContain("already fills it");
  });

  it("installs a boot unit that systemd accepts and that starts the platform after the data volume is mounted", async () => {
    await apply();
    const unit = join(root, "etc", "systemd", "system", platformUnit);
    const text = readFileSync(unit, "utf8");
    expect(text).toContain(`RequiresMountsFor=${dataMountPath}`);
    expect(text).toContain(`ExecStart=${composeProjectDir}/olympus-deploy.sh boot`);
    expect(text).toContain("User=deploy");
    // systemd's own check, against the scratch root, where the script it starts exists as on a host.
    mkdirSync(join(root, composeProjectDir), { recursive: true });
    copyFileSync(
      join(projectDir, "render", "assets", "olympus-deploy.sh"),
      join(root, composeProjectDir, "olympus-deploy.sh"),
    );
    chmodSync(join(root, composeProjectDir, "olympus-deploy.sh"), 0o755);
    // The targets it is ordered after are the system's own (multi-user.target, network-online.target).
    mkdirSync(join(root, "usr", "lib", "systemd"), { recursive: true });
    if (!existsSync(join(root, "usr", "lib", "systemd", "system")))
      symlinkSync("/usr/lib/systemd/system", join(root, "usr", "lib", "systemd", "system"));
    const verify = (path: string) =>
      execa("systemd-analyze", ["verify", "--man=no", `--root=${root}`, path], { reject: false, all: true });
    const verified = await verify(`/etc/systemd/system/${platformUnit}`);
    expect(verified.exitCode, verified.all).toBe(0);
    // And a broken unit fails the same check (a misspelled directive, a relative ExecStart).
    writeFileSync(
      join(root, "etc", "systemd", "system", "broken.service"),
      text.replace("ExecStart=/", "ExecStart=").replace("Type=", "Typ="),
    );
    const broken = await verify("/etc/systemd/system/broken.service");
    expect(broken.exitCode).not.toBe(0);
    expect(broken.all).toContain("Unknown key 'Typ'");
    expect(broken.all).toContain("Neither a valid executable name nor an absolute path");
  });
});

describe("a clone without the toolchain", () => {
  it("says what to run instead of failing with spawn pulumi ENOENT", async () => {
    await expect(requirePulumi({ PATH: "/nonexistent" })).rejects.toThrow(
      "no Pulumi CLI here: run `OLYMPUS_VENDOR_DIR=../shared/vendor npm run tools` first",
    );
    await expect(requirePulumi()).resolves.toBeUndefined();
  });
});
