#!/usr/bin/env bash
# Runs on the host as the deploy user, from the compose project directory. Every step is idempotent,
# so a deploy that fails half-way converges when it is run again.
#   olympus-deploy.sh prepare   wait for cloud-init and the data volume, sync authorized keys
#   olympus-deploy.sh install-config|install-secrets
#                               unpack rendered files read from stdin (path<TAB>mode<TAB>base64 per line)
#   olympus-deploy.sh up        start the phases in order, each one healthy before the next
#   olympus-deploy.sh down      stop and remove the compose project (data volumes stay)
set -euo pipefail

# Before `install` the script arrives inline (bash -c), so the directory can come from the environment.
project_dir="${OLYMPUS_PROJECT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
data_dir="$(dirname "$project_dir")"
health_timeout="${OLYMPUS_HEALTH_TIMEOUT:-300}"
compose=(sudo podman compose --project-name olympus --file "$project_dir/compose.yml" --env-file "$project_dir/.env")

log() { printf '[olympus-deploy] %s\n' "$*" >&2; }

prepare() {
  if command -v cloud-init >/dev/null; then
    log "waiting for cloud-init"
    sudo cloud-init status --wait >/dev/null || true
  fi
  local device
  device="$(awk -v dir="$data_dir" '$2 == dir { print $1 }' /etc/fstab)"
  if [[ -n "$device" ]]; then
    log "waiting for the data volume $device"
    for _ in $(seq 1 60); do [[ -e "$device" ]] && break; sleep 2; done
    mountpoint -q "$data_dir" || sudo mount "$data_dir"
  fi
  sudo mkdir -p "$data_dir/volumes/postgres" "$data_dir/volumes/caddy_data" "$data_dir/volumes/caddy_config" "$project_dir"
  sudo chown "$(id -un):$(id -gn)" "$project_dir"
}

install_files() {
  local staging
  staging="$(mktemp -d "$project_dir/.incoming.XXXXXX")"
  trap 'rm -rf "$staging"' RETURN
  while IFS=$'\t' read -r path mode content; do
    [[ -z "$path" ]] && continue
    if [[ "$path" == /* || "$path" == *..* ]]; then log "refusing path $path"; return 1; fi
    mkdir -p "$staging/$(dirname "$path")"
    printf '%s' "$content" | base64 -d > "$staging/$path"
    chmod "$mode" "$staging/$path"
  done
  (cd "$staging" && find . -type f -print0) | while IFS= read -r -d '' file; do
    mkdir -p "$project_dir/$(dirname "$file")"
    mv -f "$staging/$file" "$project_dir/$file"
  done
  # PostgreSQL refuses a key that is not private to its own user (uid 70 in the alpine image).
  if [[ -f "$project_dir/postgres/server.key" ]]; then
    sudo chown 70:70 "$project_dir/postgres/server.key"
    sudo chmod 600 "$project_dir/postgres/server.key"
  fi
  # Key rotation without rebuilding the server: the deploy user's keys follow the stack config.
  if [[ -f "$project_dir/authorized_keys" ]]; then
    install -D -m 600 "$project_dir/authorized_keys" "$HOME/.ssh/authorized_keys"
  fi
  log "installed $(find "$project_dir" -type f -not -path '*/.incoming*' | wc -l) files"
}

container_of() {
  sudo podman ps --all --filter "label=com.docker.compose.project=olympus" \
    --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -n 1
}

wait_healthy() {
  local deadline=$((SECONDS + health_timeout)) service container status
  for service in "$@"; do
    while true; do
      container="$(container_of "$service")"
      status="missing"
      if [[ -n "$container" ]]; then
        status="$(sudo podman inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$container")"
      fi
      case "$status" in
        healthy | running) break ;;
      esac
      if ((SECONDS >= deadline)); then
        log "$service is $status after ${health_timeout}s; its last log lines:"
        if [[ -n "$container" ]]; then sudo podman logs --tail 40 "$container" >&2 || true; fi
        return 1
      fi
      sleep 3
    done
    log "$service is $status"
  done
}

phase() { jq -r --arg phase "$1" '.[$phase][]' "$project_dir/phases.json"; }

up() {
  mapfile -t database < <(phase database)
  mapfile -t migrations < <(phase migrations)
  mapfile -t ory < <(phase ory)
  mapfile -t apps < <(phase apps)
  mapfile -t extras < <(phase extras)
  mapfile -t edge < <(phase edge)

  "${compose[@]}" up -d "${database[@]}"
  wait_healthy "${database[@]}"
  for migration in "${migrations[@]}"; do
    log "running $migration"
    "${compose[@]}" --profile migrations run --rm "$migration"
  done
  "${compose[@]}" up -d "${ory[@]}"
  wait_healthy "${ory[@]}"
  log "applying Olympus SDK settings"
  # The deploy user owns the file, so the redirect needs no root; only podman does.
  # shellcheck disable=SC2024
  sudo podman exec -i "$(container_of postgres)" psql --quiet -v ON_ERROR_STOP=1 -U olympus -d olympus < "$project_dir/olympus-settings.sql"
  "${compose[@]}" up -d "${apps[@]}" "${extras[@]}"
  wait_healthy "${apps[@]}" "${extras[@]}"
  "${compose[@]}" up -d "${edge[@]}"
  wait_healthy "${edge[@]}"
  log "all services are up"
}

down() {
  if [[ ! -f "$project_dir/compose.yml" ]] || ! command -v podman >/dev/null; then
    log "no compose project here: nothing to stop"
    return 0
  fi
  "${compose[@]}" down --remove-orphans
}

case "${1:-}" in
  prepare) prepare ;;
  install-config | install-secrets) install_files ;;
  up) up ;;
  down) down ;;
  *) echo "usage: $0 prepare|install-config|install-secrets|up|down" >&2; exit 2 ;;
esac
