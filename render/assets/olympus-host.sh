#!/usr/bin/env bash
# olympus-host: applies the host configuration read from stdin (see render/hostConfig.ts), idempotently:
# missing packages are installed, files whose content or mode differ are replaced, and the units that
# read a replaced file are reloaded; units named `boot` are enabled for the next boot without starting.
# Prints what it changed. OLYMPUS_HOST_ROOT prefixes every path.
set -euo pipefail

root="${OLYMPUS_HOST_ROOT:-}"
as_root=()
[[ "$(id -u)" -eq 0 ]] || as_root=(sudo)
log() { echo "olympus-host: $*" >&2; }

# `olympus-host grow-filesystem DEVICE`: after the volume grew (volumeSizeGb), its ext4 filesystem takes the
# new space, online while mounted; a filesystem that already fills its device is left as it is.
if [[ "${1:-}" == grow-filesystem ]]; then
  device="${2:?grow-filesystem needs the device of the volume}"
  for _ in $(seq 1 30); do [[ -e "$device" ]] && break; sleep 2; done
  [[ -e "$device" ]] || { log "no device $device"; exit 1; }
  if output="$("${as_root[@]}" resize2fs "$device" 2>&1)"; then
    if grep -q "Nothing to do" <<<"$output"; then log "the filesystem on $device already fills it"; else log "grew the filesystem on $device"; fi
    exit 0
  fi
  log "resize2fs failed: $output"
  exit 1
fi
has_systemd() { [[ -z "$root" && -d /run/systemd/system ]]; }

# A new server may still be in cloud-init, which holds the apt lock and writes the same files.
if [[ -z "$root" ]] && command -v cloud-init >/dev/null; then "${as_root[@]}" cloud-init status --wait >/dev/null || true; fi

packages=() files=() reload=() enable=() boot=()
while IFS=$'\t' read -r kind first second third; do
  case "$kind" in
    package) packages+=("$first") ;;
    file) files+=("$first"$'\t'"$second"$'\t'"$third") ;;
    reload) reload+=("$first") ;;
    enable) enable+=("$first") ;;
    boot) boot+=("$first") ;;
    "") ;;
    *) log "unknown record $kind"; exit 2 ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  log "installing ${missing[*]}"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

changed=0
incoming="$(mktemp)"
trap 'rm -f "$incoming"' EXIT
for record in "${files[@]}"; do
  IFS=$'\t' read -r path mode content <<<"$record"
  printf '%s' "$content" | base64 -d >"$incoming"
  target="$root$path"
  if [[ -f "$target" ]] && cmp -s "$incoming" "$target" && [[ "$(stat -c %a "$target")" == "${mode#0}" ]]; then continue; fi
  "${as_root[@]}" install -D -m "$mode" -o root -g root "$incoming" "$target"
  log "wrote $path"
  changed=$((changed + 1))
done

if has_systemd; then
  # A replaced unit file is read only after a daemon reload.
  if ((changed > 0)); then "${as_root[@]}" systemctl daemon-reload; fi
  if ((changed > 0)); then for unit in "${reload[@]}"; do "${as_root[@]}" systemctl try-reload-or-restart "$unit"; done; fi
  for unit in "${enable[@]}"; do "${as_root[@]}" systemctl enable --now --quiet "$unit"; done
  # Started by the next boot, never now: a deploy may be running.
  for unit in "${boot[@]}"; do "${as_root[@]}" systemctl enable --quiet "$unit"; done
fi
log "host configuration applied: ${#missing[@]} packages installed, $changed files replaced"
