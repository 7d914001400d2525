import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { parse as parseYaml } from "yaml";
import { generateSshKeyPair } from "../../lib/keys";
import { adminAddress, port } from "../../lib/services";
import { hostConfiguration, hostConfigurationDigest, hostConfigurationRecords } from "../../render/hostConfig";
import { installMocks, ofType, outputValue, type RecordedResource, secretInput, settled } from "../helpers/pulumiMocks";
import { committedStackConfig, secretConfigKeys } from "../helpers/stackConfig";

vi.mock("@pulumi/hcloud", async (importOriginal) =>
  (await import("../helpers/pulumiMocks.js")).recordingOptions(
    await importOriginal<typeof import("@pulumi/hcloud")>(),
    ["Server", "PrimaryIp", "Volume", "Zone", "Firewall", "VolumeAttachment", "ZoneRrset"],
  ),
);
vi.mock("@pulumi/command", async (importOriginal) => {
  const original = await importOriginal<typeof import("@pulumi/command")>();
  const { recordingOptions } = await import("../helpers/pulumiMocks.js");
  return { ...original, remote: recordingOptions(original.remote, ["Command"]) };
});
vi.mock("../../components/olympusStack", async (importOriginal) =>
  (await import("../helpers/pulumiMocks.js")).recordingOptions(
    await importOriginal<typeof import("../../components/olympusStack")>(),
    ["OlympusStack"],
  ),
);

type Program = Awaited<ReturnType<typeof import("../../index")>>;

/**
 * Runs index.ts under mocks with a committed stack's config, as `pulumi up` would: `previousOutputs`
 * are what the backend holds from the last run, `power` is OLYMPUS_POWER.
 */
function runProgram(
  stack: string,
  overrides: Record<string, string> = {},
  options: { previousOutputs?: Record<string, unknown>; power?: string } = {},
): Promise<{ recorded: RecordedResource[]; program: Program }> {
  // A run is only read afterwards, so each distinct run happens once per file (most tests share the committed stacks).
  const key = JSON.stringify([stack, overrides, options]);
  if (!runs.has(key)) runs.set(key, freshRun(stack, overrides, options));
  return runs.get(key)!;
}
const runs = new Map<string, ReturnType<typeof freshRun>>();

async function freshRun(
  stack: string,
  overrides: Record<string, string>,
  { previousOutputs = {}, power }: { previousOutputs?: Record<string, unknown>; power?: string },
): Promise<{ recorded: RecordedResource[]; program: Program }> {
  vi.resetModules();
  vi.stubEnv("OLYMPUS_POWER", power ?? "");
  const recorded = installMocks({
    stack,
    config: committedStackConfig(stack, overrides),
    secretKeys: secretConfigKeys,
    previousOutputs,
  });
  const { default: run } = (await import("../../index.js")) as unknown as { default: () => Promise<Program> };
  const program = await run();
  await outputValue(program.releaseFingerprint);
  await settled();
  return { recorded, program };
}

afterEach(() => {
  vi.resetModules();
  vi.unstubAllEnvs();
});

describe("the program for each committed stack", () => {
  it("gives staging a cax11 and prod a cax21, both ARM Ubuntu 24.04 with labels", async () => {
    for (const [stack, serverType] of [
      ["staging", "cax11"],
      ["prod", "cax21"],
    ] as const) {
      const { recorded } = await runProgram(stack);
      const [server] = ofType(recorded, "hcloud:index/server:Server");
      expect(server?.inputs).toMatchObject({
        serverType,
        image: "ubuntu-24.04",
        location: "fsn1",
        shutdownBeforeDeletion: true,
      });
      expect(server?.inputs.labels).toEqual({ env: stack, stack, "managed-by": "pulumi" });
    }
  });

  it("protects and backs up prod, and only prod", async () => {
    const prod = await runProgram("prod");
    const [server] = ofType(prod.recorded, "hcloud:index/server:Server");
    expect(server?.inputs).toMatchObject({ backups: true, deleteProtection: true, rebuildProtection: true });
    for (const type of ["hcloud:index/primaryIp:PrimaryIp", "hcloud:index/volume:Volume", "hcloud:index/zone:Zone"]) {
      for (const resource of ofType(prod.recorded, type))
        expect(resource.inputs.deleteProtection, `${type} ${resource.name}`).toBe(true);
    }
    expect(await outputValue(prod.program.protections)).toMatchObject({ pulumiProtect: true, backups: true });

    const staging = await runProgram("staging");
    const [stagingServer] = ofType(staging.recorded, "hcloud:index/server:Server");
    expect(stagingServer?.inputs).toMatchObject({ backups: false, deleteProtection: false });
  });

  it("keeps primary IPs and the volume independent of the server", async () => {
    const { recorded } = await runProgram("staging");
    const ips = ofType(recorded, "hcloud:index/primaryIp:PrimaryIp");
    expect(ips.map((ip) => ip.inputs.type).sort()).toEqual(["ipv4", "ipv6"]);
    for (const ip of ips) {
      expect(ip.inputs).toMatchObject({ autoDelete: false });
      // hcloud 1.35 warns that assigneeType is only for use with assigneeId.
      expect(ip.inputs.assigneeType).toBeUndefined();
    }
    expect(ofType(recorded, "hcloud:index/rdns:Rdns").map((r) => r.inputs.dnsPtr)).toEqual([
      "host.staging.example.com",
      "host.staging.example.com",
    ]);
    const [volume] = ofType(recorded, "hcloud:index/volume:Volume");
    expect(volume?.inputs).toMatchObject({ size: 20, format: "ext4", automount: false });
    const [server] = ofType(recorded, "hcloud:index/server:Server");
    expect(server?.inputs.publicNets).toEqual([
      {
        ipv4Enabled: true,
        ipv4: Number(ips.find((ip) => ip.inputs.type === "ipv4")!.id),
        ipv6Enabled: true,
        ipv6: Number(ips.find((ip) => ip.inputs.type === "ipv6")!.id),
      },
    ]);
  });

  it("creates DNS for every public hostname under each stack's own domain", async () => {
    const expected = [
      "olympus",
      "login.ciam",
      "oauth.ciam",
      "admin.ciam",
      "login.iam",
      "oauth.iam",
      "admin.iam",
      "host",
    ];
    for (const [stack, domain] of [
      ["staging", "staging.example.com"],
      ["prod", "example.com"],
    ] as const) {
      const { recorded } = await runProgram(stack);
      const [zone] = ofType(recorded, "hcloud:index/zone:Zone");
      expect(zone?.inputs.name).toBe(domain);
      const rrsets = ofType(recorded, "hcloud:index/zoneRrset:ZoneRrset");
      expect(rrsets.every((set) => set.inputs.zone === domain)).toBe(true);
      const named = (type: string) =>
        rrsets
          .filter((set) => set.inputs.type === type)
          .map((set) => set.inputs.name)
          .sort();
      expect(named("A")).toEqual([...expected].sort());
      // The edge serves IPv4 only: no site has an AAAA an IPv6-only client would fail on; the host's name does.
      expect(named("AAAA")).toEqual(["host"]);
      const caa = rrsets.find((set) => set.inputs.type === "CAA");
      expect(caa?.inputs.records.map((record: { value: string }) => record.value)).toContain(
        '0 issue "letsencrypt.org"',
      );
      const txt = rrsets
        .filter((set) => set.inputs.type === "TXT")
        .map((set) => set.inputs.name)
        .sort();
      // Only prod sends real mail, so only prod publishes SPF and DMARC; without the provider's DKIM
      // records in the stack file, DMARC cannot reject (p=none) and only reports.
      expect(txt).toEqual(stack === "prod" ? ["@", "_dmarc"] : []);
      const dmarc = rrsets.find((set) => set.inputs.name === "_dmarc");
      if (stack === "prod") expect(dmarc?.inputs.records[0].value).toContain("p=none");
    }
  });

  it("seeds synthetic users and gates releases in staging only", async () => {
    const staging = await runProgram("staging");
    const users = ofType(staging.recorded, "pulumi-nodejs:dynamic/olympus:seed:SyntheticUsers");
    expect(users.map((r) => r.inputs)).toMatchObject([
      { environment: "staging", count: 1000, seed: 20261126, run: "seed-20261126" },
    ]);
    // The Kratos admin API listens on the admin network only: reached at its address there, through a
    // tunnel whose credentials are secret.
    const endpoint = secretInput(users[0]?.inputs.endpoint);
    expect(endpoint.secret).toBe(true);
    expect(endpoint.value).toMatchObject({
      kind: "ssh",
      remoteHost: adminAddress("ciam-kratos"),
      remotePort: port("ciam-kratos", "admin"),
      ssh: { user: "deploy", port: 22 },
    });
    expect(secretInput(users[0]?.inputs.password).secret).toBe(true);
    expect(ofType(staging.recorded, "pulumi-nodejs:dynamic/olympus:seed:Soak")).toHaveLength(1);
    const prod = await runProgram("prod");
    expect(
      prod.recorded.some(
        (r) => r.type.startsWith("olympus:seed") || r.name.includes("synthetic") || r.name.includes("soak"),
      ),
    ).toBe(false);
  });

  it("generates every secret per stack: staging and prod share no value", async () => {
    // Mock random values derive from stack and name, so a secret that is a constant, or taken from
    // anything but the stack's own resources, would show up in both stacks.
    const deployedSecrets = async (stack: string) => {
      const { recorded } = await runProgram(stack);
      const install = recorded.find((resource) => resource.name === "olympus-app-install-secrets")!;
      const bundle = secretInput(install.inputs.stdin).value as string;
      // One file per secret variable: path, mode and base64 content.
      return bundle
        .split("\n")
        .filter((line) => line.startsWith("secrets/"))
        .map((line) => Buffer.from(line.split("\t")[2]!, "base64").toString())
        .filter((value) => value.length >= 16 && !value.includes("://") && !value.startsWith("/"));
    };
    const staging = await deployedSecrets("staging");
    const prod = await deployedSecrets("prod");
    expect(staging.length).toBeGreaterThan(10);
    const shared = staging.filter((value) => prod.includes(value));
    expect(shared).toEqual([]);
  });

  it("estimates the monthly cost from the dated price table", async () => {
    const { program } = await runProgram("prod");
    const cost = await outputValue(program.monthlyCostEur);
    expect(cost.pricesAsOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(cost.server).toBe(7.99);
    expect(cost.backups).toBeCloseTo(1.6, 2);
    expect(cost.total).toBeCloseTo(cost.server + cost.backups + cost.volume + cost.primaryIps, 2);
  });
});

describe("other shapes of the same program", () => {
  it("sleeps staging on request, and stays asleep on every later run until woken (the state lives in the backend)", async () => {
    const gateTypes = [
      "pulumi-nodejs:dynamic/olympus:seed:SyntheticUsers",
      "pulumi-nodejs:dynamic/olympus:seed:Soak",
      "pulumi-nodejs:dynamic/olympus:oauth:HydraClients",
    ];
    const asleep = async (run: Awaited<ReturnType<typeof runProgram>>) => {
      const types = run.recorded.map((resource) => resource.type);
      const kept = [
        "hcloud:index/primaryIp:PrimaryIp",
        "hcloud:index/volume:Volume",
        "hcloud:index/firewall:Firewall",
        "hcloud:index/zoneRrset:ZoneRrset",
      ];
      for (const type of kept) expect(types, type).toContain(type);
      // The gate and the clients only keep their record: nothing contacts a server that is not there.
      for (const resource of run.recorded.filter((candidate) => gateTypes.includes(candidate.type)))
        expect(resource.inputs.hostAwake, resource.name).toBe(false);
      return (
        !types.includes("hcloud:index/server:Server") &&
        !types.includes("command:remote:Command") &&
        (await outputValue(run.program.awake)) === false
      );
    };
    expect(await asleep(await runProgram("staging", {}, { power: "sleep", previousOutputs: { awake: true } }))).toBe(
      true,
    );
    // A deploy, refresh or preview from any checkout: no request, the backend says asleep.
    const later = await runProgram("staging", {}, { previousOutputs: { awake: false } });
    expect(await asleep(later)).toBe(true);
    const cost = await outputValue(later.program.monthlyCostEur);
    expect(cost.server).toBe(0);
    expect(cost.sleepSaving).toBeCloseTo(4.49, 2);

    const woken = await runProgram("staging", {}, { power: "wake", previousOutputs: { awake: false } });
    expect(ofType(woken.recorded, "hcloud:index/server:Server")).toHaveLength(1);
    expect(
      woken.recorded.filter((resource) => resource.type === "command:remote:Command").map((resource) => resource.name),
    ).toContain("olympus-app-up");
    for (const resource of woken.recorded.filter((candidate) => gateTypes.includes(candidate.type)))
      expect(resource.inputs.hostAwake, resource.name).toBe(true);
    expect(await outputValue(woken.program.awake)).toBe(true);
    // A new stack starts awake.
    expect(await outputValue((await runProgram("staging")).program.awake)).toBe(true);
  });

  it("refuses to put prod to sleep, and a power request other than sleep or wake, before anything exists", async () => {
    const refusals = [
      {
        stack: "prod",
        power: "sleep",
        message: /OLYMPUS_POWER: prod is a prod environment and never sleeps; got sleep, allowed is wake or unset/,
      },
      { stack: "staging", power: "off", message: /OLYMPUS_POWER: got "off", allowed are sleep and wake/ },
    ];
    for (const { stack, power, message } of refusals) {
      vi.resetModules();
      vi.stubEnv("OLYMPUS_POWER", power);
      const recorded = installMocks({ stack, config: committedStackConfig(stack), secretKeys: secretConfigKeys });
      const { default: run } = (await import("../../index.js")) as unknown as { default: () => Promise<Program> };
      await expect(run()).rejects.toThrow(message);
      expect(recorded).toEqual([]);
    }
    // Prod recorded asleep (it cannot be, but a hand-edited state could say so) still runs awake.
    const prod = await runProgram("prod", {}, { previousOutputs: { awake: false } });
    expect(ofType(prod.recorded, "hcloud:index/server:Server")).toHaveLength(1);
  });

  it("names resources without the stack, so renaming a stack renames nothing; the former names are aliased", async () => {
    const namesOf = async (stack: string) => {
      const { recorded } = await runProgram(stack);
      return {
        recorded,
        names: recorded
          .filter((resource) => resource.type !== "pulumi:pulumi:StackReference")
          .map((resource) => resource.name),
      };
    };
    const staging = await namesOf("staging");
    const prod = await namesOf("prod");
    for (const name of [...staging.names, ...prod.names]) expect(name).not.toMatch(/staging|prod/);
    expect(staging.names).toContain("olympus-host-server");
    // People reading the Hetzner console still see which stack a resource belongs to.
    expect(ofType(staging.recorded, "hcloud:index/server:Server")[0]!.inputs.name).toBe("olympus-staging-host");
    expect(ofType(prod.recorded, "hcloud:index/volume:Volume")[0]!.inputs.name).toBe("olympus-prod-host-data");
    const app = staging.recorded.find((resource) => resource.type === "olympus:app:OlympusStack")!;
    expect(app.options.aliases).toEqual([{ name: "olympus-staging-app" }]);
  });

  it("keeps the host configuration current on a server it never replaces: a host-config step applies what cloud-init applied at first boot", async () => {
    const { recorded, program } = await runProgram("prod");
    const [server] = ofType(recorded, "hcloud:index/server:Server");
    const step = recorded.find((resource) => resource.name === "olympus-host-host-config")!;
    expect(step.inputs.stdin).toBe(hostConfigurationRecords(hostConfiguration("deploy")));
    expect(step.inputs.stdin).toContain(
      `file\t/etc/ssh/sshd_config.d/10-olympus.conf\t0644\t${Buffer.from("PasswordAuthentication no").toString("base64").slice(0, 20)}`,
    );
    expect(step.inputs.triggers).toEqual([server!.id]);
    // The same document cloud-init was given at first boot.
    const userData = parseYaml(
      (secretInput(server!.inputs.userData).value as string).replace(/^#cloud-config\n/, ""),
    ) as { packages: string[] };
    expect(userData.packages).toEqual(hostConfiguration("deploy").packages);
    expect(await outputValue(program.hostConfiguration)).toBe(hostConfigurationDigest(hostConfiguration("deploy")));
  });

  it("creates DNS before it deploys, so Caddy's first certificate request finds the records", async () => {
    const { recorded } = await runProgram("staging");
    const app = recorded.find((resource) => resource.type === "olympus:app:OlympusStack")!;
    const dependsOn = (app.options.dependsOn ?? []) as pulumi.Resource[];
    const names = await Promise.all(dependsOn.map((resource) => outputValue(resource.urn)));
    expect(names.map((urn) => urn.split("::").pop())).toEqual(["olympus-dns"]);
  });

  it("runs the dev tier on an existing machine over SSH, with the same Olympus stack and no Hetzner resources", async () => {
    const dir = mkdtempSync(join(tmpdir(), "olympus-dev-access-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const machineKey = generateSshKeyPair("host");
    const operatorKey = generateSshKeyPair("operator");
    writeFileSync(join(dir, "host.pub"), machineKey.publicKey);
    writeFileSync(join(dir, "id"), operatorKey.privateKey);
    const { recorded, program } = await runProgram("staging", {
      "olympus:environment": "dev",
      "olympus:domain": "dev.example.org",
      "olympus:imageSource": "local-build",
      "olympus:soak": JSON.stringify({
        enabled: false,
        durationSeconds: 60,
        loginsPerMinute: 6,
        minSuccessRate: 0.99,
        maxP95Ms: 1500,
      }),
      "olympus:existingHost": JSON.stringify({
        address: "192.0.2.50",
        port: 2222,
        user: "olympus",
        hostKeyFile: join(dir, "host.pub"),
        identityFile: join(dir, "id"),
      }),
    });
    expect(recorded.filter((resource) => resource.type.startsWith("hcloud:"))).toEqual([]);
    expect(recorded.map((resource) => resource.type)).toContain("olympus:host:ExistingHost");
    const up = recorded.find((resource) => resource.name.endsWith("-app-up"))!;
    const hostKey = machineKey.publicKey.split(" ").slice(0, 2).join(" ");
    expect(secretInput(up.inputs.connection).value).toMatchObject({
      host: "192.0.2.50",
      port: 2222,
      user: "olympus",
      hostKey,
      privateKey: operatorKey.privateKey,
    });
    expect(await outputValue(program.sshCommand)).toBe("ssh -p 2222 olympus@192.0.2.50");
    // Offline, the apps without a local build are left out, and the stack says so.
    expect(await outputValue(program.leftOut)).toEqual(["hera", "athena", "site", "pgadmin"]);
    expect((await outputValue(program.images)).kratos).toBe("localhost/olympus-local/kratos:v26.2.0");
    // The machine's access belongs to its operator: no authorized_keys is installed.
    const bundle = secretInput(
      recorded.find((resource) => resource.name.endsWith("-app-install-secrets"))!.inputs.stdin,
    ).value as string;
    expect(bundle).not.toContain("authorized_keys\t");
  });

  it("refuses an existing host whose key files are missing, before creating anything", async () => {
    await expect(
      runProgram("staging", {
        "olympus:environment": "dev",
        "olympus:domain": "dev.example.org",
        "olympus:existingHost": JSON.stringify({
          address: "192.0.2.50",
          port: 2222,
          user: "olympus",
          hostKeyFile: "/nonexistent/host.pub",
          identityFile: "/nonexistent/id",
        }),
      }),
    ).rejects.toThrow(/olympus:existingHost.hostKeyFile: \/nonexistent\/host.pub does not exist/);
  });
});

describe("the OAuth2 clients", () => {
  it("are registered in each stack's own Hydras with that stack's redirect URIs; public ones carry no secret", async () => {
    for (const [stack, domain] of [
      ["staging", "staging.example.com"],
      ["prod", "example.com"],
    ] as const) {
      const { recorded } = await runProgram(stack);
      const byHydra = Object.fromEntries(
        ofType(recorded, "pulumi-nodejs:dynamic/olympus:oauth:HydraClients").map((resource) => [
          resource.name.split("-").pop(),
          secretInput(resource.inputs.clients),
        ]),
      );
      expect(byHydra.ciam?.secret && byHydra.iam?.secret).toBe(true);
      const iam = byHydra.iam!.value as {
        client_id: string;
        redirect_uris: string[];
        token_endpoint_auth_method: string;
        client_secret?: string;
      }[];
      const ciam = byHydra.ciam!.value as typeof iam;
      expect(iam.map((client) => client.client_id).sort()).toEqual([
        "athena-ciam-client",
        "athena-iam-client",
        "pgadmin",
        "site-iam-client",
      ]);
      expect(ciam.map((client) => client.client_id)).toEqual(["site-ciam-client"]);
      const athena = iam.find((client) => client.client_id === "athena-ciam-client")!;
      expect(athena).toMatchObject({
        redirect_uris: [`https://admin.ciam.${domain}/api/auth/callback`],
        token_endpoint_auth_method: "none",
      });
      expect(athena.client_secret).toBeUndefined();
      expect(ciam[0]!.redirect_uris).toEqual([`https://olympus.${domain}/callback/ciam`]);
      expect(ciam[0]!.client_secret).toHaveLength(48);
      for (const client of [...iam, ...ciam].filter((candidate) => candidate.client_id !== "pgadmin")) {
        for (const uri of client.redirect_uris)
          expect(uri, client.client_id).toMatch(new RegExp(`^https://[a-z.]+\\.${domain.replace(/\./g, "\\.")}/`));
      }
    }
  });
});

describe("editing config never silently replaces the server", () => {
  it("marks the prod server protected, ignores first-boot-only inputs and frees its IPs before a replacement", async () => {
    for (const [stack, protect] of [
      ["prod", true],
      ["staging", false],
    ] as const) {
      const { recorded } = await runProgram(stack);
      const server = ofType(recorded, "hcloud:index/server:Server")[0]!;
      expect(server.options.protect).toBe(protect);
      expect(server.options.ignoreChanges).toEqual(expect.arrayContaining(["userData", "sshKeys", "image"]));
      expect(server.options.deleteBeforeReplace).toBe(true);
      for (const type of ["hcloud:index/primaryIp:PrimaryIp", "hcloud:index/volume:Volume", "hcloud:index/zone:Zone"]) {
        for (const resource of ofType(recorded, type))
          expect(resource.options.protect, `${stack} ${resource.name}`).toBe(protect);
      }
      // What a raw `pulumi destroy` would delete before it reached the server, and prod would not survive:
      // the firewall, the volume's attachment, the DNS records, the OAuth2 clients, and the step whose
      // delete runs `down`. Protected too, so the destroy stops before any of them.
      for (const type of [
        "hcloud:index/firewall:Firewall",
        "hcloud:index/volumeAttachment:VolumeAttachment",
        "hcloud:index/zoneRrset:ZoneRrset",
        "pulumi-nodejs:dynamic/olympus:oauth:HydraClients",
      ])
        for (const resource of ofType(recorded, type))
          expect(resource.options.protect, `${stack} ${resource.name}`).toBe(protect);
      const prepare = recorded.find((resource) => resource.name.endsWith("-app-prepare"))!;
      expect(prepare.options.protect).toBe(protect);
      // Releases replace the steps that run them: those stay unprotected, and their deletes do nothing.
      const up = recorded.find((resource) => resource.name.endsWith("-app-up"))!;
      expect(up.options.protect ?? false).toBe(false);
    }
  });

  /** The server inputs whose change makes Hetzner replace the server. */
  const replacementInputs = (recorded: RecordedResource[]) => {
    const server = ofType(recorded, "hcloud:index/server:Server")[0]!;
    const { sshKeys, image, location, name } = server.inputs;
    const userData = secretInput(server.inputs.userData);
    expect(userData.secret).toBe(true);
    return { userData: userData.value as string, sshKeys, image, location, name };
  };

  it("keeps user data, keys, image and location stable across unrelated edits", async () => {
    const before = replacementInputs((await runProgram("prod")).recorded);
    const edited = (
      await runProgram("prod", {
        "olympus:rateLimits": JSON.stringify({
          login: { events: 5, window: "1m" },
          lockout: { maxAttempts: 4, windowSeconds: 900, lockoutSeconds: 1800 },
          captcha: "turnstile",
          captchaSiteKey: "0x4AAAAAAAotherSiteKey",
        }),
        "olympus:adminCidrs": JSON.stringify(["198.51.100.0/24"]),
        "olympus:serverType": "cax31",
      })
    ).recorded;
    const after = replacementInputs(edited);
    expect(after.image).toBe(before.image);
    expect(after.location).toBe(before.location);
    expect(after.name).toBe(before.name);
    // Generated secrets differ per run under mocks, so compare what user data is made of.
    expect(
      after.userData
        .split("\n")
        .filter((line: string) => !line.includes("ssh-ed25519") && !/^\s{4}[A-Za-z0-9+/=]+$/.test(line)),
    ).toEqual(
      before.userData
        .split("\n")
        .filter((line: string) => !line.includes("ssh-ed25519") && !/^\s{4}[A-Za-z0-9+/=]+$/.test(line)),
    );
  });
});
