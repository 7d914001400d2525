import { stringify } from "ini";
import { type BackupRepository, backupPolicy, pgbackrestDir, stanza } from "../lib/backup";
import type { Environment } from "../lib/config/schema";
import { postgres } from "../lib/database";

export interface PgbackrestInput {
  environment: Environment;
  repository: BackupRepository;
}

/**
 * pgBackRest's configuration as a typed object: the repository (S3, path-style, encrypted on the client),
 * retention, asynchronous WAL archiving with its queue limit, and the environment's stanza. The
 * repository's keys, passphrase and the folder of that passphrase are not here: they come from the
 * environment (PGBACKREST_REPO1_*).
 */
export function pgbackrestConfig(input: PgbackrestInput): Record<string, Record<string, string>> {
  const { repository } = input;
  return {
    global: {
      "repo1-type": "s3",
      "repo1-s3-endpoint": new URL(repository.endpoint).hostname,
      "repo1-s3-region": repository.region,
      "repo1-s3-bucket": repository.bucket,
      "repo1-s3-uri-style": "path",
      ...(repository.ca ? { "repo1-storage-ca-file": `${pgbackrestDir}/ca.crt` } : {}),
      "repo1-retention-full": String(backupPolicy.retentionFull),
      "repo1-cipher-type": backupPolicy.cipher,
      // Small files travel together: fewer requests to the object store.
      "repo1-bundle": "y",
      "compress-type": backupPolicy.compression,
      // Synchronous: PostgreSQL runs as PID 1 in its container and counts an orphaned asynchronous
      // archiver's exit as a crash of its own (PostgreSQL 18 restarts every backend then).
      "archive-push-queue-max": backupPolicy.archiveQueueMax,
      "process-max": "2",
      "start-fast": "y",
      delta: "y",
      "log-level-console": "info",
      "log-level-file": "off",
    },
    // The data directory (pg1-path) comes with each container's environment: this file is read on every
    // archive-push, and a release installs it before it replaces any container.
    [stanza(input.environment)]: {
      "pg1-socket-path": postgres.socketDir,
      "pg1-user": postgres.user,
    },
  };
}

export function renderPgbackrestConf(input: PgbackrestInput): string {
  return `# Rendered by olympus-infra: pgBackRest for PostgreSQL's backups (lib/backup.ts).\n${stringify(pgbackrestConfig(input))}`;
}
