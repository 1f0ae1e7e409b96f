#!/usr/bin/env bash
# Installs what is missing, builds everything, and runs every test:
#   1. the whole suite (unit, integration, e2e) on the normal build;
#   2. the store and API unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Exit status is non-zero when anything fails. Used by `make test` and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
scripts/install-deps.sh test

echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

echo "== tests"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600

echo "== sanitizer build (ASan+UBSan): store and API unit tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCAPSTAN_SANITIZE=ON -DCAPSTAN_SANITIZE_ONLY_UNIT=ON >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit --timeout 900
