#!/usr/bin/env bash
# Fails if any C++ file under src/ or cmd/ differs from what clang-format
# (Debian 12's clang-format 14, with .clang-format) would make of it.
# To fix: clang-format -i <files>.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'src/*.cc' 'src/*.h' 'cmd/*.cc' 'cmd/*.h')
clang-format --dry-run --Werror "${files[@]}"
echo "formatting: ${#files[@]} files clean"
