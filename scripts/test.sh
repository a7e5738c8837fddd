#!/usr/bin/env bash
# Runs every test: unit tests (plain and under ASan+UBSan), then the
# integration tests, which start the real binaries and talk to them with
# real clients.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== build"
scripts/build.sh
echo "== unit tests"
ctest --test-dir build --output-on-failure -j2

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
BUILD_DIR=build-asan scripts/build.sh -DCHASQUID_SANITIZE=ON \
  -DCHASQUID_UNIT_TESTS_ONLY=ON
ctest --test-dir build-asan --output-on-failure -j2

echo "== fuzzers (bounded time each)"
scripts/fuzz.sh

echo "== integration tests"
CHASQUID_BUILD="$PWD/build" /usr/bin/python3 -m pytest -q tests/integration "$@"
