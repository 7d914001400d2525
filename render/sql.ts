import { databases, olympusDatabase, ownerOf, type Role, roles } from "../lib/database";
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
  // As the database's owner role, so the tables the SDK reads are the apps' own.
  const lines = [`SET ROLE ${identifier(ownerOf(olympusDatabase))};`, "BEGIN;"];
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

/** What in a database's public schema a role must own to migrate it: tables, views, free sequences, types, routines. */
const ownershipTransfer = (role: string) => `DO $$
DECLARE item record;
BEGIN
  FOR item IN
    SELECT c.oid::regclass AS name,
      CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relowner <> '${role}'::regrole
      -- A table's own sequences (serial, identity) follow the table.
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I', item.kind, item.name, '${role}');
  END LOOP;
  FOR item IN
    SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd') AND t.typowner <> '${role}'::regrole
  LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO %I', item.name, '${role}');
  END LOOP;
  FOR item IN
    SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.proowner <> '${role}'::regrole
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', item.name, '${role}');
  END LOOP;
END $$;`;

/**
 * Every login role with its password and grants, run by the deploy after PostgreSQL is healthy and
 * before any migration: creates a role that is new, sets the password and grants of every one, and gives
 * each service role its database (owner, the only one besides the superuser that may connect) and
 * everything in it, so a cluster that began with every service as the superuser changes hands once, and
 * a rotated password or a role added to lib/database.ts reaches a cluster that exists. Read from stdin
 * by psql, never from argv.
 */
export function renderRoles(passwords: Record<Role, string>): string {
  const lines: string[] = [];
  for (const [role, { owns, grants }] of Object.entries(roles) as [Role, (typeof roles)[Role]][]) {
    const name = identifier(role);
    lines.push(
      `SELECT 'CREATE ROLE ${name}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${literal(role)}) \\gexec`,
      `ALTER ROLE ${name} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${literal(passwords[role])};`,
      ...grants.map((grant) => `GRANT ${identifier(grant)} TO ${name};`),
    );
    if (owns === null) continue;
    const database = identifier(owns);
    lines.push(
      `ALTER DATABASE ${database} OWNER TO ${name};`,
      `REVOKE ALL ON DATABASE ${database} FROM PUBLIC;`,
      `\\connect ${database}`,
      `ALTER SCHEMA public OWNER TO ${name};`,
      ownershipTransfer(role),
      "\\connect postgres",
    );
  }
  lines.push("");
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
