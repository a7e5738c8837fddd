#!/usr/bin/env bash
# Runs every test: unit tests (plain and under ASan+UBSan), then the
# integration tests, which start the real binaries and talk to them with
# real clients.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage's wall time, printed at the end: CI must stay well under its
# limit, and this says where the time goes.
T0=$SECONDS
TIMES=()
stage_done() { TIMES+=("$1: $((SECONDS - T0)) s"); T0=$SECONDS; }
trap 'printf "== stage times\n"; printf "  %s\n" "${TIMES[@]}"' EXIT

scripts/install-deps.sh
stage_done install

echo "== coroutine rules (GCC 12; see scripts/check-coroutines.py)"
/usr/bin/python3 scripts/check-coroutines.py --self-test
/usr/bin/python3 scripts/check-coroutines.py src cmd
stage_done "static checks"

echo "== build"
scripts/build.sh
echo "== unit tests"
ctest --test-dir build --output-on-failure -j2
stage_done "build + unit tests"

echo "== Release build (-Werror)"
# GCC warns about different things at -O3 than at the default -O2 -g, and
# Release is what users build: this keeps that build warning-free.
BUILD_DIR=build-rel scripts/build.sh -DCMAKE_BUILD_TYPE=Release
stage_done "release build"

echo "== man pages, systemd units, example configuration"
scripts/check-docs.sh
stage_done "docs check"

echo "== Debian package: build, lintian, install over Debian's chasquid"
scripts/test-deb-install.sh
stage_done "package + install test"

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
# -O1 -g1 (ASan's advice; line tables are enough for its reports) compiles
# about a third faster than the default -O2 -g: CI time matters.
BUILD_DIR=build-asan scripts/build.sh -DCHASQUID_SANITIZE=ON \
  -DCHASQUID_UNIT_TESTS_ONLY=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG"
ctest --test-dir build-asan --output-on-failure -j2
stage_done "sanitizer build + unit tests"

echo "== fuzzers (bounded time each)"
FUZZ_SECONDS=${FUZZ_SECONDS:-8} scripts/fuzz.sh
stage_done fuzzers

echo "== integration tests"
CHASQUID_BUILD="$PWD/build" /usr/bin/python3 -m pytest -q tests/integration "$@"
stage_done "integration tests"
