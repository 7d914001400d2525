import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { edgeSettings } from "../../lib/edge";
import { mailSettings } from "../../lib/mail";
import {
  installMocks,
  ofType,
  outputValue,
  type RecordedResource,
  resourceOptions,
  secretInput,
  settled,
} from "../helpers/pulumiMocks";

vi.mock("@pulumi/command", async (importOriginal) => {
  const original = await importOriginal<typeof import("@pulumi/command")>();
  const { recordingOptions } = await import("../helpers/pulumiMocks.js");
  return { ...original, remote: recordingOptions(original.remote, ["Command"]) };
});

let recorded: RecordedResource[];
let modules: {
  hetzner: typeof import("../../components/hetznerHost");
  existing: typeof import("../../components/existingHost");
  app: typeof import("../../components/olympusStack");
  secrets: typeof import("../../components/stackSecrets");
};

beforeAll(async () => {
  recorded = installMocks({ stack: "staging", config: {} });
  modules = {
    hetzner: await import("../../components/hetznerHost.js"),
    existing: await import("../../components/existingHost.js"),
    app: await import("../../components/olympusStack.js"),
    secrets: await import("../../components/stackSecrets.js"),
  };
});

const rateLimits = {
  login: { events: 100, window: "1m" },
  lockout: { maxAttempts: 10, windowSeconds: 600, lockoutSeconds: 300 },
  captcha: "test-keys" as const,
  captchaSiteKey: null,
};

describe("HetznerHost", () => {
  it("opens 80/443 tcp and 443 udp to the world, 22 to the admin networks, and nothing else", async () => {
    const secrets = new modules.secrets.StackSecrets("fw-secrets", { stack: "staging", certificateYear: 2026 });
    const host = new modules.hetzner.HetznerHost("fw", {
      environment: "staging",
      serverType: "cax11",
      location: "fsn1",
      adminCidrs: ["203.0.113.0/24", "2001:db8::/48"],
      deployKey: secrets.deployKey,
      hostKey: secrets.hostKey,
      reverseDnsName: "host.staging.example.com",
    });
    await outputValue(host.ipv6);
    await settled();
    const firewall = ofType(recorded, "hcloud:index/firewall:Firewall").find((r) => r.name === "fw-firewall")!;
    const rules = firewall.inputs.rules.map(
      (rule: Record<string, unknown>) =>
        `${rule.direction} ${rule.protocol}/${rule.port} from ${(rule.sourceIps as string[]).join(",")}`,
    );
    expect(rules).toEqual([
      "in tcp/80 from 0.0.0.0/0,::/0",
      "in tcp/443 from 0.0.0.0/0,::/0",
      "in udp/443 from 0.0.0.0/0,::/0",
      "in tcp/22 from 203.0.113.0/24,2001:db8::/48",
    ]);
    const server = ofType(recorded, "hcloud:index/server:Server").find((r) => r.name === "fw-server")!;
    expect(server.inputs.firewallIds).toEqual([Number(firewall.id)]);
    expect(await outputValue(host.ipv6)).toMatch(/^2001:db8:[0-9a-f]+::1$/);
    const connection = await outputValue(host.connection);
    expect(connection).toMatchObject({
      user: "deploy",
      port: 22,
      hostKey: expect.stringMatching(/^ssh-ed25519 AAAA[^ ]+$/),
    });
  });

  it("deletes only the server while asleep; IPs, volume and firewall stay", async () => {
    const before = recorded.length;
    const secrets = new modules.secrets.StackSecrets("asleep-secrets", { stack: "staging", certificateYear: 2026 });
    const host = new modules.hetzner.HetznerHost("asleep", {
      environment: "staging",
      serverType: "cax11",
      location: "fsn1",
      adminCidrs: ["203.0.113.0/24"],
      awake: false,
      deployKey: secrets.deployKey,
      hostKey: secrets.hostKey,
      reverseDnsName: "host.staging.example.com",
    });
    await outputValue(host.ipv4);
    await settled();
    const mine = recorded
      .slice(before)
      .filter((r) => r.name.startsWith("asleep-") && !r.name.startsWith("asleep-secrets"));
    const types = mine.map((r) => r.type);
    expect(types).not.toContain("hcloud:index/server:Server");
    expect(types).not.toContain("hcloud:index/volumeAttachment:VolumeAttachment");
    expect(types).toEqual(
      expect.arrayContaining([
        "hcloud:index/primaryIp:PrimaryIp",
        "hcloud:index/volume:Volume",
        "hcloud:index/firewall:Firewall",
      ]),
    );
    expect(await outputValue(host.machineId)).toBe("asleep");
  });
});

describe("OlympusStack deploy over SSH", () => {
  let app: InstanceType<typeof modules.app.OlympusStack>;
  const byName = (suffix: string) => recorded.find((r) => r.name === `deploy-app-${suffix}`)!;

  beforeAll(async () => {
    const secrets = new modules.secrets.StackSecrets("deploy-secrets", { stack: "staging", certificateYear: 2026 });
    const host = new modules.existing.ExistingHost("deploy-host", {
      address: "192.0.2.10",
      user: "deploy",
      hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEe5Wf8lZ7wFzm6XMWx3d7rZk1vGNsbvOLdTtJQ4b4Ty",
      privateKey: secrets.deployKey.apply((key) => key.privateKey),
    });
    app = new modules.app.OlympusStack("deploy-app", {
      stack: "staging",
      environment: "staging",
      domain: "staging.example.com",
      host,
      secrets: secrets.generated,
      mail: mailSettings({ mode: "mailpit", sandbox: null, spfInclude: null, records: [] }, "staging.example.com"),
      edge: edgeSettings(rateLimits),
      syntheticPassword: pulumi.secret("correct-horse-battery"),
      loginSimulation: { loginsPerHour: 6, emails: ["a@staging.olympus.test"] },
      alertRecipients: ["operators@staging.example.com"],
      backup: { endpoint: "https://fsn1.your-objectstorage.com", region: "fsn1", bucket: "olympus-staging", ca: null },
      backupKeys: pulumi.secret({ accessKeyId: "staging-key", secretAccessKey: "staging-secret-key" }),
      authorizedKeys: ["ssh-ed25519 AAAA deploy"],
    });
    await outputValue(app.releaseFingerprint);
    await settled();
  });

  it("prepares, installs configuration, then secrets, then starts, each step after the one before", async () => {
    const dependencyOf = async (step: string) => {
      const dependsOn = resourceOptions.get(`deploy-app-${step}`)?.dependsOn as pulumi.Resource[];
      expect(dependsOn).toHaveLength(1);
      return (await outputValue(dependsOn[0]!.urn)).split("::").pop();
    };
    expect(await dependencyOf("install-config")).toBe("deploy-app-prepare");
    expect(await dependencyOf("install-secrets")).toBe("deploy-app-install-config");
    expect(await dependencyOf("up")).toBe("deploy-app-install-secrets");
    expect(byName("prepare").inputs.create).toContain("olympus-deploy prepare");
    expect(byName("install-config").inputs.create).toMatch(/olympus-deploy install-config$/);
    expect(byName("install-secrets").inputs.create).toBe("/srv/olympus/deploy/olympus-deploy.sh install-secrets");
    expect(byName("up").inputs.create).toBe("/srv/olympus/deploy/olympus-deploy.sh up");
  });

  it("takes the project down only when the machine goes away, never when a release replaces the up step", async () => {
    // A replaced `up` is deleted after its replacement started the new release: it must not stop anything.
    expect(byName("up").inputs.delete).toBeUndefined();
    expect(byName("prepare").inputs.delete).toBe(
      "test ! -x /srv/olympus/deploy/olympus-deploy.sh || /srv/olympus/deploy/olympus-deploy.sh down",
    );
    expect(byName("prepare").inputs.triggers).toEqual(["deploy@192.0.2.10:22"]);
    // Deleted before its replacement is created, so `down` meets the old project, not the new one.
    expect(resourceOptions.get("deploy-app-prepare")?.deleteBeforeReplace).toBe(true);
  });

  it("carries secrets only as secrets, never logs the upload, and never sends old output back to the host", async () => {
    const install = byName("install-secrets");
    expect(install.inputs.logging).toBe("none");
    const stdin = secretInput(install.inputs.stdin);
    expect(stdin.secret).toBe(true);
    expect(stdin.value).toContain(".env\t0600\t");
    expect(secretInput(byName("prepare").inputs.connection).secret).toBe(true);
    const secretValues = Object.entries(await outputValue(app.secretFiles))
      .filter(([path]) => path.startsWith("secrets/"))
      .map(([, file]) => file.content)
      .filter((value) => value.length >= 16);
    expect(secretValues.length).toBeGreaterThan(10);
    for (const step of ["prepare", "install-config", "up"]) {
      const plain = JSON.stringify({ ...byName(step).inputs, connection: undefined });
      for (const value of secretValues) expect(plain.includes(value), `${step} leaks a secret`).toBe(false);
    }
    for (const step of ["prepare", "install-config", "install-secrets", "up"])
      expect(byName(step).inputs.addPreviousOutputInEnv).toBe(false);
  });

  it("installs the configuration in plain text, known at preview, with no secret file in it", async () => {
    const bundle = byName("install-config").inputs.stdin as string;
    const paths = bundle
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split("\t")[0]);
    expect(paths).toEqual(
      expect.arrayContaining(["compose.yml", "caddy/Caddyfile", "ciam-kratos/kratos.yml", "olympus-deploy.sh"]),
    );
    expect(paths).not.toContain(".env");
    expect(paths).not.toContain("postgres/server.key");
  });

  it("reruns the start step when a release changes, keyed by the fingerprint", async () => {
    const triggers = byName("up").inputs.triggers as unknown[];
    expect(triggers[0]).toBe(await outputValue(app.releaseFingerprint));
    expect(app.services).toEqual(expect.arrayContaining(["mailpit", "login-simulator", "caddy"]));
  });
});
