#!/usr/bin/env bash
# Runs every test: unit tests (plain and under ASan+UBSan), then the
# integration tests, which start the real binaries (built with ASan+UBSan)
# and talk to them with real clients.
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
echo "== layout: every include of another folder is a CMake dependency"
/usr/bin/python3 scripts/check-layout.py
echo "== formatting (clang-format 14, .clang-format)"
scripts/check-format.sh
echo "== test code (pyflakes: unused imports, undefined names)"
/usr/bin/python3 -m pyflakes tests/integration
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

echo "== clang build of the whole tree (Debug, -Werror)"
# Distributions build with either compiler, and clang warns about things
# GCC does not. Debug (-O0 -g) is the configuration the other builds
# don't cover. Built, not run: the same tests run against GCC's builds.
BUILD_DIR=build-clang CXX=clang++ CC=clang scripts/build.sh \
  -DCMAKE_BUILD_TYPE=Debug
stage_done "clang build"

echo "== man pages, systemd units, example configuration"
scripts/check-docs.sh
stage_done "docs check"

echo "== Debian package: build, lintian, install over Debian's chasquid"
scripts/test-deb-install.sh
stage_done "package + install test"

echo "== daemon, tools and unit tests under AddressSanitizer + UBSan"
# The whole tree, daemon and tools included, not only the unit tests: the
# integration suite below runs against this build, so the sanitizers watch
# the daemon under real clients (a double free in the DNS code once reached
# the daemon unseen, when only the unit tests were sanitized).
# -O1 -g1 (ASan's advice; line tables are enough for its reports) compiles
# about a third faster than the default -O2 -g: CI time matters.
# UNIT_TESTS_ONLY=OFF explicitly: an older build-asan has ON in its cache.
BUILD_DIR=build-asan scripts/build.sh -DCHASQUID_SANITIZE=ON \
  -DCHASQUID_UNIT_TESTS_ONLY=OFF \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG"
ctest --test-dir build-asan --output-on-failure -j2
stage_done "sanitizer build + unit tests"

echo "== fuzzers (bounded time each)"
# 35 targets: 6 s each keeps the stage near 4 minutes.
FUZZ_REPLAY_ONLY=session_fuzz FUZZ_SECONDS=${FUZZ_SECONDS:-6} scripts/fuzz.sh
stage_done fuzzers

# The integration suite runs once, against the sanitized build. Its time
# is spent waiting (for deliveries, timeouts, peers), not computing: on
# the shared 2-core VM it took 3 min 2 s against this build and 2 min
# 55 s against the plain one (load 1-7). A second run against the plain
# build would add those 3 minutes to find what the first run already
# finds (same code; the Release build above checks it compiles cleanly
# at -O3). The daemon and tools, with every sanitizer check on, is the
# stricter run of the two. The exceptions are the tests marked
# "profiler": the sanitized daemon has no tcmalloc/libprofiler (they
# fight ASan's allocator), so /debug/pprof's CPU and heap profiles are
# tested against the plain build. conftest.py points ASan/LSan reports at
# files it reads after every test, and reads the daemon's log (its stderr,
# where GCC 12's UBSan always writes) when it stops: any report (a leak at
# the daemon's clean stop included) fails the test that caused it, with
# the report printed. (At load 11 the suite took 6 min 13 s here.) The
# full ASan build itself, with ccache warm, took 2 min (linking and the
# files changed); the profiler tests against the plain build, 12 s.
echo "== integration tests (ASan+UBSan daemon and tools)"
CHASQUID_BUILD="$PWD/build-asan" /usr/bin/python3 -m pytest -q \
  tests/integration "$@"
stage_done "integration tests (sanitized)"

echo "== integration tests that need the plain build (profiler)"
rc=0
CHASQUID_BUILD="$PWD/build" /usr/bin/python3 -m pytest -q -m profiler \
  tests/integration "$@" || rc=$?
# 5 is pytest's "no test selected": "$@" may pick only other tests.
[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ]
stage_done "integration tests (plain, profiler)"
