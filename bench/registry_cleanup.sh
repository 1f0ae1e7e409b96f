#!/usr/bin/env bash
# bench/registry_cleanup.sh: registry cleanup (issue 8) on 100 repositories x 100 tags: Capstan's
# scan + plan + execute against the seed script's sequential per-tag loop (corrected to delete by
# digest), each on its own docker-registry on 127.0.0.1 that the benchmark starts and fills.
# Prints plan and apply times, request counts, the ratio, and whether the survivors are
# identical. Measures; asserts nothing.
#
# The peers: the seed's shell script corrected to delete by digest (registry_cleanup_seed.sh, curl
# and jq per request) and the same loop in-process (see registry_cleanup_bench.cc).
#
# Usage: bench/registry_cleanup.sh [--quick] [--build-dir DIR] [-- registry_cleanup_bench flags...]
#   --quick   20 repositories x 50 tags
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build"
EXTRA=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) EXTRA+=(--repositories 20 --tags 50) ;;
    --build-dir) BUILD=$2; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; EXTRA+=("$@"); break ;;
    *) EXTRA+=("$1") ;;
  esac
  shift
done
BENCH="$BUILD/bin/registry_cleanup_bench"
[[ -x "$BENCH" ]] || { echo "registry_cleanup.sh: $BENCH not built (cmake --build build)" >&2; exit 1; }
exec "$BENCH" --seed-script "$ROOT/bench/registry_cleanup_seed.sh" "${EXTRA[@]}"
