#!/usr/bin/env bash
# The backup service: a full backup of PostgreSQL every day at FULL_BACKUP_AT (UTC), and at once when the
# newest one is more than a day old (a host that was down or asleep catches up). pgBackRest expires the
# backups beyond the retention after each one. Runs as PostgreSQL's user, in PostgreSQL's image, beside it.
# It also writes what it sees for node_exporter's textfile collector (lib/monitoring.ts names the metrics):
#   BACKUP_METRICS  the newest full backup and whether the repository answered, every five minutes;
#   WAL_METRICS     how long the oldest finished WAL segment has waited for the repository, every 30 s,
#                   from PostgreSQL itself, so it keeps counting while the repository does not answer.
set -uo pipefail

stanza="${BACKUP_STANZA:?BACKUP_STANZA must be set}"
at="${FULL_BACKUP_AT:?FULL_BACKUP_AT must be set}"
: "${BACKUP_METRICS:?BACKUP_METRICS must be set}" "${WAL_METRICS:?WAL_METRICS must be set}"
check_every=300
lag_every=30
# A repository that does not answer must not stall the service: each look at it gives up after this.
repository_timeout=120
trap 'trap - TERM INT; kill 0; exit 0' TERM INT

log() { printf '%s [backup] %s\n' "$(date -u +%FT%TZ)" "$*"; }

# Replaces a textfile whole, so a scrape never sees half of it: one gauge per "name help value" line.
write_metrics() {
  local file="$1" name help value
  shift
  for line in "$@"; do
    read -r name value help <<<"$line"
    printf '# HELP %s %s\n# TYPE %s gauge\n%s %s\n' "$name" "$help" "$name" "$name" "$value"
  done >"$file.tmp"
  mv -f "$file.tmp" "$file"
}

# Seconds the oldest WAL segment marked ready has waited to be archived (0 when none waits).
wal_lag_loop() {
  local lag
  while true; do
    if lag="$(psql -X -Atq -d postgres -c \
      "select coalesce(extract(epoch from now() - min(modification))::bigint, 0) from pg_ls_archive_statusdir() where name like '%.ready'")"; then
      write_metrics "$WAL_METRICS" "$METRIC_ARCHIVE_LAG $lag Seconds the oldest finished WAL segment has waited for the repository."
    fi
    sleep "$lag_every"
  done
}

# When the newest backup finished, in epoch seconds (0 for none). pgBackRest's JSON lists backups oldest
# first, each with "timestamp":{"start":N,"stop":N}; an LSN's "stop" is a quoted string, never matched.
newest_backup() {
  local info
  info="$(timeout "$repository_timeout" pgbackrest --stanza="$stanza" --output=json info)" || return 1
  grep -o '"stop":[0-9]*' <<<"$info" | tail -n 1 | cut -d: -f2 | grep . || echo 0
}

# Due when the newest backup is a day old, or today's scheduled time has passed since it was taken.
due() {
  local newest="$1" now scheduled
  now="$(date -u +%s)"
  scheduled="$(date -u -d "$(date -u +%Y-%m-%d) $at" +%s)"
  ((now - newest >= 86400 || (now >= scheduled && newest < scheduled)))
}

backup_metrics() {
  write_metrics "$BACKUP_METRICS" \
    "$METRIC_LAST_FULL $1 When the newest full backup finished, in seconds since the epoch (0: none)." \
    "$METRIC_REPOSITORY_UP $2 Whether the repository answered the backup service's last look."
}

log "full backups of $stanza daily at $at UTC"
wal_lag_loop &
# The newest backup last seen: an unreadable repository says nothing new about it.
newest=0
while true; do
  if ! seen="$(newest_backup)"; then
    log "the repository cannot be read; trying again in $((check_every / 60)) minutes"
    backup_metrics "$newest" 0
  else
    newest="$seen"
    if due "$newest"; then
      log "full backup"
      if pgbackrest --stanza="$stanza" --type=full backup; then
        log "full backup done"
        newest="$(newest_backup)" || newest="$seen"
      else
        log "full backup failed; trying again in $((check_every / 60)) minutes"
      fi
    fi
    backup_metrics "$newest" 1
  fi
  sleep "$check_every" &
  wait $!
done
