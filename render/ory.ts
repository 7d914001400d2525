import { stringify } from "yaml";
import { adminAddress, adminUrl, port } from "../lib/services";
import type { IdentityDomain } from "../lib/topology";
import { identitySchemaFiles } from "./identitySchemas";

/**
 * Kratos and Hydra configuration. Secrets, DSNs, issuer URLs and the courier URI are not in these
 * files: the containers read them from the environment (SECRETS_*, DSN, COURIER_SMTP_CONNECTION_URI),
 * so the files are identical in shape for every stack and safe to print.
 */
export interface OryRenderInput {
  /** Public URL of the domain's Hera (login UI), e.g. https://login.ciam.example.com */
  loginUrl: string;
  /** Other public origins Kratos may redirect back to after a flow. */
  returnUrls: string[];
  /** The address Kratos's courier sends from, e.g. noreply@example.com */
  fromAddress: string;
}

const configDir = (domain: IdentityDomain, service: "kratos" | "hydra") => `/etc/config/${domain}-${service}`;

const serve = (domain: IdentityDomain, publicPort: number, allowCredentials: boolean) => ({
  public: {
    base_url: `http://${domain}-kratos:${publicPort}/`,
    host: "0.0.0.0",
    port: publicPort,
    cors: {
      enabled: true,
      allowed_methods: ["POST", "GET", "PUT", "PATCH", "DELETE"],
      allowed_headers: ["Authorization", "Cookie", "Content-Type", "X-Session-Token"],
      exposed_headers: ["Content-Type", "Set-Cookie"],
      allow_credentials: allowCredentials,
    },
  },
  // The admin API listens on the admin network only (lib/services.ts adminNetwork).
  admin: {
    base_url: `${adminUrl(`${domain}-kratos`)}/`,
    host: adminAddress(`${domain}-kratos`),
    port: port(`${domain}-kratos`, "admin"),
  },
});

const log = { level: "info", format: "json", leak_sensitive_values: false };

const schemas = (domain: IdentityDomain) =>
  Object.entries(identitySchemaFiles[domain]).map(([id, { file }]) => ({
    id,
    url: `file://${configDir(domain, "kratos")}/${file}`,
  }));

const uiUrls = (loginUrl: string) => ({
  error: `${loginUrl}/error`,
  login: `${loginUrl}/login`,
  registration: `${loginUrl}/registration`,
  recovery: `${loginUrl}/recovery`,
  verification: `${loginUrl}/verification`,
  settings: `${loginUrl}/settings`,
});

/** What both Kratos configurations share; each domain adds its methods, flows and hashing. */
function kratosConfig(
  domain: IdentityDomain,
  input: OryRenderInput,
  parts: { allowCredentials: boolean; haveIBeenPwned: boolean; defaultSchema: string },
) {
  return {
    serve: serve(domain, port(`${domain}-kratos`, "public"), parts.allowCredentials),
    selfservice: {
      default_browser_return_url: `${input.loginUrl}/`,
      allowed_return_urls: [input.loginUrl, ...input.returnUrls],
      methods: {
        password: {
          enabled: true,
          config: {
            min_password_length: 8,
            haveibeenpwned_enabled: parts.haveIBeenPwned,
            max_breaches: 0,
            identifier_similarity_check_enabled: true,
          },
        },
      } as Record<string, unknown>,
    },
    log,
    ciphers: { algorithm: "xchacha20-poly1305" },
    identity: { default_schema_id: parts.defaultSchema, schemas: schemas(domain) },
    courier: { smtp: { from_address: input.fromAddress, from_name: "Olympus" } },
  };
}

export function ciamKratosConfig(input: OryRenderInput) {
  const ui = uiUrls(input.loginUrl);
  const base = kratosConfig("ciam", input, { allowCredentials: false, haveIBeenPwned: true, defaultSchema: "default" });
  return {
    ...base,
    selfservice: {
      ...base.selfservice,
      methods: {
        ...base.selfservice.methods,
        totp: { enabled: true, config: { issuer: "Olympus" } },
        lookup_secret: { enabled: true },
        link: { enabled: true },
        code: { enabled: true },
      },
      flows: {
        error: { ui_url: ui.error },
        settings: { ui_url: ui.settings, privileged_session_max_age: "15m", required_aal: "highest_available" },
        recovery: { enabled: true, use: "code", ui_url: ui.recovery },
        verification: { enabled: true, use: "code", ui_url: ui.verification },
        login: { ui_url: ui.login, lifespan: "10m", after: { hooks: [{ hook: "require_verified_address" }] } },
        // No session hook: a new customer is signed in only after verifying the address (require_verified_address).
        registration: { ui_url: ui.registration, lifespan: "10m", after: { password: { hooks: [] } } },
      },
    },
    hashers: { algorithm: "bcrypt", bcrypt: { cost: 12 } },
  };
}

export function iamKratosConfig(input: OryRenderInput) {
  const ui = uiUrls(input.loginUrl);
  const base = kratosConfig("iam", input, { allowCredentials: true, haveIBeenPwned: true, defaultSchema: "admin" });
  return {
    ...base,
    selfservice: {
      ...base.selfservice,
      // Administrators enrol a second factor; authenticator apps show the issuer as "Olympus".
      methods: { ...base.selfservice.methods, totp: { enabled: true, config: { issuer: "Olympus" } } },
      flows: {
        error: { ui_url: ui.error },
        settings: { ui_url: ui.settings, privileged_session_max_age: "15m", required_aal: "highest_available" },
        login: { ui_url: ui.login, lifespan: "10m" },
        registration: { enabled: false, ui_url: ui.registration },
        verification: { enabled: false, ui_url: ui.verification },
        recovery: { enabled: true, use: "code", ui_url: ui.recovery },
      },
    },
    // Upstream's IAM parameters, unchanged so both environments hash like upstream prod.
    hashers: {
      algorithm: "argon2",
      argon2: { parallelism: 4, memory: "256KB", iterations: 3, salt_length: 16, key_length: 32 },
    },
  };
}

export function hydraConfig(domain: IdentityDomain) {
  return {
    serve: {
      public: { host: "0.0.0.0", port: port(`${domain}-hydra`, "public") },
      admin: { host: adminAddress(`${domain}-hydra`), port: port(`${domain}-hydra`, "admin") },
      cookies: { same_site_mode: "Lax" },
    },
    oidc: { subject_identifiers: { supported_types: ["pairwise", "public"] } },
    // Public clients (Athena) hold no secret: an authorization request without code_challenge is refused.
    oauth2: { pkce: { enforced_for_public_clients: true } },
    log,
  };
}

const toYaml = (value: unknown) => stringify(value, { lineWidth: 0 });

export function renderOryConfigs(input: Record<IdentityDomain, OryRenderInput>): Record<string, string> {
  return {
    "ciam-kratos/kratos.yml": toYaml(ciamKratosConfig(input.ciam)),
    "iam-kratos/kratos.yml": toYaml(iamKratosConfig(input.iam)),
    "ciam-hydra/hydra.yml": toYaml(hydraConfig("ciam")),
    "iam-hydra/hydra.yml": toYaml(hydraConfig("iam")),
  };
}
