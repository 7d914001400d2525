import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { type EngineEvent, LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import execa from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticIdentity } from "../../clients/identities";
import { createIdentity } from "../../clients/kratosAdmin";
import { monitoringStatus } from "../../clients/prometheus";
import { parsePlainConfig } from "../../lib/config/schema";
import { readStackFile } from "../../lib/config/stackFiles";
import { adminHostUrl, hostUrl, loopbackPort } from "../../lib/services";
import { hostnames } from "../../lib/topology";
import { localBuilds, localImage } from "../../lib/versions";
import { securityHeaders } from "../../render/caddyfile";
import {
  type EdgeClient,
  edgeClient,
  loginThroughEdge,
  projectCopy,
  stackContainers,
  stackLeftovers,
  steadyTraffic,
} from "../../scripts/devhost/devCycle";
import { filesFromState, revealed } from "../../scripts/operations/renderedFiles";
import { lastSoakOf, type StateExport } from "../../scripts/operations/stagingOps";
import { pulumiDir } from "../../scripts/toolchain/toolchain";
import { waitUntil } from "../helpers/devStack";
import { authorizationFlow } from "../helpers/oauthFlow";

/**
 * The dev tier's whole cycle on this machine, as a user runs it: `npm run dev` from nothing (real engine,
 * providers, sshd, podman, Postgres, Kratos, Hydra, Caddy, Mailpit), the platform used through Caddy,
 * a converged second up, a release under load, a soak that fails and then passes, and a destroy that
 * leaves nothing. Runs from a copy of the project, so config changes never touch the checkout.
 */
let dir: string;
let env: Record<string, string>;
let stack: Stack;
let client: EdgeClient;
let output = "";
let password: string;
const names = (() => {
  const { config } = parsePlainConfig(readStackFile(join(__dirname, "..", ".."), "dev").raw);
  return hostnames(config!.domain, config!.siteSubdomain);
})();
const plan = { stack: "dev", seed: 20261126, run: "seed-20261126" };
const seeded = (index: number) => syntheticIdentity(plan, index).traits.email;
let diagnostics: string[] = [];
const onOutput = (text: string) => {
  output += text;
};
/** Each message the program logged, once (the output repeats them in its summary). */
const onEvent = (event: EngineEvent) => {
  if (event.diagnosticEvent) diagnostics.push(event.diagnosticEvent.message);
};
const soaksRun = () => diagnostics.filter((message) => message.includes("soak gate for dev: smoke checks")).length;
const outputs = async () =>
  Object.fromEntries(Object.entries(await stack.outputs()).map(([key, value]) => [key, value.value]));
/** What the soak gate last passed, from its state (no stack output waits for the soak). */
const lastSoak = async () => lastSoakOf((await stack.exportStack()) as StateExport);
const stagedKratos = async (tag: string) => {
  await execa("podman", ["tag", localImage("kratos", localBuilds.kratos!.tag), localImage("kratos", tag)]);
  await stack.setConfig("stagedRollout.kratos", { value: tag }, true);
};

beforeAll(async () => {
  const running = await stackContainers();
  if (Object.keys(running).length > 0)
    throw new Error("a dev stack already runs on this machine (its containers exist): npm run dev:down first");
  ({ dir, env } = await projectCopy());
}, 60_000);

afterAll(async () => {
  await client?.close();
  if (!dir) return;
  const down = await execa("npx", ["tsx", "scripts/devhost/dev.ts", "down"], { cwd: dir, env, reject: false });
  // A copy whose stack could not be taken down keeps its state, so npm run dev:down can finish there.
  if (down.exitCode === 0) rmSync(dir, { recursive: true, force: true });
  else console.error(`dev stack left in ${dir}: run npm run dev:down there`);
});

describe("the dev tier on this machine", () => {
  it("comes up from nothing with npm run dev: every service healthy, Postgres over verified TLS, nothing beyond loopback", async () => {
    const dev = await execa("npx", ["tsx", "scripts/devhost/dev.ts", "up"], {
      cwd: dir,
      env,
      all: true,
      reject: false,
    });
    output = dev.all ?? "";
    expect(dev.exitCode, output.slice(-3000)).toBe(0);
    expect(dev.all).toContain(
      `CIAM login (Kratos's API through Caddy): https://${names.ciamLogin}/self-service/login/api`,
    );
    expect(dev.all).toMatch(/Left out \(no image can be built here\): +hera, athena, site, pgadmin/);

    const pulumiCommand = await PulumiCommand.get({ root: pulumiDir, skipVersionCheck: false });
    stack = await LocalWorkspace.selectStack({ stackName: "dev", workDir: dir }, { envVars: env, pulumiCommand });
    const values = await outputs();
    client = edgeClient(values.edgeCa as string);
    password = (await stack.getConfig("syntheticPassword")).value;
    // The hint npm run dev prints works exactly as printed, in a plain shell of the project.
    const hint = /password: (npm run pulumi -- config get syntheticPassword --stack dev)/.exec(output)?.[1];
    expect(hint).toBeDefined();
    const { PATH, HOME } = process.env;
    const printed = await execa("sh", ["-c", `${hint} 2>/dev/null`], {
      cwd: dir,
      env: { PATH, HOME },
      extendEnv: false,
    });
    expect(printed.stdout.trim().split("\n").pop()).toBe(password);

    const containers = await stackContainers();
    expect(Object.keys(containers).sort()).toEqual([
      "alertmanager",
      "backup",
      "blackbox-exporter",
      "caddy",
      "ciam-hydra",
      "ciam-kratos",
      "iam-hydra",
      "iam-kratos",
      "login-simulator",
      "mailpit",
      "node-exporter",
      "postgres",
      "postgres-exporter",
      "prometheus",
    ]);
    for (const [service, container] of Object.entries(containers)) {
      expect(container.state, service).toBe("running");
      // Those without a health check: Caddy (the sites' own checks), the simulator and the backup scheduler.
      if (!["caddy", "login-simulator", "backup"].includes(service)) expect(container.health, service).toBe("healthy");
      for (const port of container.ports) expect(port.hostIp, `${service} ${port.hostPort}`).toBe("127.0.0.1");
    }
    // Each DSN says sslmode=verify-full: the server's connections show TLS for all four Ory databases and the exporter.
    const { stdout } = await execa("podman", [
      "exec",
      "olympus_postgres_1",
      "psql",
      "-U",
      "olympus",
      "-d",
      "postgres",
      "-Atc",
      "select distinct a.datname || ' ' || s.ssl || ' ' || s.version from pg_stat_ssl s join pg_stat_activity a using (pid) where a.client_addr is not null order by 1",
    ]);
    expect(stdout.split("\n")).toEqual([
      "ciam_hydra true TLSv1.3",
      "ciam_kratos true TLSv1.3",
      "iam_hydra true TLSv1.3",
      "iam_kratos true TLSv1.3",
      // postgres_exporter, as the pg_monitor role, over verified TLS like every client.
      "postgres true TLSv1.3",
    ]);
    // From any other address of this machine, every published port is closed.
    const external = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && address.family === "IPv4" && !address.internal)?.address;
    expect(external).toBeDefined();
    const published = [
      ...new Set(
        Object.values(containers).flatMap((container) => container.ports.map((port) => Number(port.hostPort))),
      ),
    ];
    expect(published).toEqual(
      expect.arrayContaining([80, 443, 5432, loopbackPort("mailpit", "ui"), loopbackPort("alertmanager", "http")]),
    );
    // IPv6 too: the loopback (::1) and any other address the machine has; every port is bound to 127.0.0.1.
    const ipv6 = Object.values(networkInterfaces())
      .flat()
      .filter((address) => address?.family === "IPv6" && !address.internal && !address.address.startsWith("fe80"))
      .map((address) => address!.address);
    for (const host of [external!, "::1", ...ipv6])
      for (const port of published) {
        const open = await new Promise<boolean>((resolve) => {
          const settle = (open: boolean) => {
            socket.destroy();
            resolve(open);
          };
          const socket = connect({ host, port, timeout: 2000 }, () => settle(true));
          socket.on("error", () => resolve(false)).on("timeout", () => settle(false));
        });
        expect(open, `${host}:${port}`).toBe(false);
      }
  });

  it("serves every site over HTTPS with the security headers; a seeded user logs in; recovery mail reaches Mailpit; both Hydras publish discovery", async () => {
    for (const [site, host] of Object.entries(names)) {
      const response = await client.get(`https://${host}/`);
      for (const [header, value] of Object.entries(securityHeaders))
        expect(response.headers.get(header), `${site} ${header}`).toBe(value);
      const body = await response.text();
      // The sites whose app cannot be built here say so instead of pretending.
      if (["site", "ciamAdmin", "iamAdmin", "iamLogin"].includes(site))
        expect([response.status, body], site).toEqual([503, expect.stringMatching(/is not part of this environment/)]);
    }
    const login = await loginThroughEdge(client, names.ciamLogin, seeded(7), password);
    expect(login.status).toBe(200);
    expect(
      ((await login.json()) as { session: { identity: { traits: { email: string } } } }).session.identity.traits.email,
    ).toBe(seeded(7));

    const since = Date.now();
    const flow = (await (await client.get(`https://${names.ciamLogin}/self-service/recovery/api`)).json()) as {
      id: string;
    };
    expect(
      (
        await client.postJson(`https://${names.ciamLogin}/self-service/recovery?flow=${flow.id}`, {
          method: "code",
          email: seeded(8),
        })
      ).status,
    ).toBe(200);
    let arrived = false;
    for (let attempt = 0; attempt < 30 && !arrived; attempt++) {
      const search = (await (
        await fetch(
          `http://127.0.0.1:${loopbackPort("mailpit", "ui")}/api/v1/search?query=${encodeURIComponent(`to:"${seeded(8)}"`)}`,
        )
      ).json()) as { messages?: { Created: string; Subject: string }[] };
      arrived = (search.messages ?? []).some((message) => Date.parse(message.Created) >= since - 1000);
      if (!arrived) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(arrived).toBe(true);

    for (const issuer of [names.ciamOauth, names.iamOauth]) {
      const discovery = await client.get(`https://${issuer}/.well-known/openid-configuration`);
      expect(((await discovery.json()) as { issuer: string }).issuer).toBe(`https://${issuer}`);
    }
  });

  it("registers the OAuth2 clients in both Hydras with the dev tier's redirect URIs, and Hydra refuses a public client without PKCE", async () => {
    const clients = async (hydra: string) =>
      (await (await fetch(`${adminHostUrl(hydra)}/admin/clients`)).json()) as {
        client_id: string;
        redirect_uris: string[];
      }[];
    const iam = await clients("iam-hydra");
    const ciam = await clients("ciam-hydra");
    expect(iam.map((client) => client.client_id).sort()).toEqual([
      "athena-ciam-client",
      "athena-iam-client",
      "pgadmin",
      "site-iam-client",
    ]);
    expect(ciam.map((client) => client.client_id)).toEqual(["site-ciam-client"]);
    expect(iam.find((client) => client.client_id === "athena-iam-client")?.redirect_uris).toEqual([
      `https://${names.iamAdmin}/api/auth/callback`,
    ]);
    // The stack's state records what it registered in each Hydra.
    const registered = ((await stack.exportStack()) as StateExport).deployment!.resources!.filter((resource) =>
      resource.type.endsWith("olympus:oauth:HydraClients"),
    );
    expect(
      Object.fromEntries(registered.map((resource) => [resource.urn.split("-").pop(), resource.outputs?.registered])),
    ).toEqual({
      ciam: ["site-ciam-client"],
      iam: ["athena-ciam-client", "athena-iam-client", "pgadmin", "site-iam-client"],
    });

    // Through Caddy, as a browser would, with the login and consent accepted as Hera would accept them.
    const http = (url: string, cookies: string) => client.get(url, cookies);
    const query = {
      response_type: "code",
      client_id: "athena-iam-client",
      scope: "openid",
      state: "dev-state-1234",
      redirect_uri: `https://${names.iamAdmin}/api/auth/callback`,
    };
    const refused = new URL(
      await authorizationFlow(http, `https://${names.iamOauth}`, adminHostUrl("iam-hydra"), query),
    );
    expect([refused.hostname, refused.searchParams.get("error")]).toEqual([names.iamAdmin, "invalid_request"]);
  });

  it("signs a newly registered customer in only after the address is verified", async () => {
    const email = `new.customer.${Date.now()}@dev.olympus.test`;
    const flow = (await (await client.get(`https://${names.ciamLogin}/self-service/registration/api`)).json()) as {
      id: string;
    };
    const registration = await client.postJson(`https://${names.ciamLogin}/self-service/registration?flow=${flow.id}`, {
      method: "password",
      password: "a-Long-and-unusual-passphrase-7391",
      traits: { email, username: `new-customer-${Date.now()}`, first_name: "New", last_name: "Customer" },
    });
    const registered = (await registration.json()) as {
      identity?: { id: string };
      session?: unknown;
      session_token?: string;
    };
    expect(registration.status, JSON.stringify(registered).slice(0, 500)).toBe(200);
    expect(registered.identity?.id).toBeTruthy();
    expect(registered.session).toBeUndefined();
    expect(registered.session_token).toBeUndefined();
    const login = await loginThroughEdge(client, names.ciamLogin, email, "a-Long-and-unusual-passphrase-7391");
    const refusal = await login.text();
    expect([400, 403], refusal.slice(0, 300)).toContain(login.status);
    expect(refusal).toMatch(/not (been )?verified/i);
  });

  it("keeps every secret out of the engine's output, the state's plain text and the host's deploy log", async () => {
    const exported = async (...flags: string[]) =>
      (await execa("pulumi", ["stack", "export", "--stack", "dev", ...flags], { cwd: dir, env })).stdout;
    // Every value the stack generates with @pulumi/random, as the state holds it decrypted, and the config secret.
    const state = JSON.parse(await exported("--show-secrets")) as {
      deployment: { resources: { type: string; urn: string; outputs?: Record<string, unknown> }[] };
    };
    const results = state.deployment.resources
      .filter((resource) => resource.type.startsWith("random:"))
      .map((resource) => revealed(resource.outputs?.result))
      .filter((value): value is string => typeof value === "string");
    // Key bytes are derived from some of them (StackSecrets): the derivations are secrets too.
    const derived = results.flatMap((value) => {
      const digest = createHash("sha256").update(value).digest();
      return [digest.toString("hex"), digest.toString("base64")];
    });
    const generated = [...results, ...derived];
    const secrets = [password, ...generated];
    expect(generated.length).toBeGreaterThan(20);
    // The secret files the host received hold both kinds (the check below would prove nothing otherwise).
    const deployedEnv = Object.entries(filesFromState(state))
      .filter(([path]) => path.startsWith("secrets/"))
      .map(([, file]) => file.content)
      .join("\n");
    expect(results.filter((value) => deployedEnv.includes(value)).length).toBeGreaterThanOrEqual(3);
    expect(derived.filter((value) => deployedEnv.includes(value)).length).toBeGreaterThan(5);
    const plainState = await exported();
    const hostLogs = (await execa("sh", ["-c", "cat /srv/olympus/logs/*.log"])).stdout;
    expect(hostLogs).toContain("podman-compose");
    for (const value of secrets) {
      expect(plainState.includes(value), "state").toBe(false);
      expect(output.includes(value), "engine output").toBe(false);
      expect(hostLogs.includes(value), "deploy log").toBe(false);
    }
  });

  it("converges: a second up changes nothing and a preview shows no change", async () => {
    const again = await stack.up({ onOutput });
    // "read" is the stack reading its own last outputs (its sleep state), not a change.
    expect(
      Object.entries(again.summary.resourceChanges ?? {}).filter(
        ([kind, count]) => !["same", "read"].includes(kind) && count > 0,
      ),
    ).toEqual([]);
    await stack.preview({ expectNoChanges: true, onOutput });
  });

  it("releases without a single failed request while logins run, and soaks the new release once; PostgreSQL's renewed certificate is served without a restart", async () => {
    const before = (await lastSoak()) as { finishedAt: string };
    const postgresStarted = async () =>
      (await execa("podman", ["inspect", "--format", "{{.State.StartedAt}}", "olympus_postgres_1"])).stdout;
    const startedBefore = await postgresStarted();
    const kratosAliasBefore = (await stackContainers())["ciam-kratos"]!.releaseAlias;
    await stagedKratos("v26.2.0-release-1");
    // Next year's server certificate, as the first deploy of 2027 will issue it.
    (stack.workspace as LocalWorkspace).envVars.OLYMPUS_CERTIFICATE_YEAR = String(new Date().getUTCFullYear() + 1);
    let index = 0;
    // 40 logins a minute, under the dev stack's limit of 60, plus ten flow requests a second.
    const traffic = steadyTraffic(client, names.ciamLogin, () => seeded(index++ % 100), password, 40);
    diagnostics = [];
    const release = await stack.up({ onOutput, onEvent });
    const counts = await traffic.stop();
    expect(release.summary.result).toBe("succeeded");
    expect(counts.failures).toEqual([]);
    expect(counts.logins).toBeGreaterThan(20);
    expect((await stackContainers())["ciam-kratos"]?.image).toBe(localImage("kratos", "v26.2.0-release-1"));
    expect(soaksRun()).toBe(1);
    // Caddy moved to the new Kratos's name (the Ory phase's route) before Kratos was replaced, and dials
    // nothing else for it.
    const deployLog = diagnostics.join("\n");
    expect(deployLog).toContain("the edge routes phase ory");
    expect(deployLog.indexOf("the edge routes phase ory")).toBeLessThan(deployLog.indexOf("ciam-kratos is healthy"));
    const kratosAlias = (await stackContainers())["ciam-kratos"]!.releaseAlias;
    // Its definition's digest, then its secrets' (from the .env).
    expect(kratosAlias).toMatch(/^ciam-kratos-[0-9a-f]{12}-[0-9a-f]{12}$/);
    expect(kratosAlias).not.toBe(kratosAliasBefore);
    const caddyConfig = (
      await execa("podman", ["exec", "olympus_caddy_1", "wget", "-qO-", "http://localhost:2019/config/"])
    ).stdout;
    expect(caddyConfig).toContain(`"${kratosAlias}:`);
    expect(caddyConfig).not.toContain(kratosAliasBefore);
    expect(((await lastSoak()) as { finishedAt: string }).finishedAt).not.toBe(before.finishedAt);
    expect(await postgresStarted()).toBe(startedBefore);
    const served = await execa("sh", [
      "-c",
      "openssl s_client -starttls postgres -connect 127.0.0.1:5432 </dev/null 2>/dev/null | openssl x509 -noout -startdate",
    ]);
    // Next year's certificate (valid from the start of this year): not the one PostgreSQL started with.
    expect(served.stdout).toBe(`notBefore=Jan  1 00:00:00 ${new Date().getUTCFullYear()} GMT`);
  });

  it("fails the update when the soak misses its SLO, naming the check, records no pass, and converges once the fault is gone", async () => {
    const passed = await lastSoak();
    await stagedKratos("v26.2.0-release-2");
    output = "";
    let stopped = false;
    const failing = stack.up({
      onOutput: (text) => {
        onOutput(text);
        // The fault: CIAM Kratos stops a few seconds into the soak window.
        if (!stopped && /soak gate for dev: \d+s at/.test(output)) {
          stopped = true;
          setTimeout(() => void execa("podman", ["stop", "olympus_ciam-kratos_1"]), 5000);
        }
      },
    });
    await expect(failing).rejects.toThrow();
    expect(output).toMatch(/soak SLO missed for dev: success rate [\d.]+ < 0\.99/);
    expect(await lastSoak()).toEqual(passed);

    await execa("podman", ["start", "olympus_ciam-kratos_1"]);
    diagnostics = [];
    const retry = await stack.up({ onOutput, onEvent });
    expect(retry.summary.result).toBe("succeeded");
    expect(soaksRun()).toBe(1);
    expect(await lastSoak()).not.toEqual(passed);
    await stack.preview({ expectNoChanges: true, onOutput });
  });

  it("answers a burst of logins with 429 and Retry-After, after a steady rate passed", async () => {
    const attempts = await Promise.all(
      Array.from({ length: 90 }, (_, index) =>
        loginThroughEdge(client, names.ciamLogin, seeded(index % 100), password),
      ),
    );
    const limited = attempts.filter((response) => response.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(20);
    expect(limited[0]!.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(attempts.filter((response) => response.status === 200).length).toBeGreaterThan(0);
  });

  it("sleeps and wakes through the backend: services stop with their data kept, a plain up stays asleep, the wake brings the same platform back", async () => {
    const workspace = stack.workspace as LocalWorkspace;
    const volumes = async () =>
      (await execa("podman", ["volume", "ls", "-q", "--filter", "label=com.docker.compose.project=olympus"])).stdout
        .split("\n")
        .filter(Boolean)
        .sort();
    const kept = await volumes();
    const beforeSleep = Math.floor(Date.now() / 1000);
    // A user that exists only in the database (the seeding would make the synthetic ones again on a wake).
    const before = { email: `before.sleep.${Date.now()}@dev.olympus.test`, password: "a-Long-night-passphrase-2026" };
    await createIdentity(adminHostUrl("ciam-kratos"), {
      schema_id: "default",
      state: "active",
      traits: { email: before.email, username: "before-sleep", first_name: "Before", last_name: "Sleep" },
      verifiable_addresses: [{ value: before.email, via: "email", verified: true, status: "completed" }],
      credentials: { password: { config: { password: before.password } } },
    });
    workspace.envVars.OLYMPUS_POWER = "sleep";
    const asleep = await stack.up({ onOutput });
    delete workspace.envVars.OLYMPUS_POWER;
    expect(asleep.outputs.awake?.value).toBe(false);
    expect(await stackContainers()).toEqual({});
    expect(await volumes()).toEqual(kept);
    // A deploy from any checkout: nothing in the config says asleep, the backend does.
    expect((await stack.up({ onOutput })).outputs.awake?.value).toBe(false);
    await stack.preview({ expectNoChanges: true, onOutput });

    workspace.envVars.OLYMPUS_POWER = "wake";
    diagnostics = [];
    const woken = await stack.up({ onOutput, onEvent });
    delete workspace.envVars.OLYMPUS_POWER;
    expect(woken.outputs.awake?.value).toBe(true);
    const containers = await stackContainers();
    for (const service of ["postgres", "ciam-kratos", "ciam-hydra", "iam-kratos", "iam-hydra", "mailpit"])
      expect(containers[service]?.health, service).toBe("healthy");
    // Same data (the user registered before the night logs in), same release: no new soak.
    expect((await loginThroughEdge(client, names.ciamLogin, before.email, before.password)).status).toBe(200);
    expect((await loginThroughEdge(client, names.ciamLogin, seeded(3), password)).status).toBe(200);
    expect(soaksRun()).toBe(0);
    // The monitoring came back like any service, every target up, with the series from before the night.
    const prometheus = hostUrl("prometheus", "http");
    await waitUntil(
      "every scrape target up after the wake",
      async () =>
        (await monitoringStatus(prometheus)).targets.every((target) => target.health === "up") ? true : undefined,
      180_000,
    );
    const history = await fetch(
      `${prometheus}/api/v1/query?query=${encodeURIComponent('up{job="prometheus"}')}&time=${beforeSleep}`,
    );
    expect(((await history.json()) as { data: { result: unknown[] } }).data.result).toHaveLength(1);
  });

  it("destroys with npm run dev:down, leaving no container, volume, network, file or process of the stack", async () => {
    const down = await execa("npx", ["tsx", "scripts/devhost/dev.ts", "down"], {
      cwd: dir,
      env,
      all: true,
      reject: false,
    });
    expect(down.exitCode, down.all?.slice(-2000)).toBe(0);
    // conmon and aardvark-dns exit a moment after their containers and network are gone.
    let leftovers = await stackLeftovers();
    for (let attempt = 0; attempt < 15 && leftovers.length > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      leftovers = await stackLeftovers();
    }
    expect(leftovers).toEqual([]);
  });
});
