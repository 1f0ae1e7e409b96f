#!/usr/bin/env bash
# bench/controllers.sh: the control loops at scale (issue "Control loops"): 1,000 Deployments x 10
# replicas on a fake-driver node with zero start latency, up until all are Available, then down
# to zero Pods. Starts its own `capstan server --driver fake` on 127.0.0.1 in a temporary data
# directory, runs build/bin/controllers_bench against it, stops it. Measures; asserts nothing.
#
# Usage: bench/controllers.sh [--quick] [--build-dir DIR] [-- controllers_bench flags...]
#   --quick   100 Deployments x 10 replicas (a smoke run of well under a minute)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build"
EXTRA=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) EXTRA+=(--deployments 100) ;;
    --build-dir) BUILD=$2; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; EXTRA+=("$@"); break ;;
    *) EXTRA+=("$1") ;;
  esac
  shift
done
BENCH="$BUILD/bin/controllers_bench"
CAPSTAN="$BUILD/bin/capstan"
for b in "$BENCH" "$CAPSTAN"; do
  [[ -x "$b" ]] || { echo "controllers.sh: $b not built (cmake --build build)" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/capstan-controllers-bench.XXXXXX")
# shellcheck source=bench/capstan_server.sh
source "$ROOT/bench/capstan_server.sh"
stop() {
  capstan_stop
  rm -rf "$TMP"
}
trap stop EXIT
trap 'exit 130' INT TERM

# Plain HTTP: the benchmark measures the control loops, not TLS handshakes of its own client.
capstan_start "$TMP" controllers.sh --driver fake --tls=false
rc=0
timeout --signal=INT 1800 "$BENCH" --kubeconfig "$TMP/data/kubeconfig.yaml" --pid "$CPID" "${EXTRA[@]}" || rc=$?
if ! kill -0 "$CPID" 2>/dev/null; then echo "controllers.sh: capstan died during the benchmark" >&2; rc=1; fi
if [[ -s "$TMP/capstan.log" ]]; then echo "--- capstan log (last 20 lines) ---" >&2; tail -20 "$TMP/capstan.log" >&2; fi
exit "$rc"
