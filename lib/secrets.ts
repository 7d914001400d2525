import { createHash, createHmac } from "node:crypto";
import { type Database, ownerOf, postgres, postgresDsn, type Role } from "./database";
import type { PostgresTls } from "./postgresTls";
import { composeProject, type IdentityDomain, identityDomains } from "./topology";

/** Every secret the services need, one set per stack, never shared (formats from Olympus's docs). */
export interface DeploymentSecrets {
  postgresPassword: string;
  ory: Record<
    IdentityDomain,
    {
      kratosCookie: string;
      kratosCipher: string;
      /**
       * Hydra's system secrets, newest first: Hydra encrypts with the first and decrypts with any, so a
       * rotation prepends a new one and keeps the old (its stored keys stay readable).
       */
      hydraSystem: string[];
      hydraPairwiseSalt: string;
    }
  >;
  /** base64 of 32 random bytes. */
  encryptionKey: string;
  /** base64 of 32 random bytes, different from encryptionKey. */
  sessionSigningKey: string;
  /** Each OAuth2 client's secret, by client id (the service catalogue names the clients). */
  oauthClients: Record<string, string>;
  adminPassword: string;
  smtpUri: string;
  captchaSecretKey: string;
  /** Only where synthetic users exist (login simulation). */
  syntheticPassword?: string;
  postgresTls: PostgresTls;
  /** The password of each login role besides the superuser (lib/database.ts roles). */
  rolePasswords: Record<Role, string>;
  /** The backup repository's key pair (stack config) and the passphrase everything in it is encrypted with. */
  backup: { accessKeyId: string; secretAccessKey: string; passphrase: string };
}

/**
 * A variable of the .env file compose interpolates into a service (`${NAME:?}` in compose.yml): its name
 * and where its value comes from. Services name the variables they need; the .env holds exactly those.
 */
export interface SecretVariable {
  name: string;
  /** The value from the stack's secrets; undefined leaves the variable out. */
  value: (secrets: DeploymentSecrets) => string | undefined;
}

const variable = (name: string, value: SecretVariable["value"]): SecretVariable => ({ name, value });

/**
 * The podman secret that carries a variable into the containers that read it (`type=env`): the deploy
 * creates it from the secret bundle's file of the same name, so no value is ever a command's argument.
 */
export const podmanSecret = (variable: string) => `${composeProject}_${variable.toLowerCase()}`;

/** The .env variable that holds the digest of a service's secrets; compose.yml and the Caddyfile read it. */
export const secretsDigestVariable = (service: string) =>
  `OLYMPUS_SECRETS_${service.toUpperCase().replaceAll("-", "_")}`;

/**
 * A keyed digest of a service's secret values (12 hex of an HMAC whose key derives from the never-rotated
 * encryption key): it changes with any of them and says nothing about them, so it can name a release.
 */
export function secretsDigest(encryptionKey: string, values: Record<string, string>): string {
  const key = createHmac("sha256", encryptionKey).update("olympus secrets digest").digest();
  const sorted = Object.entries(values).sort(([a], [b]) => a.localeCompare(b));
  return createHmac("sha256", key).update(JSON.stringify(sorted)).digest("hex").slice(0, 12);
}
const upper = (domain: IdentityDomain) => domain.toUpperCase();

/** The .env variables, each defined once; the service catalogue refers to them. */
export const secretVariables = {
  postgresUser: variable("PG_USER", () => postgres.user),
  postgresPassword: variable("PG_PASSWORD", (secrets) => secrets.postgresPassword),
  /** A database as the role that owns it opens it. */
  dsn: (database: Database) =>
    variable(`PG_${database.toUpperCase()}_DSN`, (secrets) =>
      postgresDsn(secrets.rolePasswords[ownerOf(database)], database, ownerOf(database)),
    ),
  /** The monitoring role's connection, to the maintenance database (it owns none). */
  monitoringDsn: variable("PG_OLYMPUS_MONITORING_DSN", (secrets) =>
    postgresDsn(secrets.rolePasswords.olympus_monitoring, "postgres", "olympus_monitoring"),
  ),
  kratosCookie: (domain: IdentityDomain) =>
    variable(`${upper(domain)}_KRATOS_SECRET_COOKIE`, (secrets) => secrets.ory[domain].kratosCookie),
  kratosCipher: (domain: IdentityDomain) =>
    variable(`${upper(domain)}_KRATOS_SECRET_CIPHER`, (secrets) => secrets.ory[domain].kratosCipher),
  hydraSystem: (domain: IdentityDomain) =>
    // Ory reads a list from the environment comma-separated.
    variable(`${upper(domain)}_HYDRA_SECRET_SYSTEM`, (secrets) => secrets.ory[domain].hydraSystem.join(",")),
  hydraPairwiseSalt: (domain: IdentityDomain) =>
    variable(`${upper(domain)}_HYDRA_PAIRWISE_SALT`, (secrets) => secrets.ory[domain].hydraPairwiseSalt),
  encryptionKey: variable("ENCRYPTION_KEY", (secrets) => secrets.encryptionKey),
  sessionSigningKey: variable("SESSION_SIGNING_KEY", (secrets) => secrets.sessionSigningKey),
  adminPassword: variable("ADMIN_PASSWORD", (secrets) => secrets.adminPassword),
  smtpUri: variable("SMTP_CONNECTION_URI", (secrets) => secrets.smtpUri),
  captchaSecretKey: (domain: IdentityDomain) =>
    variable(`${upper(domain)}_CAPTCHA_SECRET_KEY`, (secrets) => secrets.captchaSecretKey),
  oauthClientSecret: (name: string, clientId: string) => variable(name, (secrets) => secrets.oauthClients[clientId]),
  syntheticPassword: variable("SYNTHETIC_PASSWORD", (secrets) => secrets.syntheticPassword),
  // pgBackRest reads any option from PGBACKREST_<OPTION>: the repository's keys and passphrase never enter a file.
  backupAccessKeyId: variable("PGBACKREST_REPO1_S3_KEY", (secrets) => secrets.backup.accessKeyId),
  backupSecretAccessKey: variable("PGBACKREST_REPO1_S3_KEY_SECRET", (secrets) => secrets.backup.secretAccessKey),
  backupPassphrase: variable("PGBACKREST_REPO1_CIPHER_PASS", (secrets) => secrets.backup.passphrase),
  backupPath: variable("PGBACKREST_REPO1_PATH", (secrets) => backupRepositoryPath(secrets.backup.passphrase)),
};

/**
 * Where a stack's backups live in its bucket: a folder per passphrase. A stack that is destroyed takes its
 * passphrase with it, and what it backed up stays sealed in its folder; a stack built again starts an
 * empty repository instead of facing one it cannot read. (A digest of 12 hex of a 64-character password
 * says nothing about it.)
 */
export function backupRepositoryPath(passphrase: string): string {
  return `/pgbackrest/${createHash("sha256").update(passphrase).digest("hex").slice(0, 12)}`;
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
    if (ory.hydraSystem.length === 0 || !ory.hydraSystem.every((value) => hex64.test(value)))
      problems.push(`${domain} Hydra system secrets must be one or more values of 32 bytes in hex`);
    if (!hex64.test(ory.hydraPairwiseSalt)) problems.push(`${domain} Hydra pairwise salt must be 32 bytes in hex`);
  }
  if (!base64Of32Bytes(secrets.encryptionKey)) problems.push("ENCRYPTION_KEY must be base64 of 32 bytes");
  if (!base64Of32Bytes(secrets.sessionSigningKey)) problems.push("SESSION_SIGNING_KEY must be base64 of 32 bytes");
  if (secrets.encryptionKey === secrets.sessionSigningKey)
    problems.push("SESSION_SIGNING_KEY must differ from ENCRYPTION_KEY");
  for (const [client, value] of Object.entries(secrets.oauthClients))
    if (value.length < 32) problems.push(`OAuth client secret of ${client} must be at least 32 characters`);
  if (secrets.postgresPassword.length < 24) problems.push("PostgreSQL password must be at least 24 characters");
  for (const [role, value] of Object.entries(secrets.rolePasswords))
    if (value.length < 32) problems.push(`the password of the database role ${role} must be at least 32 characters`);
  if (secrets.backup.passphrase.length < 48) problems.push("the backup passphrase must be at least 48 characters");
  return problems;
}
