#!/usr/bin/env bash
# Builds evault into DIR (default build/). Extra arguments go to cmake.
#   scripts/build.sh                  release build with warnings as errors
#   scripts/build.sh build-asan -DEVAULT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DEVAULT_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)" -- --no-print-directory >/dev/null
echo "built $dir/evault"
