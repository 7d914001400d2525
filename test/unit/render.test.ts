import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import execa from "execa";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { parse } from "yaml";
import { parseStackConfig } from "../../lib/config/parse";
import type { StackConfig } from "../../lib/config/schema";
import { type Role, roleNames } from "../../lib/database";
import { certificateYear, postgresTlsFromSeeds } from "../../lib/postgresTls";
import { podmanSecret, secretFormatProblems, secretsDigest, secretsDigestVariable } from "../../lib/secrets";
import { adminAddress, adminAlias, adminNetwork, port } from "../../lib/services";
import { hostnames, publicSiteNames } from "../../lib/topology";
import { serviceImages } from "../../lib/versions";
import { releaseForConfig, renderForConfig } from "../../ops/parity";
import { securityHeaders } from "../../render/caddyfile";
import { renderCloudInit } from "../../render/cloudInit";
import { type ComposeFile, edgeAliases, type NetworkAttachment, releaseAliases } from "../../render/compose";
import type { DeployPlan, RenderedFiles } from "../../render/deployment";
import { environmentVariables } from "../../render/environment";
import { redact, redactPrivateKeys } from "../../scripts/operations/renderedFiles";
import { committedStackConfig } from "../helpers/stackConfig";

const stacks = ["staging", "prod"] as const;
const configs = {} as Record<(typeof stacks)[number], StackConfig>;
const files = {} as Record<(typeof stacks)[number], RenderedFiles>;

beforeAll(async () => {
  for (const stack of stacks) {
    configs[stack] = parseStackConfig(stack, committedStackConfig(stack));
    files[stack] = await renderForConfig(configs[stack], stack);
  }
});

const compose = (stack: (typeof stacks)[number]) => parse(files[stack]["compose.yml"]!.content) as ComposeFile;
const kratos = (stack: (typeof stacks)[number], domain: "ciam" | "iam") =>
  parse(files[stack][`${domain}-kratos/kratos.yml`]!.content);

describe("the compose project", () => {
  it("runs the same services and images in both stacks, apart from staging's mail sandbox and login simulator", () => {
    const staging = compose("staging").services;
    const prod = compose("prod").services;
    expect(
      Object.keys(staging)
        .filter((name) => !["mailpit", "login-simulator"].includes(name))
        .sort(),
    ).toEqual(Object.keys(prod).sort());
    expect(Object.keys(staging)).toEqual(expect.arrayContaining(["mailpit", "login-simulator"]));
    for (const [name, service] of Object.entries(prod)) expect(staging[name]?.image, name).toBe(service.image);
    expect(Object.keys(prod).sort()).toEqual(
      [
        "alertmanager",
        "backup",
        "blackbox-exporter",
        "caddy",
        "ciam-athena",
        "ciam-hera",
        "ciam-hydra",
        "ciam-hydra-migrate",
        "ciam-kratos",
        "ciam-kratos-migrate",
        "iam-athena",
        "iam-hera",
        "iam-hydra",
        "iam-hydra-migrate",
        "iam-kratos",
        "iam-kratos-migrate",
        "node-exporter",
        "pgadmin",
        "postgres",
        "postgres-exporter",
        "prometheus",
        "site",
      ].sort(),
    );
  });

  it("pins every image to the shared version table", () => {
    const images = Object.values(compose("prod").services).map((service) => service.image);
    const table = Object.values(serviceImages).map((pin) => `${pin.repository}:${pin.tag}`);
    for (const image of images) expect(table).toContain(image);
    expect(images.every((image) => !image.endsWith(":latest"))).toBe(true);
  });

  it("publishes only Caddy on public ports; everything else binds to 127.0.0.1", () => {
    for (const stack of stacks) {
      for (const [name, service] of Object.entries(compose(stack).services)) {
        for (const port of service.ports ?? []) {
          if (name !== "caddy") expect(port, `${stack} ${name}`).toMatch(/^127\.0\.0\.1:/);
        }
      }
      expect(compose(stack).services.caddy?.ports).toEqual(["0.0.0.0:80:80", "0.0.0.0:443:443", "0.0.0.0:443:443/udp"]);
      // No member of the admin network publishes a port: the host reaches it at its address there.
      for (const [name, service] of Object.entries(compose(stack).services))
        if (adminNetwork.name in (Array.isArray(service.networks) ? {} : service.networks))
          expect(service.ports, `${stack} ${name}`).toBeUndefined();
      expect(compose(stack).services["ciam-kratos"]?.networks).toMatchObject({ admin: {}, intranet: {} });
    }
  });

  it("routes the edge phase by phase: a phase's services by their new aliases, later ones by name, so no app waits on Ory", () => {
    const prod = files.prod;
    const plan = JSON.parse(prod["deploy.json"]!.content) as DeployPlan;
    expect(plan.edge.routes).toMatchObject({
      edge: "/etc/caddy/routes/edge.Caddyfile",
      ory: "/etc/caddy/routes/ory.Caddyfile",
      apps: "/etc/caddy/routes/apps.Caddyfile",
    });
    const aliases = edgeAliases(compose("prod"));
    // An alias that ends with a .env placeholder is a quoted token (Caddy replaces {$NAME} before it reads tokens).
    const route = (phase: string) => prod[`caddy/routes/${phase}.Caddyfile`]!.content.replaceAll('"', "");
    // Before Ory is replaced: nothing by a new alias yet.
    expect(route("edge")).not.toContain(aliases["ciam-hydra"]!);
    expect(route("edge")).toContain("reverse_proxy ciam-hydra:5002");
    // During Ory: Hydra by its new alias, Hera (an app, replaced later) by its name, still answering.
    expect(route("ory")).toContain(`reverse_proxy ${aliases["ciam-hydra"]}:5002`);
    expect(route("ory")).toContain("reverse_proxy ciam-hera:3000");
    // From the apps on: every service by its alias, which ends with its secrets digest from the .env.
    expect(route("apps")).toContain(`reverse_proxy ${aliases["ciam-hera"]}:3000`);
    expect(aliases["ciam-hera"]).toMatch(/^ciam-hera-[0-9a-f]{12}-\{\$OLYMPUS_SECRETS_CIAM_HERA\}$/);
    // Caddy starts (a restart, a reboot) with every service by its name, as the edge phase's route.
    expect(prod["caddy/Caddyfile"]!.content).toBe(prod["caddy/routes/edge.Caddyfile"]!.content);
  });

  it("starts postgres, then migrations, then Caddy, then Ory, then apps, in the deploy script's phases", () => {
    const services = compose("prod").services;
    expect(services["ciam-kratos-migrate"]?.profiles).toEqual(["migrations"]);
    const plan = (stack: (typeof stacks)[number]) =>
      Object.fromEntries(
        (JSON.parse(files[stack]["deploy.json"]!.content) as DeployPlan).phases.map((phase) => [phase.name, phase]),
      );
    const phases = plan("prod");
    expect(Object.keys(phases)).toEqual(["database", "migrations", "edge", "ory", "apps", "extras", "operations"]);
    expect(phases.edge).toMatchObject({ services: ["caddy"], after: ["route-edge"] });
    // Every later phase first moves the edge to its own route.
    for (const phase of ["ory", "apps", "extras", "operations"])
      expect(phases[phase]?.before, phase).toEqual(["route-edge"]);
    // Before the database starts: the admin network guarded, no empty cluster beside data; once up: a
    // restore point before any migration.
    expect(phases.database).toMatchObject({
      before: ["sync-secrets", "check-data-directory", "guard-admin-network"],
      after: ["reload-postgres", "apply-database-roles", "mark-restore-point"],
    });
    expect(phases.operations).toMatchObject({
      services: ["backup", "prometheus", "alertmanager", "node-exporter", "postgres-exporter", "blackbox-exporter"],
      after: ["reload-alertmanager"],
    });
    expect(phases.migrations).toMatchObject({ oneShot: true, after: [] });
    expect(phases.extras?.services).toEqual([]);
    expect(plan("staging").extras?.services).toEqual(["mailpit", "login-simulator"]);
    // Every service of the compose project is started by exactly one phase.
    expect(
      Object.values(phases)
        .flatMap((phase) => phase.services)
        .sort(),
    ).toEqual(Object.keys(services).sort());
    // podman-compose recreates every dependent of a recreated service: no service may declare one.
    for (const [name, service] of Object.entries(services)) expect(service, name).not.toHaveProperty("depends_on");
  });

  it("recreates exactly the services whose mounted configuration changed", async () => {
    const digest = (file: ComposeFile, service: string) => file.services[service]?.labels?.["olympus.config-digest"];
    const before = compose("staging");
    const changed = parse(
      (await renderForConfig({ ...configs.staging, loginSimulation: { loginsPerHour: 7 } }, "staging"))["compose.yml"]!
        .content,
    ) as ComposeFile;
    expect(digest(changed, "login-simulator")).not.toBe(digest(before, "login-simulator"));
    for (const service of ["ciam-kratos", "iam-kratos", "ciam-hydra", "postgres"])
      expect(digest(changed, service), service).toBe(digest(before, service));
    // A new Caddyfile is reloaded in place, never a reason to recreate the edge.
    expect(digest(before, "caddy")).toBeUndefined();
    expect(before.services.caddy?.volumes).toContain("./caddy:/etc/caddy:ro");
  });

  it("renames exactly the services a release recreates, and Caddy dials them by their new names", async () => {
    const staged = await renderForConfig({ ...configs.staging, stagedRollout: { kratos: "v26.2.0-next" } }, "staging");
    const before = releaseAliases(compose("staging"));
    const after = releaseAliases(parse(staged["compose.yml"]!.content) as ComposeFile);
    const renamed = Object.keys(before).filter((service) => before[service] !== after[service]);
    expect(renamed.sort()).toEqual(["ciam-kratos", "iam-kratos"]);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(["ciam-hydra", "ciam-hera", "caddy", "mailpit"]));
    const dialled = (files: RenderedFiles, path: string) =>
      [...files[path]!.content.matchAll(/reverse_proxy "?([^\s"]+)"?/g)].map((match) => match[1]).sort();
    const edge = edgeAliases(compose("staging"));
    expect(dialled(files.staging, "caddy/routes/operations.Caddyfile")).toEqual(
      [
        "ciam-hera:3000",
        "ciam-hydra:5002",
        "ciam-athena:3000",
        "iam-hera:4000",
        "iam-hydra:7002",
        "iam-athena:3000",
        "site:3000",
      ]
        .map((upstream) => `${edge[upstream.split(":")[0]!]}:${upstream.split(":")[1]}`)
        .sort(),
    );
    // The dev tier, without Hera, sends CIAM's self-service API to Kratos: by its new name after the release.
    const dev = parseStackConfig("dev", committedStackConfig("dev"));
    const devAfter = await renderForConfig({ ...dev, stagedRollout: { kratos: "v26.2.0-next" } }, "dev");
    const devAliases = edgeAliases(parse(devAfter["compose.yml"]!.content) as ComposeFile);
    expect(devAfter["caddy/routes/operations.Caddyfile"]!.content).toContain(
      `reverse_proxy "${devAliases["ciam-kratos"]}:${port("ciam-kratos", "public")}" {`,
    );
  });

  it("keeps named volumes on the Hetzner data volume and every long-running service restarting", () => {
    const file = compose("prod");
    // Every volume that holds data; PostgreSQL's socket directory passes between containers and holds none.
    for (const [name, volume] of Object.entries(file.volumes))
      if (name !== "postgres_run") expect(volume.driver_opts?.device, name).toMatch(/^\/srv\/olympus\/volumes\//);
    for (const [name, service] of Object.entries(file.services)) {
      if (name.endsWith("-migrate")) expect(service.networks, name).toEqual(["intranet"]);
      else
        expect(service.networks, name).toMatchObject({
          intranet: {
            aliases: [expect.stringMatching(`^${name}-[0-9a-f]{12}(-\\$\\{OLYMPUS_SECRETS_[A-Z_]+:\\?.*\\})?$`)],
          },
        });
      expect(service.restart, name).toBe(name.endsWith("-migrate") ? "no" : "unless-stopped");
    }
  });

  it("puts the Ory admin APIs on a network of their own, joined only by the services that call them", () => {
    const file = compose("prod");
    const oryServices = ["ciam-kratos", "ciam-hydra", "iam-kratos", "iam-hydra"];
    const members = Object.entries(file.services)
      .filter(([, service]) => !Array.isArray(service.networks) && adminNetwork.name in service.networks)
      .map(([name]) => name);
    expect(members.sort()).toEqual(
      [...oryServices, "ciam-hera", "ciam-athena", "iam-hera", "iam-athena", "site", "prometheus"].sort(),
    );
    expect(file.networks[adminNetwork.name]).toEqual({ ipam: { config: [{ subnet: adminNetwork.subnet }] } });
    const prodFiles = files.prod;
    for (const name of oryServices) {
      const networks = file.services[name]!.networks as Record<string, NetworkAttachment>;
      expect(Object.keys(networks).sort(), name).toEqual([adminNetwork.name, "intranet"].sort());
      expect(networks[adminNetwork.name], name).toEqual({
        ipv4_address: adminAddress(name),
        aliases: [adminAlias(name)],
      });
      // The admin port listens on that address alone, never on the intranet.
      const config = parse(prodFiles[`${name}/${name.split("-")[1]}.yml`]!.content);
      expect(config.serve.admin, name).toMatchObject({ host: adminAddress(name), port: port(name, "admin") });
    }
    // Every member at a fixed address of its own: podman's allocator hands out none there at random (it
    // rotates through the subnet, and would in time give a caller an address an admin API binds to).
    const addresses = members.map((name) => (file.services[name]!.networks as Record<string, NetworkAttachment>).admin);
    expect(addresses.map((attachment) => attachment?.ipv4_address)).toEqual(members.map(adminAddress));
    expect(new Set(members.map(adminAddress)).size).toBe(members.length);
    for (const address of members.map(adminAddress))
      expect(address.startsWith(adminNetwork.subnet.replace(/0\/24$/, ""))).toBe(true);
    // Everyone calls them by their admin name (only the network's members resolve it).
    expect(file.services["ciam-hera"]?.environment?.KRATOS_ADMIN_URL).toBe(
      `http://${adminAlias("ciam-kratos")}:${port("ciam-kratos", "admin")}`,
    );
    // The host refuses what another network forwards into it, and the deploy loads that before anything starts.
    expect(prodFiles["admin-network.nft"]?.content).toContain(
      `ip daddr ${adminNetwork.subnet} ip saddr != ${adminNetwork.subnet} reject`,
    );
  });

  it("hands each secret to its containers as a podman secret, and names the release by a digest of them", () => {
    const file = compose("prod");
    const kratosService = file.services["ciam-kratos"]!;
    // Never a value, nor an environment entry compose would pass to `podman create -e`.
    expect(kratosService.environment?.SECRETS_CIPHER).toBeUndefined();
    expect(kratosService.secrets).toContainEqual({
      source: podmanSecret("CIAM_KRATOS_SECRET_CIPHER"),
      type: "env",
      target: "SECRETS_CIPHER",
    });
    expect(file.secrets[podmanSecret("CIAM_KRATOS_SECRET_CIPHER")]).toEqual({ external: true });
    const plan = JSON.parse(files.prod["deploy.json"]!.content) as DeployPlan;
    expect(plan.podmanSecrets).toContainEqual({
      name: podmanSecret("CIAM_KRATOS_SECRET_CIPHER"),
      file: "secrets/CIAM_KRATOS_SECRET_CIPHER",
    });
    expect(files.prod["secrets/CIAM_KRATOS_SECRET_CIPHER"]).toMatchObject({ secret: true, mode: "0600" });
    // A missing digest stops compose; the .env holds digests only: 12 hex per service that reads secrets.
    const variable = secretsDigestVariable("ciam-kratos");
    expect(kratosService.labels?.["olympus.secrets-digest"]).toBe(`\${${variable}:?${variable} must be set in .env}`);
    expect(files.prod[".env"]!.content.trim().split("\n")).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^${variable}=[0-9a-f]{12}$`))]),
    );
    // Unquoted: podman's --env-file (Caddy's reloads) would keep quotes as part of the value.
    for (const line of files.prod[".env"]!.content.trim().split("\n"))
      expect(line).toMatch(/^OLYMPUS_SECRETS_[A-Z_]+=[0-9a-f]{12}$/);
  });

  it("changes a service's digest with any of its secret values, keyed, so it says nothing about them", () => {
    const key = Buffer.alloc(32, 7).toString("base64");
    const before = secretsDigest(key, { A: "one", B: "two" });
    expect(before).toMatch(/^[0-9a-f]{12}$/);
    expect(secretsDigest(key, { B: "two", A: "one" })).toBe(before);
    expect(secretsDigest(key, { A: "one", B: "three" })).not.toBe(before);
    expect(secretsDigest(Buffer.alloc(32, 8).toString("base64"), { A: "one", B: "two" })).not.toBe(before);
    // A rotated SMTP URI renames the Kratoses, never a Hydra.
    const { serviceSecrets } = releaseForConfig(configs.prod, "prod");
    expect(serviceSecrets["ciam-kratos"]).toContain("SMTP_CONNECTION_URI");
    expect(serviceSecrets["ciam-hydra"]).not.toContain("SMTP_CONNECTION_URI");
  });

  it("never enables demo accounts and sets CAPTCHA per environment", () => {
    const staging = compose("staging").services["ciam-hera"]!.environment!;
    const prod = compose("prod").services["ciam-hera"]!.environment!;
    expect([staging.ALLOW_DEMO_ACCOUNTS, prod.ALLOW_DEMO_ACCOUNTS]).toEqual(["false", "false"]);
    expect(staging.CAPTCHA_SITE_KEY).toBe("1x00000000000000000000AA");
    expect(prod.CAPTCHA_SITE_KEY).toBe("0x4AAAAAAAexampleSiteKey");
  });
});

describe("the Caddyfile", () => {
  it("has one site block per public hostname, each importing the security headers", () => {
    for (const stack of stacks) {
      const caddyfile = files[stack]["caddy/Caddyfile"]!.content;
      const names = hostnames(configs[stack].domain, configs[stack].siteSubdomain);
      for (const site of publicSiteNames) {
        const blocks = caddyfile.split(/\n\n/).filter((block) => block.startsWith(`${names[site]} {`));
        expect(blocks, `${stack} ${names[site]}`).toHaveLength(1);
        expect(blocks[0]).toContain("import security_headers");
      }
      for (const [header, value] of Object.entries(securityHeaders))
        expect(caddyfile).toContain(`${header} ${/\s/.test(value) ? `"${value}"` : value}`);
      expect(caddyfile).toContain(`email noreply@${configs[stack].domain}`);
      expect(caddyfile).not.toMatch(/pgadmin/i);
    }
  });

  it("rate-limits the CIAM login endpoints with each stack's own limits", () => {
    expect(files.staging["caddy/Caddyfile"]!.content).toMatch(
      /zone ciam_login \{\s+match \{\s+method POST\s+path \/login\* \/self-service\/login\*\s+\}\s+key \{http.request.remote.host\}\s+events 100\s+window 1m/,
    );
    expect(files.prod["caddy/Caddyfile"]!.content).toMatch(/events 10\s+window 1m/);
    const loginBlock = files.prod["caddy/Caddyfile"]!.content.split(/\n\n/).find((block) =>
      block.startsWith("login.ciam.example.com"),
    )!;
    expect(loginBlock).toContain("respond @policy_password 404");
    // Other hosts are not rate limited.
    expect(files.prod["caddy/Caddyfile"]!.content.match(/rate_limit \{/g)).toHaveLength(1);
  });
});

describe("Kratos and Hydra configuration", () => {
  it("requires verified addresses on CIAM login and never leaks sensitive values", () => {
    for (const stack of stacks) {
      const ciam = kratos(stack, "ciam");
      expect(ciam.selfservice.flows.login.after.hooks).toEqual([{ hook: "require_verified_address" }]);
      expect(ciam.log.leak_sensitive_values).toBe(false);
      expect(ciam.hashers).toEqual({ algorithm: "bcrypt", bcrypt: { cost: 12 } });
      expect(kratos(stack, "iam").hashers.algorithm).toBe("argon2");
      expect(kratos(stack, "iam").selfservice.flows.registration.enabled).toBe(false);
    }
  });

  it("sends staging's mail to Mailpit and prod's to the provider's secret URI", () => {
    expect(files.staging["secrets/SMTP_CONNECTION_URI"]!.content).toBe("smtp://mailpit:1025/?disable_starttls=true");
    expect(files.prod["secrets/SMTP_CONNECTION_URI"]!.content).toBe("smtp://redacted");
    expect(kratos("prod", "ciam").courier.smtp.from_address).toBe("noreply@example.com");
    expect(compose("prod").services["ciam-kratos"]?.secrets).toContainEqual({
      source: podmanSecret("SMTP_CONNECTION_URI"),
      type: "env",
      target: "COURIER_SMTP_CONNECTION_URI",
    });
  });

  it("uses TLS to PostgreSQL with full verification", () => {
    for (const database of ["ciam_kratos", "ciam_hydra", "iam_kratos", "iam_hydra", "olympus"]) {
      expect(files.prod[`secrets/PG_${database.toUpperCase()}_DSN`]!.content).toMatch(
        new RegExp(`@postgres:5432/${database}\\?sslmode=verify-full&sslrootcert=/etc/postgres-ca/ca.crt$`),
      );
    }
    expect(files.prod["postgres/server.key"]).toMatchObject({ secret: true, mode: "0600" });
    expect(files.prod[".env"]).toMatchObject({ secret: true, mode: "0600" });
    expect(files.prod["init-db.sql"]!.content.match(/CREATE DATABASE/g)).toHaveLength(5);
  });

  it("applies the lockout settings to both SDK settings tables", () => {
    const sql = files.prod["olympus-settings.sql"]!.content;
    for (const table of ["ciam_settings", "iam_settings"]) {
      expect(sql).toContain(
        `INSERT INTO ${table} (key, value, encrypted, category, updated_at) VALUES ('security.brute_force.max_attempts', '5'`,
      );
    }
    expect(files.staging["olympus-settings.sql"]!.content).toContain("'security.brute_force.max_attempts', '10'");
  });
});

describe("secrets", () => {
  it("meet Olympus's formats, and malformed ones are refused before rendering", () => {
    const good = {
      ory: {
        ciam: {
          kratosCookie: "a".repeat(64),
          kratosCipher: "b".repeat(32),
          hydraSystem: ["c".repeat(64)],
          hydraPairwiseSalt: "d".repeat(64),
        },
      },
    };
    const base = {
      postgresPassword: "p".repeat(40),
      ory: { ciam: good.ory.ciam, iam: good.ory.ciam },
      encryptionKey: Buffer.alloc(32, 1).toString("base64"),
      sessionSigningKey: Buffer.alloc(32, 2).toString("base64"),
      oauthClients: {
        athenaCiam: "x".repeat(48),
        athenaIam: "x".repeat(48),
        siteCiam: "x".repeat(48),
        siteIam: "x".repeat(48),
        pgadmin: "x".repeat(48),
      },
      adminPassword: "a".repeat(32),
      rolePasswords: Object.fromEntries(roleNames.map((role) => [role, "m".repeat(48)])) as Record<Role, string>,
      smtpUri: "",
      captchaSecretKey: "",
      postgresTls: { caCertificate: "", serverCertificate: "", serverKey: "" },
      backup: { accessKeyId: "key", secretAccessKey: "secret", passphrase: "p".repeat(64) },
    };
    expect(secretFormatProblems(base)).toEqual([]);
    expect(
      secretFormatProblems({ ...base, ory: { ...base.ory, ciam: { ...good.ory.ciam, kratosCipher: "short" } } }),
    ).toEqual(["ciam Kratos cipher secret must be exactly 32 characters"]);
    expect(secretFormatProblems({ ...base, sessionSigningKey: base.encryptionKey })).toEqual([
      "SESSION_SIGNING_KEY must differ from ENCRYPTION_KEY",
    ]);
    expect(Object.keys(environmentVariables(base, releaseForConfig(configs.prod, "prod").secretVariables))).toEqual(
      expect.arrayContaining([
        "CIAM_KRATOS_SECRET_CIPHER",
        "IAM_HYDRA_PAIRWISE_SALT",
        "PG_OLYMPUS_DSN",
        "ENCRYPTION_KEY",
        "SESSION_SIGNING_KEY",
      ]),
    );
  });
});

describe("PostgreSQL's certificates", () => {
  const seeds = [Buffer.alloc(32, 7).toString("base64"), Buffer.alloc(32, 8).toString("base64")] as const;
  const inspect = async (pem: string, ...args: string[]) =>
    (await execa("openssl", ["x509", "-noout", ...args], { input: pem })).stdout;

  it("renew the server certificate each year under the same CA, valid two years, so renewal comes a year before expiry", async () => {
    const thisYear = await postgresTlsFromSeeds(...seeds, 2026);
    const nextYear = await postgresTlsFromSeeds(...seeds, 2027);
    expect(nextYear.caCertificate).toBe(thisYear.caCertificate);
    expect(nextYear.serverKey).toBe(thisYear.serverKey);
    expect(nextYear.serverCertificate).not.toBe(thisYear.serverCertificate);
    expect(await inspect(nextYear.serverCertificate, "-startdate", "-enddate")).toBe(
      "notBefore=Jan  1 00:00:00 2026 GMT\nnotAfter=Jan  1 00:00:00 2029 GMT",
    );
    // Clients verify with the CA they already hold (verify-full): the renewed certificate chains to it.
    const dir = mkdtempSync(join(tmpdir(), "olympus-pg-tls-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "ca.crt"), thisYear.caCertificate);
    writeFileSync(join(dir, "server.crt"), nextYear.serverCertificate);
    const verified = await execa("openssl", [
      "verify",
      "-CAfile",
      join(dir, "ca.crt"),
      "-attime",
      String(Date.UTC(2026, 11, 1) / 1000),
      join(dir, "server.crt"),
    ]);
    expect(verified.stdout).toContain("server.crt: OK");
    // A signature with a digest: libpq's SCRAM channel binding hashes the certificate with it (an Ed25519
    // certificate has none, and psql over TLS fails).
    expect(await inspect(nextYear.serverCertificate, "-text")).toContain("Signature Algorithm: ecdsa-with-SHA256");
    // The same seeds give the same certificates on every run (deterministic ECDSA), so nothing redeploys.
    expect(await postgresTlsFromSeeds(...seeds, 2027)).toEqual(nextYear);
  });

  it("issue this year's certificate, or a later year's to rehearse a renewal, never a past one", () => {
    const now = new Date("2026-11-26T12:00:00Z");
    expect(certificateYear(undefined, now)).toBe(2026);
    expect(certificateYear("2027", now)).toBe(2027);
    expect(() => certificateYear("2025", now)).toThrow(
      'OLYMPUS_CERTIFICATE_YEAR: got "2025", allowed is a year from 2026 to 2034',
    );
    expect(() => certificateYear("next", now)).toThrow("allowed is a year from 2026");
  });
});

describe("snapshots of every rendered file", () => {
  it.each([...stacks, "dev"] as const)("%s", async (stack) => {
    const rendered =
      stack === "dev"
        ? await renderForConfig(parseStackConfig("dev", committedStackConfig("dev")), "dev")
        : files[stack];
    // Scripts copied verbatim from render/assets are not rendered, so they need no snapshot.
    // Secret values and key material never enter a committed snapshot (secret scanners flag even placeholders).
    const redacted = redact(
      Object.fromEntries(
        Object.entries(rendered).map(([path, file]) => [path, { content: file.content, secret: file.secret }]),
      ),
    );
    for (const [path, file] of Object.entries(redacted).filter(([path]) => !path.endsWith(".sh"))) {
      expect(file.content, path).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY-----\n(?!<redacted>)/);
      await expect(file.content, path).toMatchFileSnapshot(`__snapshots__/rendered/${stack}/${path}`);
    }
  });
});

describe("cloud-init user data", () => {
  // Fixed stand-ins: the snapshot must not change with every run, and holds no real key.
  const deployKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0lr3IfYQHJ0wBlD7a9eIa3c3y9nOnyKx6mvG2XhdmU deploy@olympus-prod";
  const hostKey = {
    publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU host@olympus-prod",
    privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nstand-in\n-----END OPENSSH PRIVATE KEY-----\n",
  };
  const userData = renderCloudInit({
    deployUser: "deploy",
    authorizedKeys: [deployKey],
    hostKey,
    volumeId: "104857600",
    mountPath: "/srv/olympus",
  });

  it("creates the key-only deploy user, hardens sshd, enables security upgrades and mounts the volume", () => {
    const config = parse(userData.replace(/^#cloud-config\n/, ""));
    expect(userData.startsWith("#cloud-config\n")).toBe(true);
    expect(config.packages).toEqual(expect.arrayContaining(["podman", "python3-venv", "unattended-upgrades"]));
    // The distribution's podman-compose (1.0.x) has neither --profile nor --env-file; the deploy step pins its own.
    expect(config.packages).not.toContain("podman-compose");
    expect(config.users[0]).toMatchObject({ name: "deploy", lock_passwd: true, ssh_authorized_keys: [deployKey] });
    expect([config.ssh_pwauth, config.disable_root]).toEqual([false, true]);
    expect(config.write_files[0].content).toContain("PermitRootLogin no");
    expect(config.write_files[0].content).toContain("PasswordAuthentication no");
    expect(config.write_files[1].content).toContain('APT::Periodic::Unattended-Upgrade "1";');
    expect(config.mounts).toEqual([
      [
        "/dev/disk/by-id/scsi-0HC_Volume_104857600",
        "/srv/olympus",
        "ext4",
        "discard,nofail,defaults,x-systemd.automount",
        "0",
        "2",
      ],
    ]);
    expect(config.ssh_keys.ed25519_public).toBe(hostKey.publicKey);
  });

  it("matches its snapshot", async () => {
    await expect(redactPrivateKeys(userData)).toMatchFileSnapshot("__snapshots__/rendered/cloud-init.yaml");
  });
});
