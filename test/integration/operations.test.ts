import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import execa from "execa";
import { describe, expect, it } from "vitest";
import { monitoringStatus } from "../../clients/prometheus";
import { runOverSsh } from "../../clients/tunnel";
import { alertRules } from "../../lib/monitoring";
import { oauthClients } from "../../lib/oauthClients";
import {
  adminAddress,
  adminHostUrl,
  adminNetwork,
  adminUrl,
  hostUrl,
  internalUrl,
  oauthClientSpecs,
  port,
} from "../../lib/services";
import { composeProjectDir } from "../../lib/topology";
import { localBuilds, localImage } from "../../lib/versions";
import { backupRepositoryPid } from "../../scripts/devhost/backupRepository";
import { loginThroughEdge, stackContainers, steadyTraffic } from "../../scripts/devhost/devCycle";
import { deployScriptCommand, hostAccess } from "../../scripts/operations/hostAccess";
import { type DevStack, failingUp, pause, seededEmail, useDevStack, waitUntil } from "../helpers/devStack";
import { authorizationFlow } from "../helpers/oauthFlow";

/**
 * Operations on one dev stack (one stack for both, to keep CI short). The monitoring: every target up and
 * every rule loaded after `up`; alerts that reach Mailpit when Kratos stops, the backup repository stops
 * answering or logins fail in bulk, and their resolution; a release that keeps it; nothing of it beyond
 * the loopback (dev.test.ts sleeps and wakes it). Then faults an operator meets in the first months: a
 * reboot, a lost host whose volume came back, per-service database roles, a rotated PostgreSQL CA, a
 * rotated Hydra system secret.
 */
let dev: DevStack;
const prometheus = hostUrl("prometheus", "http");
const mailpit = hostUrl("mailpit", "ui");
const status = () => monitoringStatus(prometheus);

interface Mail {
  Subject: string;
  To: { Address: string }[];
  Created: string;
}

/** Mailpit's messages, newest first. */
async function mails(): Promise<Mail[]> {
  const answer = await fetch(`${mailpit}/api/v1/messages?limit=500`);
  return ((await answer.json()) as { messages: Mail[] }).messages;
}

/** The first alert mail whose subject starts so, received after `since` (epoch ms), to `recipient` if given. */
const alertMail = (subject: string, since: number, timeoutMs: number, recipient?: string) =>
  waitUntil(
    `a mail "${subject}"${recipient ? ` to ${recipient}` : ""}`,
    async () =>
      (await mails()).find(
        (mail) =>
          mail.Subject.startsWith(subject) &&
          Date.parse(mail.Created) > since &&
          (!recipient || mail.To.some((to) => to.Address === recipient)),
      ),
    timeoutMs,
  );

const firing = async (alert: string) => (await status()).alerts.filter((a) => a.name === alert && a.state === "firing");
const psql = (sql: string) =>
  execa("podman", ["exec", "olympus_postgres_1", "psql", "-U", "olympus", "-d", "postgres", "-Atc", sql]);

const hydraPublic = (domain: "ciam" | "iam") => hostUrl(`${domain}-hydra`, "public");
/** Whether a seeded user logs in through Caddy (a refused connection counts as no). */
const loginWorks = async () =>
  (await loginThroughEdge(dev.client, dev.names.ciamLogin, seededEmail(5), dev.password).catch(() => undefined))
    ?.status === 200;
const servesAgain = (what: string) => waitUntil(what, async () => ((await loginWorks()) ? true : undefined), 120_000);
const projectContainers = async () =>
  (await execa("podman", ["ps", "--all", "--quiet", "--filter", "label=com.docker.compose.project=olympus"])).stdout
    .split("\n")
    .filter(Boolean);

/** The URNs of the resources whose names end so (the deploy steps, a generated secret). */
async function urns(...suffixes: string[]): Promise<string[]> {
  const state = (await dev.stack.exportStack()).deployment as { resources: { urn: string }[] };
  return suffixes.map((suffix) => {
    const found = state.resources.find((resource) => resource.urn.endsWith(suffix));
    if (!found) throw new Error(`no resource ending ${suffix} in the dev stack`);
    return found.urn;
  });
}

useDevStack((started) => {
  dev = started;
});

describe("monitoring on the dev stack", () => {
  it("scrapes every target and loads every rule after up; npm run status prints both", async () => {
    const ready = await waitUntil(
      "every scrape target up",
      async () => {
        const now = await status();
        return now.targets.length > 0 && now.targets.every((target) => target.health === "up") ? now : undefined;
      },
      180_000,
    );
    expect(ready.rules.sort()).toEqual(
      alertRules("dev")
        .map((rule) => rule.alert)
        .sort(),
    );
    const jobs = ready.targets.map((target) => target.job);
    expect(jobs).toEqual(
      expect.arrayContaining(["ciam-kratos", "iam-hydra", "caddy", "postgres", "node", "blackbox", "prometheus"]),
    );
    expect(jobs.filter((job) => job.startsWith("site-")).length).toBeGreaterThan(0);
    // The exporters' own metrics that the rules read are there: WAL archiving, the backups, the volume.
    for (const metric of [
      "pg_stat_archiver_failed_count",
      "olympus_backup_last_full_seconds",
      "olympus_certificate_not_after_seconds",
      "node_filesystem_avail_bytes",
      "probe_ssl_earliest_cert_expiry",
      'http_requests_total{endpoint="/self-service/login"}',
    ]) {
      const answer = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(metric)}`);
      expect(((await answer.json()) as { data: { result: unknown[] } }).data.result.length, metric).toBeGreaterThan(0);
    }
    const printed = await dev.npm("status", ["dev"]);
    expect(printed.exitCode, printed.all).toBe(0);
    expect(printed.all).toContain(
      `${ready.targets.length} targets, 0 not up; ${ready.rules.length} alert rules loaded`,
    );
  });

  it("mails the service-down alert within 2 minutes of Kratos stopping, naming the environment and the service, then its resolution", async () => {
    const stoppedAt = Date.now();
    await execa("podman", ["stop", "olympus_ciam-kratos_1"]);
    try {
      const alert = await alertMail("[dev] FIRING ServiceDown ciam-kratos", stoppedAt, 120_000);
      console.log(
        `[monitoring] ServiceDown mail ${((Date.parse(alert.Created) - stoppedAt) / 1000).toFixed(1)} s after the stop`,
      );
      expect(alert.To.map((to) => to.Address)).toEqual(["operators@olympus.localhost"]);
    } finally {
      await execa("podman", ["start", "olympus_ciam-kratos_1"]);
    }
    const startedAt = Date.now();
    await alertMail("[dev] RESOLVED ServiceDown ciam-kratos", startedAt, 180_000);
  });

  it("fires the archiving alert while the backup repository does not answer, and resolves it once it does", async () => {
    const pid = backupRepositoryPid(dev.dir);
    const stoppedAt = Date.now();
    process.kill(pid, "SIGSTOP");
    try {
      // Writes make WAL to archive; each switch hands PostgreSQL's archiver a segment it cannot push.
      const writes = (async () => {
        for (let round = 0; round < 20 && (await firing("WalArchivingFailing")).length === 0; round++) {
          await psql(
            "create table if not exists monitoring_probe (at timestamptz); insert into monitoring_probe values (now()); select pg_switch_wal();",
          );
          await pause(15_000);
        }
      })();
      const alert = await alertMail("[dev] FIRING WalArchivingFailing", stoppedAt, 480_000);
      await writes;
      console.log(
        `[monitoring] WalArchivingFailing mail ${((Date.parse(alert.Created) - stoppedAt) / 1000).toFixed(1)} s after the repository stopped`,
      );
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const answeringAt = Date.now();
    await alertMail("[dev] RESOLVED WalArchivingFailing", answeringAt, 300_000);
    await psql("drop table monitoring_probe");
  });

  it("fires the failed-login alert on a burst of wrong passwords through Caddy", async () => {
    const startedAt = Date.now();
    for (let attempt = 0; attempt < 45; attempt++) {
      const answer = await loginThroughEdge(
        dev.client,
        dev.names.ciamLogin,
        seededEmail(attempt % 10),
        "not-the-password",
      );
      expect(answer.status).toBe(400);
    }
    await alertMail("[dev] FIRING FailedLoginSurge ciam-kratos", startedAt, 180_000);
  });

  it("survives a release (a new recipient is mailed without a restart); it never leaves the loopback", async () => {
    // A release that changes who is mailed: Alertmanager reloads its configuration in place.
    await dev.stack.setConfig("alerts.recipients[1]", { value: "second-operator@olympus.localhost" }, true);
    expect((await dev.stack.up({ onEvent: dev.onEvent })).summary.result).toBe("succeeded");
    expect((await stackContainers()).alertmanager?.state).toBe("running");
    const releasedAt = Date.now();
    await execa("podman", ["stop", "olympus_iam-hydra_1"]);
    try {
      // Each recipient gets its own mail.
      for (const recipient of ["operators@olympus.localhost", "second-operator@olympus.localhost"])
        await alertMail("[dev] FIRING ServiceDown iam-hydra", releasedAt, 180_000, recipient);
    } finally {
      await execa("podman", ["start", "olympus_iam-hydra_1"]);
    }

    // Published on the loopback only: Prometheus and Alertmanager; no exporter has a host port at all.
    const containers = await stackContainers();
    for (const service of ["prometheus", "alertmanager", "node-exporter", "postgres-exporter", "blackbox-exporter"]) {
      expect(containers[service]?.state, service).toBe("running");
      expect(
        containers[service]!.ports.every((binding) => binding.hostIp === "127.0.0.1"),
        service,
      ).toBe(true);
    }
    expect(containers["node-exporter"]!.ports).toEqual([]);
  });
});

describe("faults on the dev stack", () => {
  it("comes back after a reboot by what the host runs at boot, with no pulumi up", async () => {
    // A reboot: every container stops (conmon and podman's processes die with the machine).
    await execa("podman", ["stop", "--time", "60", ...(await projectContainers())]);
    expect(await loginWorks()).toBe(false);
    let output = "";
    const code = await runOverSsh(await hostAccess("dev", dev.dir, dev.env), deployScriptCommand("boot"), (text) => {
      output += text;
    });
    expect(code, output).toBe(0);
    expect(output).toContain("the host started: bringing the platform back");
    // No release: neither migrations nor a restore point ran.
    expect(output).not.toMatch(/running .*-migrate|restore point/);
    await servesAgain("a login through Caddy after the boot");
    const containers = await stackContainers();
    for (const service of ["postgres", "ciam-kratos", "ciam-hydra", "caddy", "prometheus", "backup"])
      expect(containers[service]?.state, service).toBe("running");
  });

  it("stays down at boot when it was taken down on purpose", async () => {
    let output = "";
    const collect = (text: string) => {
      output += text;
    };
    const host = await hostAccess("dev", dev.dir, dev.env);
    expect(await runOverSsh(host, deployScriptCommand("down"), collect)).toBe(0);
    expect(await runOverSsh(host, deployScriptCommand("boot"), collect)).toBe(0);
    expect(output).toContain("the project was taken down on purpose: it stays down");
    expect(await projectContainers()).toEqual([]);
    // A deploy brings it back (and takes the mark away).
    expect(await runOverSsh(host, deployScriptCommand("up"), collect)).toBe(0);
    await servesAgain("a login after up");
  });

  it("converges on a host that lost its containers and its compose installation, with no state edit", async () => {
    // What a new server behind the same volume looks like: the project's files are there, nothing else.
    await execa("podman", ["rm", "--force", "--time", "60", ...(await projectContainers())]);
    await execa("rm", ["-rf", "/opt/olympus/podman-compose"]);
    const replace = await urns("-prepare", "-install-config", "-install-secrets", "-up");
    const up = await dev.stack.up({ replace, onEvent: dev.onEvent });
    expect(up.summary.result).toBe("succeeded");
    await servesAgain("a login after the host came back");
  });

  it("keeps database connections verified across a new PostgreSQL CA (clients read the CA's directory)", async () => {
    const caBefore = (await execa("cat", ["/srv/olympus/deploy/postgres-ca/ca.crt"])).stdout;
    const up = await dev.stack.up({ replace: await urns("-postgres-ca-seed"), onEvent: dev.onEvent });
    expect(up.summary.result).toBe("succeeded");
    expect((await execa("cat", ["/srv/olympus/deploy/postgres-ca/ca.crt"])).stdout).not.toBe(caBefore);
    // Every client connects anew: each must verify the server against the new CA it now sees.
    await psql(
      "select pg_terminate_backend(pid) from pg_stat_activity where client_addr is not null and pid <> pg_backend_pid()",
    );
    await servesAgain("a login after every database connection was made anew");
    for (const domain of ["ciam", "iam"] as const)
      expect((await fetch(`${hydraPublic(domain)}/.well-known/openid-configuration`)).status).toBe(200);
    const { stdout } = await psql(
      "select distinct a.datname || ' ' || s.ssl from pg_stat_ssl s join pg_stat_activity a using (pid) where a.client_addr is not null and a.datname like '%kratos' order by 1",
    );
    expect(stdout.split("\n")).toEqual(["ciam_kratos true", "iam_kratos true"]);
  });

  it("connects each service as its own role, no superuser, which can open no other service's database", async () => {
    const { stdout } = await psql(
      "select distinct a.datname || ' ' || a.usename || ' ' || r.rolsuper from pg_stat_activity a join pg_roles r on r.rolname = a.usename where a.client_addr is not null and a.datname <> 'postgres' order by 1",
    );
    expect(stdout.split("\n")).toEqual(
      expect.arrayContaining(["ciam_kratos ciam_kratos false", "iam_hydra iam_hydra false"]),
    );
    expect(stdout).not.toContain(" true");
    // Kratos's own credentials (read from its container, kept in this process): its database opens, another does not.
    const dsn = (await execa("podman", ["exec", "olympus_ciam-kratos_1", "printenv", "DSN"])).stdout.trim();
    const open = (url: string) =>
      execa(
        "podman",
        ["exec", "-i", "olympus_postgres_1", "sh", "-c", 'read -r url; psql "$url" -Atc "select current_user"'],
        {
          input: `${url}\n`,
          reject: false,
          all: true,
        },
      );
    const own = await open(dsn);
    expect(own.exitCode, own.all).toBe(0);
    expect(own.stdout).toBe("ciam_kratos");
    const other = await open(dsn.replace("/ciam_kratos?", "/iam_kratos?"));
    expect(other.exitCode).not.toBe(0);
    expect(other.all).toContain('permission denied for database "iam_kratos"');
  });

  it("serves the Ory admin APIs on their own network only: a container outside it reaches none, by name or address", async () => {
    const outside = (url: string) =>
      execa(
        "podman",
        ["exec", "olympus_login-simulator_1", "curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", url],
        {
          reject: false,
        },
      );
    const adminPath = "/admin/health/ready";
    const byAddress = `http://${adminAddress("ciam-kratos")}:${port("ciam-kratos", "admin")}${adminPath}`;
    // The login simulator (intranet only) reaches Kratos's public API, and its admin API neither by name nor by address.
    expect((await outside(`${internalUrl("ciam-kratos", "public")}/health/ready`)).stdout).toBe("200");
    expect((await outside(`${internalUrl("ciam-kratos", "admin")}${adminPath}`)).stdout).toBe("000");
    expect((await outside(byAddress)).stdout).toBe("000");
    // A member of the admin network (Prometheus) reaches it by its admin name, and the host (where the SSH
    // tunnels end) by its address: the host's own traffic is not forwarded, so the guard lets it through.
    const member = await execa(
      "podman",
      ["exec", "olympus_prometheus_1", "wget", "-q", "-O", "/dev/null", `${adminUrl("ciam-kratos")}${adminPath}`],
      { reject: false, all: true },
    );
    expect(member.exitCode, member.all).toBe(0);
    expect((await fetch(`${adminHostUrl("ciam-kratos")}${adminPath}`)).status).toBe(200);
    // The host's guard is what refuses the address: without it the intranet would reach it through the host.
    const guard = await execa("nft", ["list", "table", "inet", "olympus_admin_network"]);
    expect(guard.stdout).toContain(`ip daddr ${adminNetwork.subnet}`);
    await execa("nft", ["delete", "table", "inet", "olympus_admin_network"]);
    try {
      expect((await outside(byAddress)).stdout).toBe("200");
    } finally {
      await execa("nft", ["-f", join(composeProjectDir, "admin-network.nft")]);
    }
    expect((await outside(byAddress)).stdout).toBe("000");
  });

  it("rotates secrets under steady logins with none failed, Hydra first, and no command line ever holds a secret", async () => {
    const client = oauthClientSpecs().find(({ client }) => client.clientId === "site-ciam-client")!.client;
    const secretFile = (variable: string) => join(composeProjectDir, "secrets", variable);
    const oldSecret = readFileSync(secretFile(client.secretVariable), "utf8");
    const aliasBefore = (await stackContainers())["ciam-kratos"]!.releaseAlias;
    // Every process's command line, sampled while the release runs (podman create included).
    const commandLines = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const line of (await execa("ps", ["-eo", "args", "--no-headers"])).stdout.split("\n"))
          commandLines.add(line);
        await pause(25);
      }
    })();
    let index = 0;
    const traffic = steadyTraffic(dev.client, dev.names.ciamLogin, () => seededEmail(index++ % 50), dev.password, 40);
    dev.diagnostics.length = 0;
    // Kratos's cookie secret (Kratos is recreated) and a confidential client's secret.
    const replace = await urns("-ciam-kratos-cookie", `-${client.clientId}-secret`);
    const up = await dev.stack.up({ replace, onEvent: dev.onEvent });
    const counts = await traffic.stop();
    sampling = false;
    await sampler;
    expect(up.summary.result).toBe("succeeded");
    expect(counts.failures).toEqual([]);
    expect(counts.logins).toBeGreaterThan(5);
    // Kratos came back under a new name, which Caddy dialled before the old container stopped.
    const aliasAfter = (await stackContainers())["ciam-kratos"]!.releaseAlias;
    expect(aliasAfter).not.toBe(aliasBefore);
    expect(aliasAfter.split("-").slice(0, -1).join("-")).toBe(aliasBefore.split("-").slice(0, -1).join("-"));
    // Hydra had the client's new secret before the apps phase, and the token exchange works with it.
    const deployLog = dev.diagnostics.join("\n");
    const hydraKnew = deployLog.indexOf(`hydra has oauth2 client ${client.clientId}'s current secret`);
    expect(hydraKnew).toBeGreaterThan(-1);
    expect(hydraKnew).toBeLessThan(deployLog.indexOf("the edge routes phase apps"));
    const newSecret = readFileSync(secretFile(client.secretVariable), "utf8");
    expect(newSecret).not.toBe(oldSecret);
    const registration = oauthClients(dev.names).find((registered) => registered.client_id === client.clientId)!;
    const exchange = async (secret: string) => {
      const redirected = new URL(
        await authorizationFlow(
          (url, cookies) => dev.client.get(url, cookies),
          `https://${dev.names.ciamOauth}`,
          adminHostUrl("ciam-hydra"),
          {
            response_type: "code",
            client_id: client.clientId,
            scope: "openid",
            state: "rotation-state-1234",
            redirect_uri: registration.redirect_uris[0]!,
          },
        ),
      );
      const code = redirected.searchParams.get("code");
      expect(code, redirected.toString()).toBeTruthy();
      return fetch(`${hydraPublic("ciam")}/oauth2/token`, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(secret)}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code: code!,
          redirect_uri: registration.redirect_uris[0]!,
        }),
      });
    };
    const withOld = await exchange(oldSecret);
    expect(withOld.status).toBe(401);
    const withNew = await exchange(newSecret);
    expect(withNew.status, await withNew.clone().text()).toBe(200);
    expect(((await withNew.json()) as { access_token?: string }).access_token).toBeTruthy();
    // No secret of the host's bundle was ever an argument of any process while the release ran.
    const values = readdirSync(join(composeProjectDir, "secrets"))
      .map((variable) => readFileSync(secretFile(variable), "utf8"))
      .filter((value) => value.length >= 12);
    expect(values.length).toBeGreaterThan(10);
    expect(commandLines.size).toBeGreaterThan(100);
    const leaks = [...commandLines].filter((line) => values.some((value) => line.includes(value)));
    expect(leaks.map((line) => line.slice(0, 80))).toEqual([]);
  });

  it("puts the edge back on the route before a phase that fails, so no site dials a container never made", async () => {
    // A Kratos whose migrations run but whose server exits: the release fails in the Ory phase, after the
    // edge was routed to it.
    const tag = "v26.2.0-serve-fails";
    const context = mkdtempSync(join(tmpdir(), "olympus-broken-kratos-"));
    writeFileSync(
      join(context, "Containerfile"),
      [
        `FROM ${localImage("kratos", localBuilds.kratos!.tag)}`,
        // Migrations run the real Kratos; anything else (the server) exits.
        `ENTRYPOINT ${JSON.stringify(["/bin/sh", "-c", 'case " $* " in *" migrate "*) exec kratos "$@" ;; *) exit 3 ;; esac', "kratos"])}`,
      ].join("\n"),
    );
    await execa("podman", ["build", "--quiet", "--tag", localImage("kratos", tag), context]);
    rmSync(context, { recursive: true, force: true });
    await dev.stack.setConfig("stagedRollout.kratos", { value: tag }, true);
    const output = await failingUp(dev.stack);
    expect(output).toContain("the edge routes phase ory");
    // Known for a crash loop at once (not after the health timeout), and removed, so nothing races the
    // release that replaces it.
    expect(output).toMatch(/ciam-kratos is crashing after \d+s/);
    expect(output).toContain("ciam-kratos removed, out of its crash loop");
    expect(output).toContain("the release failed in phase ory: the edge is back on the route of phase edge");
    // Caddy dials the Ory services by name again, whichever of their containers answers: the Hydras'
    // sites, which the release did not break, still answer.
    const caddyConfig = (
      await execa("podman", ["exec", "olympus_caddy_1", "wget", "-qO-", "http://localhost:2019/config/"])
    ).stdout;
    expect(caddyConfig).toContain('"ciam-hydra:5002"');
    expect(caddyConfig).not.toMatch(/ciam-kratos-[0-9a-f]{12}/);
    for (const site of [dev.names.ciamOauth, dev.names.iamOauth])
      expect((await dev.client.get(`https://${site}/health/ready`)).status, site).toBe(200);
    // The release taken back converges.
    await dev.stack.removeConfig("stagedRollout.kratos", true);
    expect((await dev.stack.up({ onEvent: dev.onEvent })).summary.result).toBe("succeeded");
    await servesAgain("a login after the failed release was taken back");
  });

  it("rotates Hydra's system secret the way Hydra does: new first, the old one kept, its keys still readable", async () => {
    const jwks = await (await fetch(`${hydraPublic("ciam")}/.well-known/jwks.json`)).text();
    await dev.stack.setConfig("hydraSystemRotations", { value: "1" });
    expect((await dev.stack.up({ onEvent: dev.onEvent })).summary.result).toBe("succeeded");
    // Two secrets now, without printing either.
    const { stdout } = await execa("podman", [
      ...["exec", "olympus_ciam-hydra_1", "sh", "-c"],
      'printf %s "$SECRETS_SYSTEM" | tr "," "\\n" | grep -c .',
    ]);
    expect(Number(stdout.trim())).toBe(2);
    // The keys Hydra stored under the old secret are read with it: the same published keys.
    expect(await (await fetch(`${hydraPublic("ciam")}/.well-known/jwks.json`)).text()).toBe(jwks);
    await servesAgain("a login after the rotation");
  });
});
