#!/usr/bin/env bash
# Cheap checks of what `cmake --install` ships besides the binaries: the man
# pages lint clean, the systemd units verify (with the daemon where the unit
# says and its Documentation= pages installed), the example configuration
# parses, and its post-data hook does nothing when no checker is installed.
# Uses an existing build: $BUILD_DIR, default build/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

mandoc -T lint -W warning docs/man/*.1 docs/man/*.5

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root="$tmp/root"
DESTDIR="$root" cmake --install "$BUILD_DIR" >/dev/null
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")

# The units as installed, but with the daemon's path inside the staging
# root, so systemd-analyze finds the binary it would run.
units=()
for u in $(find "$root" -path '*/systemd/system/chasquid*' -type f); do
  sed "s|^ExecStart=$prefix/|ExecStart=$root$prefix/|" "$u" >"$tmp/${u##*/}"
  units+=("$tmp/${u##*/}")
done
[ ${#units[@]} -eq 4 ] || { echo "expected 4 units, got ${#units[@]}"; exit 1; }
# It exits 0 on some problems (an unknown key is only "ignoring"): clean
# means it printed nothing.
if ! msgs=$(MANPATH="$root$prefix/share/man" systemd-analyze verify \
            "${units[@]}" 2>&1) || [ -n "$msgs" ]; then
  echo "systemd-analyze verify:"; echo "$msgs"; exit 1
fi

# The example configuration must be one the tools accept as it is.
etc="$root$prefix/share/chasquid/etc-chasquid"
"$root$prefix/bin/chasquid-util" -C="$etc" print-config >/dev/null

# With none of greylist, spamc, clamdscan on PATH the hook adds nothing.
out=$(echo "Subject: x" | env -i PATH=/nonexistent REMOTE_ADDR=192.0.2.1:25 \
      MAIL_FROM=a@example.net RCPT_TO=b@example.com AUTH_AS= SPF_PASS=0 \
      /bin/sh "$etc/hooks/post-data")
[ -z "$out" ] || { echo "post-data printed: $out"; exit 1; }
echo "docs, units, example configuration: OK"
