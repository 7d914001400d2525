#!/usr/bin/env bash
# Runs on the host as the deploy user, from the compose project directory. Every step is idempotent,
# so a deploy that fails half-way converges when it is run again.
#   olympus-deploy.sh prepare   wait for cloud-init and the data volume, install the pinned podman-compose
#   olympus-deploy.sh install-config|install-secrets
#                               unpack rendered files read from stdin (path<TAB>mode<TAB>base64 per line)
#   olympus-deploy.sh up        start the phases in order, each one healthy before the next (the edge right
#                               after the database, so Caddy reloads a new Caddyfile in place before any
#                               service is replaced); a service is recreated only when its image,
#                               environment or mounted configuration changed
#   olympus-deploy.sh down      stop and remove the compose project (data stays); it stays down at boot
#   olympus-deploy.sh boot      what the host runs when it starts (olympus.service): `up` without the
#                               migrations and the restore point (no release is being made), unless
#                               the project was taken down on purpose
#   olympus-deploy.sh edge-ca   print the root certificate of Caddy's internal CA (dev tier)
#   olympus-deploy.sh restore latest|time <ISO time>|point <name>
#                               restore PostgreSQL from the environment's repository: writers stopped
#                               first, the cluster restored, the platform brought back by `up`
#   olympus-deploy.sh backups   the repository's backups and PostgreSQL's archiver, as JSON
# What to start, in which order, and the names of things come from deploy.json, which the program
# renders (render/deployment.ts DeployPlan); this script keeps only the mechanics.
# Compose's own output goes to a log on the host, never to this script's output: it can name values
# from .env, and this output is recorded by Pulumi.
set -euo pipefail

# Before `install` the script arrives inline (bash -c), so the directory can come from the environment.
project_dir="${OLYMPUS_PROJECT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
data_dir="$(dirname "$project_dir")"
log_dir="$data_dir/logs"
health_timeout="${OLYMPUS_HEALTH_TIMEOUT:-300}"
# A container the restart policy has restarted this often, and that is not up, is in a crash loop.
crash_loop_restarts=2
# One compose implementation and version on every host (Ubuntu's and Debian's packages are too old for
# --profile and --env-file), installed into its own virtual environment with its dependencies pinned.
compose_requirements=(podman-compose==1.6.0 python-dotenv==1.2.4 PyYAML==6.0.4)
compose_venv=/opt/olympus/podman-compose

as_root=()
[[ "$(id -u)" -eq 0 ]] || as_root=(sudo)
podman=("${as_root[@]}" podman)
plan_file="$project_dir/deploy.json"
# Written by `down`, removed by `up`: a project taken down on purpose (a sleeping stack) stays down at boot.
down_marker="$project_dir/.down"
booting=0
plan() { jq -r "$1" "$plan_file"; }
compose() {
  "${as_root[@]}" "$compose_venv/bin/podman-compose" --project-name "$(plan .project)" \
    --file "$project_dir/compose.yml" --env-file "$project_dir/.env" "$@"
}

log() { printf '[olympus-deploy] %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

deploy_log() { printf '%s/deploy-%s.log' "$log_dir" "$(date -u +%Y%m%d)"; }

# Runs compose with its output appended to the deploy log; on failure, says where to look.
quietly() {
  local log_file
  log_file="$(deploy_log)"
  printf '\n== %s %s\n' "$(date -u +%FT%TZ)" "$*" >> "$log_file"
  if ! "$@" >> "$log_file" 2>&1; then
    fail "failed: ${*: -1}; compose's output is in $log_file on the host"
  fi
}

prepare() {
  # Only where cloud-init provisioned this machine (a Hetzner server); elsewhere it never runs.
  if [[ -d /var/lib/cloud/instance ]] && command -v cloud-init >/dev/null; then
    log "waiting for cloud-init"
    "${as_root[@]}" cloud-init status --wait >/dev/null || true
  fi
  local device
  device="$(awk -v dir="$data_dir" '$2 == dir { print $1 }' /etc/fstab)"
  if [[ -n "$device" ]]; then
    log "waiting for the data volume $device"
    for _ in $(seq 1 60); do [[ -e "$device" ]] && break; sleep 2; done
    mountpoint -q "$data_dir" || "${as_root[@]}" mount "$data_dir"
  fi
  "${as_root[@]}" mkdir -p "$project_dir" "$log_dir"
  "${as_root[@]}" chown "$(id -un):$(id -gn)" "$project_dir" "$log_dir"
  chmod 700 "$log_dir"
  command -v podman >/dev/null || fail "podman is not installed on this host"
  if [[ "$("$compose_venv/bin/podman-compose" --version 2>/dev/null | head -n 1)" != "podman-compose version ${compose_requirements[0]#*==}" ]]; then
    log "installing ${compose_requirements[*]}"
    "${as_root[@]}" python3 -m venv "$compose_venv"
    quietly "${as_root[@]}" "$compose_venv/bin/pip" install --quiet "${compose_requirements[@]}"
  fi
}

# PostgreSQL's certificate and CA as installed (none yet on a first deploy).
certificates_digest() {
  { cat "$project_dir/postgres/server.crt" "$project_dir/postgres-ca/ca.crt" 2>/dev/null || true; } | sha256sum
}

# Installs one bundle (config or secrets): its files replace those of the same path, and files the
# previous bundle of that kind installed but this one no longer has are removed.
install_files() {
  local kind="$1" staging manifest="$project_dir/.installed-$1" path mode content
  # The staging copy holds secrets: removed on every way out, a failure (errexit) included.
  staging="$(mktemp -d "$project_dir/.incoming.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$staging'" EXIT
  while IFS=$'\t' read -r path mode content; do
    [[ -z "$path" ]] && continue
    if [[ "$path" == /* || "$path" == *..* || "$path" == .installed-* ]]; then log "refusing path $path"; return 1; fi
    mkdir -p "$staging/$(dirname "$path")"
    printf '%s' "$content" | base64 -d > "$staging/$path"
    chmod "$mode" "$staging/$path"
  done
  local -a dropped=()
  if [[ -f "$manifest" ]]; then
    while IFS= read -r path; do
      [[ -n "$path" && ! -e "$staging/$path" ]] && dropped+=("$path")
    done <"$manifest"
  fi
  (cd "$staging" && find . -type f | sed 's|^\./||' | sort) >"$manifest.new"
  local certificates_before
  certificates_before="$(certificates_digest)"
  (cd "$staging" && find . -type f -print0) | while IFS= read -r -d '' file; do
    mkdir -p "$project_dir/$(dirname "$file")"
    mv -f "$staging/$file" "$project_dir/$file"
  done
  for path in "${dropped[@]}"; do
    "${as_root[@]}" rm -f "$project_dir/$path"
    log "removed $path, which the release no longer has"
  done
  mv -f "$manifest.new" "$manifest"
  # Private files belong to the one uid that reads them (PostgreSQL refuses a key that is not its own).
  local private_files private owner
  mapfile -t private_files < <(plan '.privateFiles | to_entries[] | "\(.value) \(.key)"')
  for private in "${private_files[@]}"; do
    owner="${private%% *}"
    if [[ -f "$project_dir/${private#* }" ]]; then
      "${as_root[@]}" chown "$owner:$owner" "$project_dir/${private#* }"
      "${as_root[@]}" chmod 600 "$project_dir/${private#* }"
    fi
  done
  # A renewed or rotated certificate: clients read the CA from its directory on their next connection, so
  # PostgreSQL serves the matching certificate at once rather than at the release's database phase.
  if [[ "$(certificates_digest)" != "$certificates_before" ]] &&
    [[ -f "$plan_file" && "$(postgres_state)" == healthy ]]; then
    psql_as_owner -d postgres -Atc "select pg_reload_conf()" >/dev/null
    log "PostgreSQL serves the new certificate"
  fi
  # Key rotation without rebuilding the server: the deploy user's keys follow the stack config.
  if [[ -f "$project_dir/authorized_keys" ]]; then
    install -D -m 600 "$project_dir/authorized_keys" "$HOME/.ssh/authorized_keys"
  fi
  log "installed $(wc -l <"$manifest") $kind files"
  # What this installation is, on stdout (Pulumi records it): the start step reruns after every new
  # installation, so a release that failed and was then taken back is started again, not skipped as
  # unchanged (its inputs match the last release that succeeded).
  printf 'installation %s\n' "$(date -u +%Y%m%dT%H%M%S.%NZ)"
}

container_of() {
  "${podman[@]}" ps --all --filter "label=com.docker.compose.project=$(plan .project)" \
    --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -n 1
}

# One service's state: healthy, running (it has no health check), starting, exited, crashing or missing.
# The health check is run here: hosts without systemd (the dev tier) never schedule it themselves.
service_state() {
  local container="$1" status
  if [[ -z "$container" ]]; then echo missing; return; fi
  status="$("${podman[@]}" inspect --format '{{.State.Status}} {{.RestartCount}}' "$container")"
  case "$status" in
    running*) ;;
    # Podman reports a container whose process ended as stopped until its cleanup makes it exited; a
    # crash loop under the restart policy can show as either at every look.
    exited* | stopped*) if ((${status#* } >= crash_loop_restarts)); then echo crashing; else echo exited; fi; return ;;
    *) echo "${status% *}"; return ;;
  esac
  if [[ -z "$("${podman[@]}" inspect --format '{{if .Config.Healthcheck}}yes{{end}}' "$container")" ]]; then echo running; return; fi
  if "${podman[@]}" healthcheck run "$container" >/dev/null 2>&1; then echo healthy; else echo starting; fi
}

wait_healthy() {
  local deadline=$((SECONDS + health_timeout)) service container state
  for service in "$@"; do
    while true; do
      container="$(container_of "$service")"
      state="$(service_state "$container")"
      [[ "$state" == healthy || "$state" == running ]] && break
      if [[ "$state" == crashing ]] || ((SECONDS >= deadline)); then
        log "$service is $state after $((SECONDS - deadline + health_timeout))s; its last log lines:"
        if [[ -n "$container" ]]; then "${podman[@]}" logs --tail 40 "$container" >&2 || true; fi
        remove_crash_loops "$@"
        return 1
      fi
      sleep 2
    done
    log "$service is $state"
  done
}

# Removes each of these services' container that is in a crash loop (restarted twice, and not up now):
# it serves nothing, and the restart policy would start it again while compose removes it to replace it
# (compose cannot remove a running container, nor then create its successor under the same name). A
# stop is not enough: podman's cleanup of the last crash may restart it after the stop. The next
# release creates the service afresh.
remove_crash_loops() {
  local service container
  for service in "$@"; do
    container="$(container_of "$service")"
    [[ -n "$container" ]] || continue
    (($("${podman[@]}" inspect --format '{{.RestartCount}}' "$container") >= crash_loop_restarts)) || continue
    case "$(service_state "$container")" in healthy | running) continue ;; esac
    "${podman[@]}" rm --force --time 0 "$container" >/dev/null 2>&1 || true
    log "$service removed, out of its crash loop"
  done
}

# The project's networks as podman describes them (a JSON array; nothing before any exists).
project_networks() {
  "${podman[@]}" network ls --quiet --filter "label=com.docker.compose.project=$(plan .project)" |
    xargs --no-run-if-empty "${podman[@]}" network inspect
}

# Gives each of the project's bridges a fixed MAC address (derived from its gateway address). netavark
# creates a bridge with a random one, which the kernel then replaces with the lowest of its ports' MACs
# as containers come and go: a container that cached the gateway's old MAC sends its DNS queries, and its
# answers to the host (the tunnels to the admin APIs), to a port that is gone, and they are lost until
# its ARP entry expires. Measured on the dev host after restores: Hydra's lookups of `postgres` timing
# out, requests to the admin addresses hanging. A MAC set by hand is never recalculated (hosts whose udev
# gives new bridges a persistent one already keep it; this does not depend on that).
pin_bridge_addresses() {
  local bridge gateway
  while IFS=$'\t' read -r bridge gateway; do
    # A network none of whose containers has started yet has no bridge.
    [[ -e "/sys/class/net/$bridge" && "$(<"/sys/class/net/$bridge/addr_assign_type")" != 3 ]] || continue
    # With arp_notify the kernel announces the new address (a gratuitous ARP), so the containers that
    # cached the old one move to it at once.
    "${as_root[@]}" sysctl --quiet --write "net.ipv4.conf.$bridge.arp_notify=1"
    # shellcheck disable=SC2086 # the gateway's four octets, split on purpose
    "${as_root[@]}" ip link set dev "$bridge" address "$(printf '02:00:%02x:%02x:%02x:%02x' ${gateway//./ })"
  done < <(project_networks | jq -r '.[] | "\(.network_interface)\t\(.subnets[0].gateway)"')
}

# A recreated container can come back at an address its predecessor had (an admin network's fixed
# address, or an intranet address podman hands out again) with a new MAC, which netavark announces to
# no one: the host and the other containers keep sending to the old MAC while their entry stays
# "reachable", up to a minute (the host's tunnels to an admin API and Caddy's dials time out). So the
# host's bridges and every container of the project forget the addresses of the services just started,
# and their next packet asks again. A container that exits meanwhile has nothing left to forget.
forget_stale_neighbours() {
  local service started=() others flushes bridge pid
  for service; do started+=("$(container_of "$service")"); done
  flushes="$("${podman[@]}" inspect --format '{{range .NetworkSettings.Networks}}neigh flush to {{.IPAddress}}{{"\n"}}{{end}}' \
    "${started[@]}" | grep --invert-match ' to $' || true)"
  [[ -n "$flushes" ]] || return 0
  while read -r bridge; do
    "${as_root[@]}" ip -force -batch - <<<"${flushes//neigh flush/neigh flush dev $bridge}" >/dev/null 2>&1 || true
  done < <(project_networks | jq -r '.[].network_interface')
  mapfile -t others < <(project_containers)
  while read -r pid; do
    ((pid > 0)) || continue
    "${as_root[@]}" nsenter --target "$pid" --net ip -force -batch - <<<"$flushes" >/dev/null 2>&1 || true
  done < <("${podman[@]}" inspect --format '{{.State.Pid}}' "${others[@]}")
}

# Starts (or recreates, where something changed) the services, without touching any other.
start() {
  (($# > 0)) || return 0
  remove_crash_loops "$@"
  quietly compose up -d --no-deps "$@"
  pin_bridge_addresses
  forget_stale_neighbours "$@"
  wait_healthy "$@"
}

# Runs each one-shot service of a phase (its compose profile) to completion, in order: the migrations.
run_once() {
  local profile="$1" service
  shift
  for service in "$@"; do
    log "running $service"
    quietly compose --profile "$profile" run --rm "$service"
  done
}

# PostgreSQL's state as service_state says it: missing where the project has no container yet.
postgres_state() { service_state "$(container_of "$(plan .postgres.service)")"; }

# psql as the cluster's owner; notices (a table that already exists) stay out of the deploy's output.
psql_as_owner() {
  "${podman[@]}" exec -i --env "PGOPTIONS=-c client_min_messages=warning" "$(container_of "$(plan .postgres.service)")" \
    psql --quiet -v ON_ERROR_STOP=1 -U "$(plan .postgres.user)" "$@"
}

# pgBackRest where PostgreSQL runs, as its user: the same binary and configuration that archive.
pgbackrest_live() {
  "${podman[@]}" exec --user "$(plan .postgres.uid)" "$(container_of "$(plan .postgres.service)")" \
    pgbackrest --stanza="$(plan .backup.stanza)" "$@"
}

# pgBackRest in a one-off container of the backup service: it works while PostgreSQL is stopped.
pgbackrest_offline() {
  compose run --rm --no-deps -T "$(plan .backup.service)" pgbackrest --stanza="$(plan .backup.stanza)" "$@"
}

# The repository's stanzas and their backups, as pgBackRest's JSON (one line: an array of stanzas). A
# first run of compose on a host also prints the network and volumes it creates: only the JSON counts.
repository_info() {
  local output
  if [[ "$(postgres_state)" == healthy ]]; then
    output="$(pgbackrest_live --output=json info)" || return 1
  else
    output="$(pgbackrest_offline --output=json info 2>>"$(deploy_log)")" || return 1
  fi
  output="$(grep '^\[' <<<"$output" | tail -n 1)"
  jq -e 'type == "array"' <<<"$output" >/dev/null 2>&1 || return 1
  printf '%s\n' "$output"
}

backup_count() { jq '[.[] | .backup | length] | add // 0' <<<"$1"; }

# Never an empty cluster next to data: not beside another major's data directory, not while this
# environment's repository holds backups (a lost volume is restored, not started afresh).
check_data_directory() {
  local major data_dir volume version info
  major="$(plan .postgres.major)"
  data_dir="$(plan .postgres.dataDirectory)"
  volume="$(dirname "$(dirname "$data_dir")")"
  while read -r version; do
    [[ -z "$version" || "$version" == "$major" ]] && continue
    fail "PostgreSQL $version's data is in $volume/$version; this release runs PostgreSQL $major, which would start an empty cluster beside it. Upgrade explicitly (README: Upgrading PostgreSQL), or stage $version's image back"
  done < <("${as_root[@]}" find "$volume" -mindepth 3 -maxdepth 3 -path '*/docker/PG_VERSION' -exec cat {} + 2>/dev/null)
  "${as_root[@]}" test -s "$data_dir/PG_VERSION" && return 0
  info="$(repository_info)" || fail "the data directory is empty and the repository cannot be read, so whether it holds this environment's data is unknown; nothing was started"
  if (($(backup_count "$info") > 0)); then
    fail "the data directory is empty but $(plan .backup.stanza)'s repository holds $(backup_count "$info") backups: restore them (npm run restore -- <stack> --latest) instead of starting an empty cluster; nothing was started"
  fi
  log "a new cluster: the data directory and the repository are both empty"
}

# The stanza, a first backup when there is none, then a named restore point that the archive holds
# before any migration runs: a release whose migration fails is undone by restoring to it.
mark_restore_point() {
  local info point
  pgbackrest_live stanza-create >>"$(deploy_log)" 2>&1 ||
    fail "pgBackRest refused the stanza (its output is in $(deploy_log)); a repository holding another cluster is never written to"
  info="$(pgbackrest_live --output=json info)"
  if (($(backup_count "$info") == 0)); then
    log "taking the first full backup"
    pgbackrest_live --type=full backup >>"$(deploy_log)" 2>&1 || fail "the first full backup failed; its output is in $(deploy_log)"
  fi
  point="release-$(date -u +%Y%m%dT%H%M%SZ)"
  psql_as_owner -d postgres -Atc "select pg_create_restore_point('$point')" >/dev/null
  # check switches to a new WAL segment and waits until it is archived: the point is in the repository.
  pgbackrest_live check >>"$(deploy_log)" 2>&1 ||
    fail "WAL archiving does not reach the repository (output in $(deploy_log)); no migration runs without a restore point"
  log "restore point $point is archived; npm run restore -- <stack> --point $point undoes this release's migrations"
}

# Until PostgreSQL has left recovery (a restore replays WAL, then promotes), or the health timeout.
wait_promoted() {
  local deadline=$((SECONDS + health_timeout))
  until [[ "$(psql_as_owner -d postgres -Atc "select pg_is_in_recovery()")" == f ]]; do
    ((SECONDS < deadline)) || fail "PostgreSQL is still recovering after ${health_timeout}s; nothing was written"
    sleep 1
  done
}

# Loads a Caddyfile into the running Caddy; its complaint, if any, goes to the deploy log and the output.
# The routes name release aliases that end with a service's secrets digest ({$OLYMPUS_SECRETS_...}):
# Caddy reads them from the .env, which holds digests only, never a secret.
reload_caddy() {
  local output
  if ! output="$("${podman[@]}" exec --env-file "$project_dir/.env" "$(container_of "$(plan .edge.service)")" \
    caddy reload --config "$1" --adapter caddyfile 2>&1)"; then
    printf '%s\n' "$output" >>"$(deploy_log)"
    log "caddy refused $1: $(tail -n 1 <<<"$output")"
    return 1
  fi
}

# The route the edge serves while a release runs, and the one before it. If `up` fails after a phase
# was routed, the edge goes back to the route before it: the failed phase's services by name again,
# whichever of their containers answers, and nothing dialled that was never created.
edge_route="" edge_fallback=""
route_back() {
  local status=$?
  if ((status != 0)) && [[ -n "$edge_fallback" ]]; then
    if reload_caddy "$(jq -r --arg phase "$edge_fallback" '.edge.routes[$phase]' "$plan_file")"; then
      log "the release failed in phase $edge_route: the edge is back on the route of phase $edge_fallback"
    fi
  fi
  exit "$status"
}

# Each secret variable becomes a podman secret, read from its file: containers get it in their
# environment (type=env) and no command line ever carries it. A container keeps the value it started
# with until compose recreates it, which a changed value causes (its secrets digest label). Secrets of
# variables the release no longer has are removed.
sync_secrets() {
  local name file existing
  declare -A wanted=()
  while IFS=$'\t' read -r name file; do
    wanted[$name]=1
    [[ -f "$project_dir/$file" ]] || continue
    "${podman[@]}" secret rm "$name" >/dev/null 2>&1 || true
    "${podman[@]}" secret create "$name" "$project_dir/$file" >/dev/null
  done < <(plan '.podmanSecrets[] | "\(.name)\t\(.file)"')
  while read -r existing; do
    [[ -n "$existing" && -z "${wanted[$existing]:-}" ]] || continue
    "${podman[@]}" secret rm "$existing" >/dev/null
  done < <("${podman[@]}" secret ls --format '{{.Name}}' | grep "^$(plan .project)_" || true)
}

# A rotated OAuth2 client secret reaches Hydra once the Ory phase is healthy and before any app restarts
# with it (the apps phase comes later). jq reads the secret from its file and curl the patch from stdin,
# so no command line holds it. A client Hydra does not know yet is registered by the program after the
# release, with the same secret.
set_client_secrets() {
  local client admin_url file code
  while IFS=$'\t' read -r client admin_url file; do
    [[ -f "$project_dir/$file" ]] || continue
    code="$(jq -n --rawfile secret "$project_dir/$file" '[{op: "replace", path: "/client_secret", value: $secret}]' |
      curl --silent --output /dev/null --write-out '%{http_code}' --request PATCH \
        --header 'Content-Type: application/json' --data-binary @- "$admin_url/admin/clients/$client")"
    case "$code" in
      200) log "hydra has oauth2 client $client's current secret" ;;
      404) log "oauth2 client $client is not registered yet: the program registers it after the release" ;;
      *) fail "hydra answered $code when given oauth2 client $client's secret" ;;
    esac
  done < <(plan '.clientSecrets[] | "\(.clientId)\t\(.adminUrl)\t\(.file)"')
}

# What runs before a phase starts or after it is healthy, by the names deploy.json gives (and the phase).
run_step() {
  case "$1" in
    reload-postgres)
      # Certificate and pg_hba.conf come from a mounted directory: a reload serves a renewed certificate
      # to new connections while the open ones carry on, so a renewal never restarts the database.
      psql_as_owner -d postgres -Atc "select pg_reload_conf()" >/dev/null ;;
    route-edge)
      # Caddy (recreated only for a new image) moves to this phase's route before the phase replaces
      # anything: the phase's services by their new release aliases, so a stopping container receives no
      # new request and requests for a replaced service wait in Caddy (lb_try_duration) until its
      # successor answers; the later phases' services by their names, so they are not held back. The
      # reload closes no connection. Should the phase fail, the edge goes back to the route before it.
      reload_caddy "$(jq -r --arg phase "$2" '.edge.routes[$phase]' "$plan_file")" ||
        fail "caddy refused the new Caddyfile; it keeps serving the previous one, and no service of phase $2 was replaced"
      edge_fallback="$edge_route"
      edge_route="$2"
      log "the edge routes phase $2" ;;
    apply-database-roles)
      # After a restore PostgreSQL answers (healthy) while it still replays WAL up to the target, read-only
      # until it promotes: the first write of a release waits for that.
      wait_promoted
      # The roles and their passwords travel on stdin, never in a command line.
      # shellcheck disable=SC2024
      psql_as_owner -d postgres < "$project_dir/$(plan .sql.roles)" >/dev/null ;;
    reload-alertmanager)
      # alertmanager.yml carries the SMTP credentials (a secret file, outside the config digests): a new
      # one is read on SIGHUP, and silences and pending notifications stay.
      "${podman[@]}" kill --signal HUP "$(container_of "$(plan .alerting.service)")" >/dev/null ;;
    mark-restore-point) ((booting)) || mark_restore_point ;;
    apply-sdk-settings)
      log "applying Olympus SDK settings"
      # The deploy user owns the file, so the redirect needs no root; only podman does.
      # shellcheck disable=SC2024
      psql_as_owner -d "$(plan .postgres.settingsDatabase)" < "$project_dir/$(plan .sql.settings)" >/dev/null ;;
    check-data-directory) check_data_directory ;;
    sync-secrets) sync_secrets ;;
    set-client-secrets) set_client_secrets ;;
    guard-admin-network)
      # Loading the file replaces the table (it deletes and recreates it), so a rerun converges.
      "${as_root[@]}" nft -f "$project_dir/$(plan .adminNetworkGuard.file)" ;;
    *) fail "deploy.json names an unknown step $1" ;;
  esac
}

up() {
  local phases phase phase_name one_shot services step volume_dirs volume_dir before after
  mapfile -t phases < <(plan '.phases[] | @base64')
  # Each volume's directory, handed to the uid of a service that runs as its own user from the start.
  mapfile -t volume_dirs < <(plan '.volumeDirectories[] | "\(.owner // "") \(.path)"')
  for volume_dir in "${volume_dirs[@]}"; do
    "${as_root[@]}" mkdir -p "${volume_dir#* }"
    [[ -z "${volume_dir%% *}" ]] || "${as_root[@]}" chown "${volume_dir%% *}:${volume_dir%% *}" "${volume_dir#* }"
  done
  rm -f "$down_marker"
  trap route_back EXIT
  for phase in "${phases[@]}"; do
    phase_name="$(base64 -d <<<"$phase" | jq -r .name)"
    one_shot="$(base64 -d <<<"$phase" | jq -r .oneShot)"
    mapfile -t services < <(base64 -d <<<"$phase" | jq -r '.services[]')
    # Read first: a step's own commands (podman exec -i) would otherwise take the rest of a loop's input.
    mapfile -t before < <(base64 -d <<<"$phase" | jq -r '.before[]')
    mapfile -t after < <(base64 -d <<<"$phase" | jq -r '.after[]')
    for step in "${before[@]}"; do run_step "$step" "$phase_name"; done
    if [[ "$one_shot" == true ]]; then
      ((booting)) || run_once "$phase_name" "${services[@]}"
    else
      start "${services[@]}"
    fi
    for step in "${after[@]}"; do run_step "$step" "$phase_name"; done
  done
  edge_fallback=""
  trap - EXIT
  log "all services are up"
}

# The project's containers on this host, by the label compose gives them.
project_containers() {
  "${podman[@]}" ps --all --quiet --filter "label=com.docker.compose.project=$(plan .project)"
}

# Succeeds on a host that has nothing to take down: a new server behind a volume that still holds the
# last project's files, where neither podman-compose nor any container exists yet.
down() {
  [[ ! -d "$project_dir" ]] || touch "$down_marker"
  if [[ ! -f "$plan_file" ]] || ! command -v podman >/dev/null || [[ -z "$(project_containers)" ]]; then
    log "no container of the project runs here: nothing to stop"
    return 0
  fi
  if [[ -x "$compose_venv/bin/podman-compose" && -f "$project_dir/compose.yml" ]]; then
    quietly compose down --remove-orphans
  else
    # Without compose (its virtual environment is gone with the root disk), podman stops what it labelled.
    local -a containers
    mapfile -t containers < <(project_containers)
    quietly "${podman[@]}" stop --time 120 "${containers[@]}"
    quietly "${podman[@]}" rm --force "${containers[@]}"
  fi
  # The secrets go with the containers that read them (the next up creates them again from the bundle).
  "${podman[@]}" secret ls --format '{{.Name}}' | grep "^$(plan .project)_" | while read -r secret; do
    "${podman[@]}" secret rm "$secret" >/dev/null
  done || true
  # The admin network is gone with the project, and so is its guard.
  "${as_root[@]}" nft delete table "$(plan .adminNetworkGuard.family)" "$(plan .adminNetworkGuard.table)" 2>/dev/null || true
  log "the compose project is down; its data stays in $data_dir/volumes"
}

boot() {
  if [[ -f "$down_marker" ]]; then
    log "the project was taken down on purpose: it stays down"
    return 0
  fi
  booting=1
  log "the host started: bringing the platform back"
  up
}

# Restores PostgreSQL from the repository: to its latest state, a time, or a named restore point. The
# repository must hold this environment's stanza; then writers stop, the cluster is restored in place
# (delta) or into an empty volume, and `up` brings the platform back through its health-gated phases.
restore() {
  local target_kind="${1:-}" target="${2:-}" info stanzas stanza data_dir postgres_state_now
  local -a recovery=()
  case "$target_kind" in
    latest) ;;
    time) [[ -n "$target" ]] || fail "restore time needs an ISO time"; recovery=(--type=time "--target=$target" --target-action=promote) ;;
    point) [[ -n "$target" ]] || fail "restore point needs a restore point's name"; recovery=(--type=name "--target=$target" --target-action=promote) ;;
    *) fail "usage: $0 restore latest|time <ISO time>|point <name>" ;;
  esac
  stanza="$(plan .backup.stanza)"
  # The repository's credentials are podman secrets, which `down` removed with the project.
  sync_secrets
  info="$(repository_info)" || fail "the repository cannot be read; nothing was stopped"
  stanzas="$(jq -r '[.[] | select((.backup | length) > 0) | .name] | join(", ")' <<<"$info")"
  if [[ "$(jq -r --arg s "$stanza" '[.[] | select(.name == $s and (.backup | length) > 0)] | length' <<<"$info")" == 0 ]]; then
    fail "the repository holds no backup of $stanza (it holds: ${stanzas:-nothing}); a repository of another environment is never restored here; nothing was stopped"
  fi
  if [[ "$(postgres_state)" == healthy ]]; then
    # What is committed now reaches the repository first, so a restore to the latest loses nothing.
    pgbackrest_live check >>"$(deploy_log)" 2>&1 || log "the current WAL could not be archived; restoring what the repository holds"
  fi
  log "stopping every service: nothing writes while the cluster is restored"
  quietly compose stop
  data_dir="$(plan .postgres.dataDirectory)"
  postgres_state_now="$(postgres_state)"
  if [[ "$postgres_state_now" != missing && "$postgres_state_now" != exited && "$postgres_state_now" != crashing ]]; then
    fail "PostgreSQL did not stop; nothing was restored"
  fi
  # A server that was killed (not stopped) leaves its pid file; its container is stopped, so the file is stale.
  "${as_root[@]}" rm -f "$data_dir/postmaster.pid"
  "${as_root[@]}" install -d -o "$(plan .postgres.uid)" -g "$(plan .postgres.uid)" -m 700 "$data_dir"
  log "restoring $stanza to ${target:-its latest state}"
  quietly pgbackrest_offline --delta "${recovery[@]}" restore
  log "restored; starting the platform"
  up
}

# The newest backup and PostgreSQL's archiver, for `npm run backups` and the monitoring.
backups() {
  local info archiver
  info="$(repository_info)" || fail "the repository cannot be read"
  archiver="$(psql_as_owner -d postgres -Atc "select json_build_object('archived', archived_count, 'lastArchived', extract(epoch from last_archived_time), 'failed', failed_count, 'lastFailed', extract(epoch from last_failed_time)) from pg_stat_archiver")"
  jq -n --argjson info "$info" --argjson archiver "$archiver" --arg stanza "$(plan .backup.stanza)" '{
    stanza: $stanza,
    backups: [$info[] | select(.name == $stanza) | .backup[] | {label: .label, type: .type, stop: .timestamp.stop}],
    archiver: $archiver
  }'
}

edge_ca() {
  "${as_root[@]}" cat "$(plan .edge.rootCertificate)"
}

case "${1:-}" in
  prepare) prepare ;;
  install-config) install_files config ;;
  install-secrets) install_files secrets ;;
  up) up ;;
  boot) boot ;;
  down) down ;;
  edge-ca) edge_ca ;;
  restore) restore "${@:2}" ;;
  backups) backups ;;
  *) echo "usage: $0 prepare|install-config|install-secrets|up|boot|down|edge-ca|restore|backups" >&2; exit 2 ;;
esac
