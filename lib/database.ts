/** PostgreSQL as every service and the deploy script reach it. */
export const postgres = {
  /** The compose service and the hostname clients dial (the server certificate's name). */
  service: "postgres",
  port: 5432,
  /** The cluster's superuser, created from POSTGRES_USER on first start. */
  user: "olympus",
  /** The official image's postgres user: the server key must belong to it, mode 600. */
  uid: 70,
  /** Its socket directory, shared with the backup service (a scratch volume): pgBackRest and psql talk through it. */
  socketDir: "/var/run/postgresql",
  /**
   * The directory every client (and the server) mounts with the CA in it, and the CA's path there
   * (sslmode=verify-full). A directory, not the file: a renewed or rotated CA replaces the file, which a
   * single-file mount would hide from the running containers.
   */
  caDirectory: { project: "postgres-ca", container: "/etc/postgres-ca" },
  caPath: "/etc/postgres-ca/ca.crt",
} as const;

/** The databases the init SQL creates on first start, one per Ory service plus Olympus's own. */
export const databases = ["ciam_kratos", "ciam_hydra", "iam_kratos", "iam_hydra", "olympus"] as const;
export type Database = (typeof databases)[number];

/**
 * Login roles besides the cluster's superuser, each granted only what its reader needs: every service
 * signs in as the role that owns its own database (and can open no other), the exporter as a pg_monitor
 * member. The deploy creates them, sets their passwords and hands each its database on every run
 * (render/sql.ts renderRoles), so a role added here reaches clusters that already exist.
 */
export const roles = {
  ciam_kratos: { owns: "ciam_kratos", grants: [] },
  ciam_hydra: { owns: "ciam_hydra", grants: [] },
  iam_kratos: { owns: "iam_kratos", grants: [] },
  iam_hydra: { owns: "iam_hydra", grants: [] },
  /** Hera and Athena: the Olympus SDK's settings tables. */
  olympus_apps: { owns: "olympus", grants: [] },
  /** postgres_exporter: pg_monitor reads the statistics views (pg_stat_archiver among them) and nothing else. */
  olympus_monitoring: { owns: null, grants: ["pg_monitor"] },
} as const satisfies Record<string, { owns: Database | null; grants: string[] }>;
export type Role = keyof typeof roles;
export const roleNames = Object.keys(roles) as Role[];

/** The role that owns a database (and is the only one, besides the superuser, that may open it). */
export function ownerOf(database: Database): Role {
  const owner = roleNames.find((role) => roles[role].owns === database);
  if (!owner) throw new Error(`no role owns the database ${database} (lib/database.ts roles)`);
  return owner;
}

export function postgresDsn(password: string, database: Database | "postgres", user: string = postgres.user): string {
  return `postgres://${user}:${encodeURIComponent(password)}@${postgres.service}:${postgres.port}/${database}?sslmode=verify-full&sslrootcert=${postgres.caPath}`;
}

/** Olympus's own database: the SDK's settings tables, read by Hera and Athena. */
export const olympusDatabase: Database = "olympus";
