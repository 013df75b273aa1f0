#!/usr/bin/env bash
# Installs what the kit needs on a fresh Debian/Ubuntu machine, idempotently:
#   - the Debian packages listed in scripts/apt-packages.txt (apt-get, after apt-get update);
#   - a virtualenv in .venv with the exact versions pinned in requirements.lock.
# Sourced by scripts/mpic and scripts/test; safe to run again (it only does what is missing).
set -euo pipefail
KIT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MPIC_VENV:-$KIT_ROOT/.venv}"

_mpic_log() { printf '[bootstrap] %s\n' "$*" >&2; }

mpic_bootstrap_apt() {
  local wanted missing=() p
  local -A installed=()
  wanted=$(grep -v '^\s*#' "$KIT_ROOT/scripts/apt-packages.txt" | awk 'NF{print $1}')
  # one dpkg-query for the whole list (one per package took 1.4 s of every fleet command's start)
  # shellcheck disable=SC2086  # the list is split on purpose
  while read -r p; do installed[$p]=1; done < <(dpkg-query -W -f='${Package} ${Status}\n' $wanted 2>/dev/null \
    | awk '$2 == "install" && $3 == "ok" && $4 == "installed" {print $1}')
  for p in $wanted; do
    [ -n "${installed[$p]:-}" ] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    _mpic_log "missing Debian packages: ${missing[*]}"
    _mpic_log "run as root (or: sudo apt-get install -y ${missing[*]}) and try again"
    return 1
  fi
  _mpic_log "installing Debian packages: ${missing[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

mpic_bootstrap_venv() {
  local stamp="$VENV/.lock.sha256" want
  want=$(sha256sum "$KIT_ROOT/requirements.lock" | cut -d' ' -f1)
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  _mpic_log "creating virtualenv $VENV from requirements.lock"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "uv==0.13.9" >&2 \
    || "$VENV/bin/python" -m pip install -q --disable-pip-version-check uv >&2
  "$VENV/bin/uv" pip install -q -p "$VENV/bin/python" -r "$KIT_ROOT/requirements.lock" >&2
  echo "$want" > "$stamp"
}

mpic_bootstrap() {
  mpic_bootstrap_apt
  mpic_bootstrap_venv
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  mpic_bootstrap
fi
