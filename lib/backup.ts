import type { Environment } from "./config/schema";

/**
 * How PostgreSQL is backed up, the same in every environment (npm run parity shows it): pgBackRest
 * archives every WAL segment and takes a full backup every day into the environment's own S3
 * repository, encrypted on the client before anything leaves the host. Only where the repository is
 * (endpoint, bucket, credentials) differs between environments.
 */
export const backupPolicy = {
  /** A full backup every day at this time (UTC); a host that missed one catches up when it starts. */
  fullBackupAt: "02:15",
  /** Full backups kept (one a day), so point-in-time restore reaches back this many days. */
  retentionFull: 14,
  /**
   * PostgreSQL's archive_timeout: a WAL segment with committed writes is archived at least this often,
   * which bounds what a lost volume costs (RPO).
   */
  archiveTimeoutSeconds: 60,
  /** Client-side encryption of everything in the repository, with a passphrase per environment. */
  cipher: "aes-256-cbc",
  compression: "zst",
  /**
   * WAL waiting for an unreachable repository is kept on the volume up to this size; beyond it
   * pgBackRest acknowledges and drops it (and says so in PostgreSQL's log) rather than fill the disk and
   * stop the database. The archiving alert fires long before: at one 16 MiB segment a minute that is
   * more than four hours of writes.
   */
  archiveQueueMax: "4GiB",
} as const;

/** Where the backup service and PostgreSQL find pgBackRest's configuration (a mounted directory). */
export const pgbackrestDir = "/etc/pgbackrest";

/** The stanza names the environment, so a repository says whose data it holds. */
export const stanza = (environment: Environment) => `olympus-${environment}`;

/** Where the repository is: the one part of the backup configuration that differs between environments. */
export interface BackupRepository {
  /** S3 endpoint, e.g. https://fsn1.your-objectstorage.com (Hetzner Object Storage). */
  endpoint: string;
  region: string;
  bucket: string;
  /** The CA (PEM) the repository's certificate chains to, when it is not a public one (the dev tier's). */
  ca: string | null;
}

/** The official image's data directory for a major version (PGDATA). */
export const postgresDataDir = (major: number) => `/var/lib/postgresql/${major}/docker`;

/** PostgreSQL's major version from an image tag (18.1-alpine, 18-debian): its data directory is per major. */
export function postgresMajor(tag: string): number {
  const major = /^(\d+)/.exec(tag)?.[1];
  if (!major) throw new Error(`cannot tell PostgreSQL's major version from the image tag ${tag}`);
  return Number(major);
}
