import execa from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runOverSsh } from "../../clients/tunnel";
import { loopbackPort } from "../../lib/services";
import { loginThroughEdge, stackContainers } from "../../scripts/devhost/devCycle";
import { deployScriptCommand, hostAccess } from "../../scripts/operations/hostAccess";
import {
  type DevStack,
  prepareDevStack,
  seededEmail,
  startDevStack,
  stopDevStack,
  waitUntil,
} from "../helpers/devStack";

/**
 * Faults an operator meets in the first months, on the dev stack: a reboot, a lost host whose volume
 * came back, a rotated PostgreSQL CA, a rotated Hydra system secret, and (tested where the stack goes
 * down) what the dev setup leaves behind.
 */
let copy: Awaited<ReturnType<typeof prepareDevStack>>;
let dev: DevStack;
const hydraPublic = (domain: "ciam" | "iam") => `http://127.0.0.1:${loopbackPort(`${domain}-hydra`, "public")}`;
/** Whether a seeded user logs in through Caddy (a refused connection counts as no). */
const loginWorks = async () =>
  (await loginThroughEdge(dev.client, dev.names.ciamLogin, seededEmail(5), dev.password).catch(() => undefined))
    ?.status === 200;
const servesAgain = (what: string) => waitUntil(what, async () => ((await loginWorks()) ? true : undefined), 120_000);
const projectContainers = async () =>
  (await execa("podman", ["ps", "--all", "--quiet", "--filter", "label=com.docker.compose.project=olympus"])).stdout
    .split("\n")
    .filter(Boolean);
const psql = (sql: string) =>
  execa("podman", ["exec", "olympus_postgres_1", "psql", "-U", "olympus", "-d", "postgres", "-Atc", sql]);

/** The URNs of the resources whose names end so (the deploy steps, a generated secret). */
async function urns(...suffixes: string[]): Promise<string[]> {
  const state = (await dev.stack.exportStack()).deployment as { resources: { urn: string }[] };
  return suffixes.map((suffix) => {
    const found = state.resources.find((resource) => resource.urn.endsWith(suffix));
    if (!found) throw new Error(`no resource ending ${suffix} in the dev stack`);
    return found.urn;
  });
}

beforeAll(async () => {
  copy = await prepareDevStack();
  dev = await startDevStack(copy);
}, 900_000);

afterAll(async () => {
  if (dev) await dev.down();
  else if (copy) await stopDevStack(copy);
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
