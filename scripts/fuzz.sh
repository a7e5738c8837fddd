#!/usr/bin/env bash
# Builds every libFuzzer target with clang (AddressSanitizer) and runs each
# over its corpus in src/<dir>/testdata/fuzz/<name>/. A crash fails the run;
# keep the crashing input in that corpus folder as a regression case once it
# is fixed (name it crash-*: a long run's minimisation keeps those).
#
#   scripts/fuzz.sh                  every target for FUZZ_SECONDS (default
#                                    15; CI's short stage); the committed
#                                    corpus is only read
#   scripts/fuzz.sh --long N [T...]  every target (or only targets T...) for
#                                    N minutes each, one after the other on
#                                    one core; then the corpus is minimised
#                                    (-merge=1) into the repository and the
#                                    final executions and coverage are
#                                    appended to build-fuzz/long-stats.txt
#   FUZZ_NO_BUILD=1 scripts/fuzz.sh ...  skips the build (several --long
#                                    runs of different targets at once)
set -euo pipefail
cd "$(dirname "$0")/.."
LONG_MINUTES=
if [ "${1:-}" = "--long" ]; then
  LONG_MINUTES=${2:?--long needs a number of minutes}
  shift 2
fi
ONLY=" $* "
export CCACHE_BASEDIR="$PWD"
# As scripts/build.sh: -g puts the working directory in the objects, and a
# clone elsewhere (CI) would miss the cache on every file.
export CCACHE_NOHASHDIR=1
# FUZZ_NO_BUILD=1: use build-fuzz as it is (parallel --long runs of
# different targets share one build, made once beforehand).
if [ -z "${FUZZ_NO_BUILD:-}" ]; then
  CXX=clang++ CC=clang cmake -S . -B build-fuzz -G Ninja -DCHASQUID_FUZZ=ON \
    -DCHASQUID_WERROR=ON \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
  [ -f build-fuzz/fuzz-corpora.txt ] || { echo "no fuzzers yet"; exit 0; }
  # Only the fuzzers (or the ones named) and the libraries they link.
  if [ $# -gt 0 ]; then
    ninja -C build-fuzz ${NINJA_FLAGS:-} "$@"
  else
    ninja -C build-fuzz ${NINJA_FLAGS:-} fuzzers
  fi
fi
SECONDS_EACH=${FUZZ_SECONDS:-15}
[ -n "$LONG_MINUTES" ] && SECONDS_EACH=$((LONG_MINUTES * 60))
# cmake appends a line per target at each configure: read each name once.
sort -u build-fuzz/fuzz-corpora.txt | while read -r name corpus; do
  if [ "$ONLY" != "  " ] && [[ "$ONLY" != *" $name "* ]]; then continue; fi
  mkdir -p "$corpus"
  work=$(mktemp -d)
  echo "fuzzing $name for ${SECONDS_EACH}s"
  if [ -z "$LONG_MINUTES" ] && [[ " ${FUZZ_REPLAY_ONLY:-} " == *" $name "* ]]; then
    # Targets whose inputs each run a real server (seconds per slow one):
    # CI replays their corpus, crash inputs included, as a regression test
    # but does not search, so a slow-but-correct input found by chance
    # cannot fail the run. Long runs (--long) search them.
    echo "  (replaying the corpus only)"
    build-fuzz/fuzz/"$name" -runs=0 -max_len=8192 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=0 "$corpus" 2>&1 | tail -n 3
    rm -rf "$work"
    continue
  fi
  if [ -z "$LONG_MINUTES" ]; then
    # New inputs go to a scratch dir; the committed corpus is only read.
    build-fuzz/fuzz/"$name" -max_total_time="$SECONDS_EACH" -max_len=8192 \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
      -artifact_prefix="$work/" "$work" "$corpus" 2>&1 | tail -n 3
    rm -rf "$work"
    continue
  fi
  log="build-fuzz/long-$name.log"
  # One process on one core; a crash stops this target, and the script.
  build-fuzz/fuzz/"$name" -max_total_time="$SECONDS_EACH" -max_len=8192 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/long-$name-" "$work" "$corpus" \
    >"$log" 2>&1 || { tail -n 40 "$log"; exit 1; }
  done_line=$(grep -a -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(sed -E -n 's/.* cov: ([0-9]+) .*/\1/p' <<<"$done_line")
  ft=$(sed -E -n 's/.* ft: ([0-9]+) .*/\1/p' <<<"$done_line")
  # Minimise the old corpus and the new inputs into a fresh folder, keep
  # the regression inputs whatever their coverage, and replace the corpus.
  merged=$(mktemp -d)
  build-fuzz/fuzz/"$name" -merge=1 -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 "$merged" "$corpus" "$work" >"$log.merge" 2>&1
  find "$corpus" -maxdepth 1 -type f -name 'crash-*' -exec cp {} "$merged/" \;
  find "$corpus" -maxdepth 1 -type f -delete
  cp "$merged"/* "$corpus"/
  rm -rf "$work" "$merged"
  files=$(find "$corpus" -maxdepth 1 -type f | wc -l)
  echo "$name minutes=$LONG_MINUTES execs=$execs cov=$cov ft=$ft corpus=$files" |
    tee -a build-fuzz/long-stats.txt
done
