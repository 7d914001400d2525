/** PostgreSQL as every service and the deploy script reach it. */
export const postgres = {
  /** The compose service and the hostname clients dial (the server certificate's name). */
  service: "postgres",
  port: 5432,
  /** The cluster's superuser, created from POSTGRES_USER on first start. */
  user: "olympus",
  /** The official image's postgres user: the server key must belong to it, mode 600. */
  uid: 70,
  /** Where every client finds the CA it verifies the server with (sslmode=verify-full). */
  caPath: "/etc/postgres-tls/ca.crt",
} as const;

/** The databases the init SQL creates on first start, one per Ory service plus Olympus's own. */
export const databases = ["ciam_kratos", "ciam_hydra", "iam_kratos", "iam_hydra", "olympus"] as const;
export type Database = (typeof databases)[number];

export function postgresDsn(password: string, database: Database): string {
  return `postgres://${postgres.user}:${encodeURIComponent(password)}@${postgres.service}:${postgres.port}/${database}?sslmode=verify-full&sslrootcert=${postgres.caPath}`;
}

/** Olympus's own database: the SDK's settings tables, read by Hera and Athena. */
export const olympusDatabase: Database = "olympus";
