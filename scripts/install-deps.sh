#!/usr/bin/env bash
# Installs every Debian 12 package that building, running and testing
# chasquid-cpp needs. Idempotent, and fast when everything is there: apt is
# only called for what is missing.
set -euo pipefail

PACKAGES=(
  # Build.
  cmake ninja-build g++ pkg-config git
  libboost1.81-dev libboost-json1.81-dev
  libprotobuf-dev protobuf-compiler
  libgflags-dev libc-ares-dev libidn2-dev libicu-dev
  libgoogle-perftools-dev libsystemd-dev libssl-dev
  libgtest-dev libgmock-dev
  # Tests: real clients and peers.
  python3 python3-pytest openssl curl swaks msmtp iproute2
  prometheus
)

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
