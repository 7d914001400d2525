import { internalUrl } from "../lib/services";

/**
 * pgAdmin's config_local.py: sign-in through IAM Hydra only, for accounts an administrator created
 * beforehand and whose ID token carries the `dba` role. Settings are Python literals written from
 * typed values (JSON strings and booleans map onto Python's), not a template.
 */
export interface PgadminConfigInput {
  /** IAM Hydra's public URL, where the operator's browser is sent to sign in. */
  iamHydraPublicUrl: string;
}

const python = (value: string | number | boolean | string[]): string =>
  typeof value === "boolean"
    ? value
      ? "True"
      : "False"
    : Array.isArray(value)
      ? `[${value.map(python).join(", ")}]`
      : JSON.stringify(value);

export function renderPgadminConfig(input: PgadminConfigInput): string {
  const iamHydra = internalUrl("iam-hydra", "public");
  const oauth = {
    OAUTH2_NAME: "olympus",
    OAUTH2_DISPLAY_NAME: "Olympus",
    OAUTH2_TOKEN_URL: `${iamHydra}/oauth2/token`,
    OAUTH2_AUTHORIZATION_URL: `${input.iamHydraPublicUrl}/oauth2/auth`,
    OAUTH2_SERVER_METADATA_URL: `${iamHydra}/.well-known/openid-configuration`,
    OAUTH2_API_BASE_URL: `${iamHydra}/`,
    OAUTH2_USERINFO_ENDPOINT: "userinfo",
    OAUTH2_SCOPE: "openid email profile",
  };
  return [
    "# Rendered by olympus-infra. pgAdmin signs in through IAM Hydra only.",
    "import os",
    "",
    `AUTHENTICATION_SOURCES = ${python(["oauth2"])}`,
    "# Only accounts an administrator created may sign in: an IAM identity never becomes a database admin by itself.",
    `OAUTH2_AUTO_CREATE_USER = ${python(false)}`,
    "# And only with the dba role in the ID token; an absent claim denies access.",
    "OAUTH2_ADDITIONAL_CLAIMS_VALIDATION = {'roles': lambda roles: 'dba' in (roles or [])}",
    "# SESSION_EXPIRATION_TIME counts days (1 is its least); the 60-minute limit is the inactivity timeout, in seconds.",
    `SESSION_EXPIRATION_TIME = ${python(1)}`,
    `USER_INACTIVITY_TIMEOUT = ${python(3600)}`,
    "OAUTH2_CONFIG = [{",
    ...Object.entries(oauth).map(([key, value]) => `    ${python(key)}: ${python(value)},`),
    "    'OAUTH2_CLIENT_ID': os.environ['PGADMIN_OAUTH_CLIENT_ID'],",
    "    'OAUTH2_CLIENT_SECRET': os.environ['PGADMIN_OAUTH_CLIENT_SECRET'],",
    "}]",
    "",
  ].join("\n");
}
