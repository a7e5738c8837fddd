#!/usr/bin/env bash
# Builds every libFuzzer target with clang (AddressSanitizer) and runs each
# for a bounded time (FUZZ_SECONDS, default 15) over its corpus in
# src/<dir>/testdata/fuzz/<name>/. A crash fails the run; keep the crashing
# input in that corpus folder as a regression case once it is fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD"
CXX=clang++ CC=clang cmake -S . -B build-fuzz -G Ninja -DCHASQUID_FUZZ=ON \
  -DCHASQUID_WERROR=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
[ -f build-fuzz/fuzz-corpora.txt ] || { echo "no fuzzers yet"; exit 0; }
# Only the fuzzers and the libraries they link.
ninja -C build-fuzz fuzzers
SECONDS_EACH=${FUZZ_SECONDS:-15}
while read -r name corpus; do
  mkdir -p "$corpus"
  work=$(mktemp -d)
  echo "fuzzing $name for ${SECONDS_EACH}s"
  # New inputs go to a scratch dir; the committed corpus is only read.
  build-fuzz/fuzz/"$name" -max_total_time="$SECONDS_EACH" -max_len=8192 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
    -artifact_prefix="$work/" "$work" "$corpus" 2>&1 | tail -n 3
  rm -rf "$work"
done < build-fuzz/fuzz-corpora.txt
