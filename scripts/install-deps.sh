#!/usr/bin/env bash
# Installs every Debian 12 package that building, running and testing
# chasquid-cpp needs, as listed in scripts/deps/*.txt (one file per concern;
# '#' starts a comment). Idempotent, and fast when everything is there: apt
# is only called for what is missing.
set -euo pipefail
cd "$(dirname "$0")"

mapfile -t PACKAGES < <(cat deps/*.txt | sed 's/#.*//' | tr ' ' '\n' | grep -v '^$' | sort -u)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
