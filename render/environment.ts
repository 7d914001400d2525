import type { PostgresTls } from "../lib/postgresTls";
import { type IdentityDomain, identityDomains } from "../lib/topology";

/** Every secret the services need, one set per stack, never shared (formats from Olympus's docs). */
export interface DeploymentSecrets {
  postgresPassword: string;
  ory: Record<
    IdentityDomain,
    { kratosCookie: string; kratosCipher: string; hydraSystem: string; hydraPairwiseSalt: string }
  >;
  /** base64 of 32 random bytes. */
  encryptionKey: string;
  /** base64 of 32 random bytes, different from encryptionKey. */
  sessionSigningKey: string;
  oauthClients: { athenaCiam: string; athenaIam: string; siteCiam: string; siteIam: string; pgadmin: string };
  adminPassword: string;
  smtpUri: string;
  captchaSecretKey: string;
  /** Only where synthetic users exist (login simulation). */
  syntheticPassword?: string;
  postgresTls: PostgresTls;
}

export const postgresUser = "olympus";
export const postgresCaPath = "/etc/postgres-tls/ca.crt";

export function postgresDsn(password: string, database: string): string {
  return `postgres://${postgresUser}:${encodeURIComponent(password)}@postgres:5432/${database}?sslmode=verify-full&sslrootcert=${postgresCaPath}`;
}

const hex64 = /^[0-9a-f]{64}$/;
const base64Of32Bytes = (value: string) =>
  /^[A-Za-z0-9+/]{43}=$/.test(value) && Buffer.from(value, "base64").length === 32;

/** Checks the formats Olympus requires; returns what is wrong, naming the secret but never its value. */
export function secretFormatProblems(secrets: DeploymentSecrets): string[] {
  const problems: string[] = [];
  for (const domain of identityDomains) {
    const ory = secrets.ory[domain];
    if (ory.kratosCipher.length !== 32) problems.push(`${domain} Kratos cipher secret must be exactly 32 characters`);
    if (!hex64.test(ory.kratosCookie)) problems.push(`${domain} Kratos cookie secret must be 32 bytes in hex`);
    if (!hex64.test(ory.hydraSystem)) problems.push(`${domain} Hydra system secret must be 32 bytes in hex`);
    if (!hex64.test(ory.hydraPairwiseSalt)) problems.push(`${domain} Hydra pairwise salt must be 32 bytes in hex`);
  }
  if (!base64Of32Bytes(secrets.encryptionKey)) problems.push("ENCRYPTION_KEY must be base64 of 32 bytes");
  if (!base64Of32Bytes(secrets.sessionSigningKey)) problems.push("SESSION_SIGNING_KEY must be base64 of 32 bytes");
  if (secrets.encryptionKey === secrets.sessionSigningKey)
    problems.push("SESSION_SIGNING_KEY must differ from ENCRYPTION_KEY");
  for (const [name, value] of Object.entries(secrets.oauthClients))
    if (value.length < 32) problems.push(`OAuth client secret ${name} must be at least 32 characters`);
  if (secrets.postgresPassword.length < 24) problems.push("PostgreSQL password must be at least 24 characters");
  return problems;
}

/** The variables compose interpolates into the services (`${NAME:?}` in compose.yml). */
export function environmentVariables(secrets: DeploymentSecrets): Record<string, string> {
  const variables: Record<string, string> = {
    PG_USER: postgresUser,
    PG_PASSWORD: secrets.postgresPassword,
    PG_OLYMPUS_DSN: postgresDsn(secrets.postgresPassword, "olympus"),
    ENCRYPTION_KEY: secrets.encryptionKey,
    SESSION_SIGNING_KEY: secrets.sessionSigningKey,
    ATHENA_CIAM_OAUTH_CLIENT_SECRET: secrets.oauthClients.athenaCiam,
    ATHENA_IAM_OAUTH_CLIENT_SECRET: secrets.oauthClients.athenaIam,
    SITE_CIAM_CLIENT_SECRET: secrets.oauthClients.siteCiam,
    SITE_IAM_CLIENT_SECRET: secrets.oauthClients.siteIam,
    PGADMIN_OAUTH_CLIENT_SECRET: secrets.oauthClients.pgadmin,
    ADMIN_PASSWORD: secrets.adminPassword,
    SMTP_CONNECTION_URI: secrets.smtpUri,
    CIAM_CAPTCHA_SECRET_KEY: secrets.captchaSecretKey,
    IAM_CAPTCHA_SECRET_KEY: secrets.captchaSecretKey,
  };
  for (const domain of identityDomains) {
    const D = domain.toUpperCase();
    const ory = secrets.ory[domain];
    variables[`PG_${D}_KRATOS_DSN`] = postgresDsn(secrets.postgresPassword, `${domain}_kratos`);
    variables[`PG_${D}_HYDRA_DSN`] = postgresDsn(secrets.postgresPassword, `${domain}_hydra`);
    variables[`${D}_KRATOS_SECRET_COOKIE`] = ory.kratosCookie;
    variables[`${D}_KRATOS_SECRET_CIPHER`] = ory.kratosCipher;
    variables[`${D}_HYDRA_SECRET_SYSTEM`] = ory.hydraSystem;
    variables[`${D}_HYDRA_PAIRWISE_SALT`] = ory.hydraPairwiseSalt;
  }
  if (secrets.syntheticPassword !== undefined) variables.SYNTHETIC_PASSWORD = secrets.syntheticPassword;
  return variables;
}

/** A .env file compose reads: values single-quoted so `$`, `#` and spaces stay literal. */
export function renderDotenv(variables: Record<string, string>): string {
  return `${Object.entries(variables)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => {
      if (/[\n']/.test(value))
        throw new Error(`${name} contains a newline or single quote, which .env cannot hold safely`);
      return `${name}='${value}'`;
    })
    .join("\n")}\n`;
}
