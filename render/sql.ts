import { databases, type Role, roles } from "../lib/database";
import { identityDomains } from "../lib/topology";

const identifier = (name: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a safe SQL identifier: ${name}`);
  return name;
};
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** Runs once, when PostgreSQL initialises an empty data directory. */
export function renderInitDb(): string {
  return [
    "-- Runs on PostgreSQL's first start only (docker-entrypoint-initdb.d, empty data directory).",
    ...databases.map((database) => `CREATE DATABASE ${identifier(database)};`),
    "",
  ].join("\n");
}

/** The Olympus SDK's settings table (see @olympusoss/sdk settings.ts), created if the SDK has not yet. */
const settingsTable = (table: string) =>
  `CREATE TABLE IF NOT EXISTS ${identifier(table)} (key TEXT PRIMARY KEY, value TEXT NOT NULL, encrypted BOOLEAN NOT NULL DEFAULT FALSE, category TEXT NOT NULL DEFAULT 'general', updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW());`;

/**
 * Upserts settings into both domains' SDK settings tables in the `olympus` database. Run on every
 * deploy, so the database always holds what the stack config says.
 */
export function renderSettingsSql(settings: Record<string, string | number | boolean>, category: string): string {
  const lines = ["BEGIN;"];
  for (const domain of identityDomains) {
    const table = `${domain}_settings`;
    lines.push(settingsTable(table));
    for (const [key, value] of Object.entries(settings)) {
      lines.push(
        `INSERT INTO ${identifier(table)} (key, value, encrypted, category, updated_at) VALUES (${literal(key)}, ${literal(String(value))}, FALSE, ${literal(category)}, NOW()) ` +
          `ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, category = EXCLUDED.category, updated_at = NOW();`,
      );
    }
  }
  lines.push("COMMIT;", "");
  return lines.join("\n");
}

/**
 * Every login role with its password and grants, run by the deploy after PostgreSQL is healthy: creates
 * a role that is new, and sets the password and grants of every one, so a rotated password or a role
 * added to lib/database.ts reaches a cluster that exists. Read from stdin by psql, never from argv.
 */
export function renderRoles(passwords: Record<Role, string>): string {
  const lines = ["BEGIN;"];
  for (const [role, { grants }] of Object.entries(roles) as [Role, (typeof roles)[Role]][]) {
    const name = identifier(role);
    lines.push(
      `SELECT 'CREATE ROLE ${name}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${literal(role)}) \\gexec`,
      `ALTER ROLE ${name} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${literal(passwords[role])};`,
      ...grants.map((grant) => `GRANT ${identifier(grant)} TO ${name};`),
    );
  }
  lines.push("COMMIT;", "");
  return lines.join("\n");
}

/**
 * PostgreSQL's client authentication: the container's own socket (health check, the deploy step's psql)
 * is trusted as in the official image; over the network only TLS with a password is accepted.
 */
export function renderPgHba(): string {
  return [
    "# TYPE   DATABASE USER ADDRESS METHOD",
    "local    all      all          trust",
    "hostssl  all      all  all     scram-sha-256",
    "",
  ].join("\n");
}
