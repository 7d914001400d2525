#!/usr/bin/env bash
# The backup service: a full backup of PostgreSQL every day at FULL_BACKUP_AT (UTC), and at once when the
# newest one is more than a day old (a host that was down or asleep catches up). pgBackRest expires the
# backups beyond the retention after each one. Runs as PostgreSQL's user, in PostgreSQL's image, beside it.
set -uo pipefail

stanza="${BACKUP_STANZA:?BACKUP_STANZA must be set}"
at="${FULL_BACKUP_AT:?FULL_BACKUP_AT must be set}"
check_every=300
trap 'exit 0' TERM INT

log() { printf '%s [backup] %s\n' "$(date -u +%FT%TZ)" "$*"; }

# When the newest backup finished, in epoch seconds (0 for none). pgBackRest's JSON lists backups oldest
# first, each with "timestamp":{"start":N,"stop":N}; an LSN's "stop" is a quoted string, never matched.
newest_backup() {
  local info
  info="$(pgbackrest --stanza="$stanza" --output=json info)" || return 1
  grep -o '"stop":[0-9]*' <<<"$info" | tail -n 1 | cut -d: -f2 | grep . || echo 0
}

# Due when the newest backup is a day old, or today's scheduled time has passed since it was taken.
due() {
  local newest="$1" now scheduled
  now="$(date -u +%s)"
  scheduled="$(date -u -d "$(date -u +%Y-%m-%d) $at" +%s)"
  ((now - newest >= 86400 || (now >= scheduled && newest < scheduled)))
}

log "full backups of $stanza daily at $at UTC"
while true; do
  if ! newest="$(newest_backup)"; then
    log "the repository cannot be read; trying again in $((check_every / 60)) minutes"
  elif due "$newest"; then
    log "full backup"
    if pgbackrest --stanza="$stanza" --type=full backup; then
      log "full backup done"
    else
      log "full backup failed; trying again in $((check_every / 60)) minutes"
    fi
  fi
  sleep "$check_every" &
  wait $!
done
