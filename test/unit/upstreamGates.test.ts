import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseStackConfig } from "../../lib/config/parse";
import { serviceImages } from "../../lib/versions";
import { renderForConfig } from "../../ops/parity";
import { securityHeaders } from "../../render/caddyfile";
import type { ComposeFile } from "../../render/compose";
import type { RenderedFiles } from "../../render/deployment";
import { committedStackConfig } from "../helpers/stackConfig";

/**
 * The Olympus platform's own security gates (its .github/workflows/verify-*.yml, prod/check-secrets.sh,
 * scripts/verify-email-enforcement.sh and tests/e2e specs), written again here from reading them and
 * run over what staging and prod really deploy. Where this project deliberately differs, the README's
 * "Differences from upstream" table says why, and the test checks our form of the same guarantee.
 */
const stacks = ["staging", "prod"] as const;
const files = {} as Record<(typeof stacks)[number], RenderedFiles>;

beforeAll(async () => {
  for (const stack of stacks)
    files[stack] = await renderForConfig(parseStackConfig(stack, committedStackConfig(stack)), stack);
});

const yamlOf = (stack: (typeof stacks)[number], path: string) => parse(files[stack][path]!.content);
const compose = (stack: (typeof stacks)[number]) => yamlOf(stack, "compose.yml") as ComposeFile;
const each = (test: (stack: (typeof stacks)[number]) => void) => () => stacks.forEach(test);

describe("verify-prod-config: no Kratos config leaks sensitive values", () => {
  it(
    "sets log.leak_sensitive_values to false in both Kratos configurations",
    each((stack) => {
      for (const domain of ["ciam", "iam"]) {
        expect(files[stack][`${domain}-kratos/kratos.yml`]!.content).not.toMatch(/leak_sensitive_values:\s*true/);
        expect(yamlOf(stack, `${domain}-kratos/kratos.yml`).log.leak_sensitive_values, `${stack} ${domain}`).toBe(
          false,
        );
      }
    }),
  );
});

describe("verify-image-pins: no image floats", () => {
  it(
    "pins every image to a tag from the version table, none of them latest, each with its source",
    each((stack) => {
      const table = Object.values(serviceImages).map((pin) => `${pin.repository}:${pin.tag}`);
      for (const [service, definition] of Object.entries(compose(stack).services)) {
        expect(definition.image, service).not.toMatch(/:latest$|:\$\{[A-Z_]+:-latest\}/);
        expect(table, service).toContain(definition.image);
      }
      for (const [name, pin] of Object.entries(serviceImages)) {
        expect(pin.tag, name).not.toBe("latest");
        expect(pin.source.length, name).toBeGreaterThan(20);
      }
    }),
  );
});

describe("verify-email-enforcement: CIAM requires a verified address", () => {
  it(
    "keeps the login hook, no session hook after registration, and verification by code",
    each((stack) => {
      const flows = yamlOf(stack, "ciam-kratos/kratos.yml").selfservice.flows;
      expect(flows.login.after.hooks.map((hook: { hook: string }) => hook.hook)).toContain("require_verified_address");
      expect(flows.registration.after.password.hooks).toEqual([]);
      expect(flows.verification).toMatchObject({ enabled: true, use: "code" });
    }),
  );
});

describe("check-secrets and kratos-hydra-secrets: no Ory service starts without its secrets", () => {
  it(
    "feeds every secret from a podman secret, never the environment compose passes, and hardcodes none in the Ory files",
    each((stack) => {
      const secretVariables = /^(DSN|SECRETS_.*|OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT|COURIER_SMTP_CONNECTION_URI)$/;
      let checked = 0;
      const file = compose(stack);
      for (const [service, definition] of Object.entries(file.services)) {
        for (const name of Object.keys(definition.environment ?? {}))
          expect(secretVariables.test(name), `${service} ${name} in its environment`).toBe(false);
        for (const secret of definition.secrets ?? []) {
          if (!secretVariables.test(secret.target)) continue;
          checked++;
          expect(secret.type, `${service} ${secret.target}`).toBe("env");
          expect(file.secrets[secret.source], `${service} ${secret.target}`).toEqual({ external: true });
        }
      }
      // Four servers and four migrations, each with a DSN, plus the servers' own secrets.
      expect(checked).toBeGreaterThanOrEqual(18);
      for (const path of [
        "ciam-kratos/kratos.yml",
        "iam-kratos/kratos.yml",
        "ciam-hydra/hydra.yml",
        "iam-hydra/hydra.yml",
      ]) {
        const config = yamlOf(stack, path);
        expect(config.secrets, path).toBeUndefined();
        expect(config.dsn, path).toBeUndefined();
      }
    }),
  );
});

describe("totp-issuer and captcha-brute-force: second factor and breached passwords", () => {
  it(
    "names the TOTP issuer Olympus and checks HaveIBeenPwned in both Kratos configurations",
    each((stack) => {
      for (const domain of ["ciam", "iam"]) {
        const methods = yamlOf(stack, `${domain}-kratos/kratos.yml`).selfservice.methods;
        expect(methods.totp, `${stack} ${domain}`).toEqual({ enabled: true, config: { issuer: "Olympus" } });
        expect(methods.password.config.haveibeenpwned_enabled, `${stack} ${domain}`).toBe(true);
      }
    }),
  );

  it("enables CAPTCHA in prod's Hera and never allows demo accounts", () => {
    for (const domain of ["ciam", "iam"]) {
      const environment = compose("prod").services[`${domain}-hera`]!.environment!;
      expect(environment.CAPTCHA_ENABLED).toBe("true");
      for (const stack of stacks)
        expect(compose(stack).services[`${domain}-hera`]!.environment!.ALLOW_DEMO_ACCOUNTS).toBe("false");
    }
  });
});

describe("pkce-enforcement: public clients must use PKCE", () => {
  it(
    "enforces PKCE for public clients in both Hydras",
    each((stack) => {
      for (const domain of ["ciam", "iam"])
        expect(yamlOf(stack, `${domain}-hydra/hydra.yml`).oauth2.pkce.enforced_for_public_clients).toBe(true);
    }),
  );
});

describe("pgadmin-auto-create: pgAdmin behind IAM Hydra only", () => {
  it(
    "signs in by OAuth2 only, creates no user, checks the dba role and ends idle sessions after an hour",
    each((stack) => {
      const config = files[stack]["pgadmin/config_local.py"]!.content;
      expect(config).toMatch(/^AUTHENTICATION_SOURCES = \["oauth2"\]$/m);
      expect(config).toMatch(/^OAUTH2_AUTO_CREATE_USER = False$/m);
      expect(config).toContain("OAUTH2_ADDITIONAL_CLAIMS_VALIDATION = {'roles': lambda roles: 'dba' in (roles or [])}");
      expect(config).toContain('"OAUTH2_DISPLAY_NAME": "Olympus"');
      expect(config).toMatch(/^USER_INACTIVITY_TIMEOUT = 3600$/m);
      expect(compose(stack).services.pgadmin!.ports).toEqual(["127.0.0.1:5433:80"]);
      expect(files[stack]["caddy/Caddyfile"]!.content).not.toMatch(/pgadmin/i);
    }),
  );
});

describe("hera-port-binding: Hera only behind Caddy", () => {
  it(
    "publishes no Hera port and says why next to the service",
    each((stack) => {
      for (const domain of ["ciam", "iam"]) expect(compose(stack).services[`${domain}-hera`]!.ports).toBeUndefined();
      expect(files[stack]["compose.yml"]!.content).toMatch(
        /# No host port, on purpose: Hera is reached only through Caddy/,
      );
    }),
  );
});

describe("security-headers, caddy-ratelimit-pin and proxy-ip-extraction: the edge", () => {
  it(
    "sends the security headers on every site and rate-limits CIAM login POSTs by the client's own address",
    each((stack) => {
      const caddyfile = files[stack]["caddy/Caddyfile"]!.content;
      for (const [header, value] of Object.entries(securityHeaders))
        expect(caddyfile).toContain(`${header} ${/\s/.test(value) ? `"${value}"` : value}`);
      expect(caddyfile.match(/import security_headers/g)).toHaveLength(7);
      expect(caddyfile).toMatch(
        /match \{\s+method POST\s+path \/login\* \/self-service\/login\*\s+\}\s+key \{http\.request\.remote\.host\}/,
      );
      expect(caddyfile).not.toMatch(/^\s*trusted_proxies\b/m);
      expect(caddyfile).toMatch(/# Keyed by the TCP peer[\s\S]*never 0\.0\.0\.0\/0/);
      expect(caddyfile).toMatch(
        /@policy_password \{\s+path \/api\/policy\/password\*\s+\}\s+respond @policy_password 404/,
      );
    }),
  );
});

describe("postgresql-ssl and postgresql-sslmode-verify-full: TLS to the database, verified", () => {
  it(
    "runs PostgreSQL with TLS and its CA, and every client verifies the server against the CA it mounts",
    each((stack) => {
      const services = compose(stack).services;
      expect(services.postgres!.command).toEqual(
        expect.arrayContaining([
          "ssl=on",
          "ssl_ca_file=/etc/postgres-ca/ca.crt",
          "hba_file=/etc/postgres-tls/pg_hba.conf",
        ]),
      );
      expect(files[stack]["postgres/pg_hba.conf"]!.content).toMatch(/^hostssl +all +all +all +scram-sha-256$/m);
      expect(files[stack]["postgres/pg_hba.conf"]!.content).not.toMatch(/^host /m);
      const dsnFiles = Object.entries(files[stack]).filter(([path]) => /^secrets\/PG_[A-Z_]+_DSN$/.test(path));
      expect(dsnFiles.length).toBeGreaterThanOrEqual(6);
      for (const [path, file] of dsnFiles)
        expect(file.content, path).toContain("sslmode=verify-full&sslrootcert=/etc/postgres-ca/ca.crt");
      let databaseClients = 0;
      for (const [service, definition] of Object.entries(services)) {
        const usesDatabase = (definition.secrets ?? []).some((secret) => /_dsn$/.test(secret.source));
        if (usesDatabase) databaseClients++;
        if (usesDatabase) expect(definition.volumes, service).toContain("./postgres-ca:/etc/postgres-ca:ro");
      }
      // The four Ory servers, their four migrations, the exporter and the backup service at least.
      expect(databaseClients).toBeGreaterThanOrEqual(9);
    }),
  );
});

describe("sha-digest-tag: rollback by an immutable tag", () => {
  it(
    "documents the rollback next to Caddy in the deployed compose file",
    each((stack) => {
      expect(files[stack]["compose.yml"]!.content).toMatch(
        /# The only service published beyond loopback\. Rollback:[\s\S]*sha-<commit>/,
      );
      expect(serviceImages.caddy.tag).toMatch(/^sha-[0-9a-f]{40}$/);
    }),
  );
});
