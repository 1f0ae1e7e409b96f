#!/usr/bin/env bash
# bench/haproxy.sh: Services and load balancing through HAProxy (issue 7), in one run:
#   (a) model + render + `haproxy -c` of 1,000 Services x 10 endpoints (in process);
#   (b) Pod Ready -> first request routed to it through HAProxy, p50/p99: Capstan (runtime API)
#       against the seed's way (rewrite haproxy.cfg, reload per change), same samples;
#   (c) failed requests during a rolling update of 10 replicas under continuous load, Capstan's
#       Deployment rollout against the same rollout by hand with a reload per step.
# Starts its own `capstan server --driver process --lb haproxy` on 127.0.0.1 (temporary data dir,
# free high ports for everything) and runs build/bin/haproxy_bench against it; the peer's HAProxy
# and replicas are started by haproxy_bench. Measures; asserts nothing. A few minutes.
#
# Usage: bench/haproxy.sh [--quick] [--threads N] [--build-dir DIR] [-- haproxy_bench flags...]
#   --quick   100 Services x 10 endpoints, 8 samples, 4 replicas (a smoke run)
#   --threads N  HAProxy's threads on both sides (capstan server --lb-threads N, the peer's
#             nbthread); default: capstan server's default, half the CPUs, at least 1
#   HAPROXY_BENCH_LOG=FILE in the environment: the server's log is copied there at the end
#   haproxy_bench flags: --services N --endpoints N --samples N --replicas N --phases abc
#                        --check-interval 20ms (the annotation on (b)'s Service: the check's share)
#                        --pre-stop-sleep N (preStop sleep in (c)'s Pods: the Kubernetes workaround, a control)
#                        --load-keep-alive false ((c)'s clients open a connection per request)
#                        --probe-threads N --load-threads N --load-pause-us N
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build"
EXTRA=()
SERVER_FLAGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) EXTRA+=(--services 100 --samples 8 --replicas 4) ;;
    --build-dir) BUILD=$2; shift ;;
    --threads) SERVER_FLAGS+=(--lb-threads "$2"); EXTRA+=(--haproxy-threads "$2"); shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; EXTRA+=("$@"); break ;;
    *) EXTRA+=("$1") ;;
  esac
  shift
done
BENCH="$BUILD/bin/haproxy_bench"
WORKLOAD="$BUILD/bin/lb_workload"
CAPSTAN="$BUILD/bin/capstan"
for b in "$BENCH" "$WORKLOAD" "$CAPSTAN"; do
  [[ -x "$b" ]] || { echo "haproxy.sh: $b not built (cmake --build build --target capstan capstan-driver-process haproxy_bench lb_workload)" >&2; exit 1; }
done
[[ -x /usr/sbin/haproxy ]] || { echo "haproxy.sh: /usr/sbin/haproxy is not installed" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/capstan-haproxy-bench.XXXXXX")
MARK="lb-bench-$$-$RANDOM"
# shellcheck source=bench/capstan_server.sh
source "$ROOT/bench/capstan_server.sh"
# Replicas the server's process driver started and did not stop (found by their marker, ended
# by pid).
kill_marked() {
  local p
  for p in /proc/[0-9]*; do
    if tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qx "LB_BENCH_MARK=$MARK"; then
      kill -KILL "${p#/proc/}" 2>/dev/null || true
    fi
  done
}
stop() {
  capstan_stop
  kill_marked
  if [[ -n "${HAPROXY_BENCH_LOG:-}" && -f "$TMP/capstan.log" ]]; then cp "$TMP/capstan.log" "$HAPROXY_BENCH_LOG"; fi
  rm -rf "$TMP"
}
trap stop EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
capstan_start "$TMP" haproxy.sh --driver process --driver-config "{\"stateDir\": \"$TMP/driver\"}" \
  --node-name bench-lb --port-range 26000-26999 \
  --lb haproxy --lb-http-port "$(free_port)" --lb-https-port "$(free_port)" ${SERVER_FLAGS[@]+"${SERVER_FLAGS[@]}"}
rc=0
timeout --signal=INT 900 "$BENCH" --kubeconfig "$TMP/data/kubeconfig.yaml" --workload "$WORKLOAD" \
  --dir "$TMP/bench" --marker "$MARK" "${EXTRA[@]}" || rc=$?
if ! kill -0 "$CPID" 2>/dev/null; then echo "haproxy.sh: capstan died during the benchmark" >&2; rc=1; fi
if [[ $rc -ne 0 && -s "$TMP/capstan.log" ]]; then echo "--- capstan log (last 20 lines) ---" >&2; tail -20 "$TMP/capstan.log" >&2; fi
exit "$rc"
