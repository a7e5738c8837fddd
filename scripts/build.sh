#!/usr/bin/env bash
# Configures and builds into build/ (or $BUILD_DIR). Extra arguments go to
# cmake, e.g. -DCHASQUID_SANITIZE=ON. Warnings are errors here.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
LAUNCHER=()
# Relative paths in ccache's hashes: worktrees of this repo share the cache.
export CCACHE_BASEDIR="$PWD"
# With -g, ccache would hash the working directory too (it is in the debug
# info): a clone in another folder, as CI makes, would then miss every time.
export CCACHE_NOHASHDIR=1
if command -v ccache >/dev/null; then
  LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
if [ ! -f "$BUILD_DIR/build.ninja" ] || [ $# -gt 0 ]; then
  # Warnings are errors in the developers' and CI's builds only.
  cmake -S . -B "$BUILD_DIR" -G Ninja "${LAUNCHER[@]}" -DCHASQUID_WERROR=ON \
    "$@" >/dev/null
fi
ninja -C "$BUILD_DIR" ${NINJA_FLAGS:-}
