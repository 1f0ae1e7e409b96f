#!/usr/bin/env bash
# bench/api.sh: the API benchmark — capstan vs etcd, side by side, in one run on 127.0.0.1.
#
# Starts `capstan server` and `etcd` (both durable: each fsyncs before acknowledging a write) on
# loopback in fresh temporary data directories, waits for both, runs build/bin/api_bench against
# them, then stops both and removes the directories. Prints a table and a final JSON line
# ({"bench":"api",...}). Measures; never asserts timings.
#
# Usage: bench/api.sh [--quick] [--build-dir DIR] [--only capstan|etcd] [-- api_bench flags...]
#   --quick        ~1-minute smoke run: 2,000 creates/GETs, LIST of 2,000, 200 watchers
#   --build-dir    where bin/capstan and bin/api_bench are (default: build, then build-bench)
#   --only         run one server only (e.g. while the other does not work)
# Anything after the flags (or after --) goes to api_bench (see build/bin/api_bench --help).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=""
ONLY=""
QUICK=0
EXTRA=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --build-dir) BUILD=$2; shift ;;
    --build-dir=*) BUILD=${1#*=} ;;
    --only) ONLY=$2; shift ;;
    --only=*) ONLY=${1#*=} ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; EXTRA+=("$@"); break ;;
    *) EXTRA+=("$1") ;;
  esac
  shift
done
if [[ -z "$BUILD" ]]; then
  for d in "$ROOT/build" "$ROOT/build-bench"; do
    if [[ -x "$d/bin/api_bench" ]]; then BUILD=$d; break; fi
  done
fi
BENCH="${BUILD:-$ROOT/build}/bin/api_bench"
CAPSTAN="${BUILD:-$ROOT/build}/bin/capstan"
[[ -x "$BENCH" ]] || { echo "api.sh: $BENCH not built (cmake --build BUILD --target api_bench)" >&2; exit 1; }
if [[ "$ONLY" != "etcd" && ! -x "$CAPSTAN" ]]; then
  echo "api.sh: $CAPSTAN not built (or use --only etcd)" >&2; exit 1
fi
if [[ "$ONLY" != "capstan" ]] && ! command -v etcd >/dev/null; then
  echo "api.sh: etcd not installed (apt-get install etcd-server, or use --only capstan)" >&2; exit 1
fi

# 10,000 watchers are 10,000 sockets in the client and in each server. Without CAP_SYS_RESOURCE
# the hard limit is the ceiling; api_bench then reports the watchers that could not connect.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# Under /tmp on this machine is a real disk (ext4), so fsync costs what it costs in production.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/capstan-api-bench.XXXXXX")
CPID=""
EPID=""
stop() {
  local pid
  for pid in $CPID $EPID; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $CPID $EPID; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap stop EXIT
trap 'exit 130' INT TERM

# A free loopback port: bind to port 0 and read what the kernel chose.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_ready NAME PID CMD...: polls CMD for up to 30 s while PID lives.
wait_ready() {
  local name=$1 pid=$2; shift 2
  for _ in $(seq 300); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "api.sh: $name exited during start; its log:" >&2; cat "$TMP/$name.log" >&2; return 1
    fi
    sleep 0.1
  done
  echo "api.sh: $name not ready after 30 s; its log:" >&2; tail -50 "$TMP/$name.log" >&2; return 1
}

ARGS=()
if [[ "$ONLY" != "etcd" ]]; then
  CPORT=$(free_port)
  # Plain HTTP, as etcd is served here: the comparison is of the API servers, not of TLS.
  # --controllers=false: etcd is a store, not a control plane; the comparison is of the API server
  # and its store (the controllers' informers would also cache every benchmark object).
  "$CAPSTAN" server --data-dir "$TMP/capstan" --listen "127.0.0.1:$CPORT" --log-level warn --tls=false --controllers=false --driver none \
    >"$TMP/capstan.log" 2>&1 &
  CPID=$!
  wait_ready capstan "$CPID" bash -c "test -s '$TMP/capstan/admin-token' &&
    curl -sf -H \"Authorization: Bearer \$(cat '$TMP/capstan/admin-token')\" http://127.0.0.1:$CPORT/readyz"
  ARGS+=(--capstan-url "http://127.0.0.1:$CPORT" --capstan-token-file "$TMP/capstan/admin-token"
         --capstan-pid "$CPID")
fi
if [[ "$ONLY" != "capstan" ]]; then
  EPORT=$(free_port)
  PPORT=$(free_port)
  etcd --name bench --data-dir "$TMP/etcd" \
    --listen-client-urls "http://127.0.0.1:$EPORT" --advertise-client-urls "http://127.0.0.1:$EPORT" \
    --listen-peer-urls "http://127.0.0.1:$PPORT" --initial-advertise-peer-urls "http://127.0.0.1:$PPORT" \
    --initial-cluster "bench=http://127.0.0.1:$PPORT" --logger zap --log-level warn >"$TMP/etcd.log" 2>&1 &
  EPID=$!
  wait_ready etcd "$EPID" curl -sf "http://127.0.0.1:$EPORT/health"
  ARGS+=(--etcd-url "http://127.0.0.1:$EPORT" --etcd-pid "$EPID")
fi

if [[ $QUICK -eq 1 ]]; then
  ARGS+=(--creates 2000 --list-objects 2000 --list-runs 3 --watchers 200 --watch-writes 10)
  LIMIT=300
else
  LIMIT=1800
fi
# api_bench bounds every phase itself; this is the backstop. Flags given later win.
rc=0
timeout --signal=INT "$LIMIT" "$BENCH" "${ARGS[@]}" "${EXTRA[@]}" || rc=$?
# A server that died mid-run explains "Connection" errors above; say so, with how it ended.
for pair in "capstan:$CPID" "etcd:$EPID"; do
  name=${pair%%:*} pid=${pair#*:}
  if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
    status=0
    wait "$pid" || status=$?
    how="exit status $status"
    if [[ $status -gt 128 ]]; then how="signal $(kill -l $((status - 128)) 2>/dev/null || echo $((status - 128)))"; fi
    echo "api.sh: $name (pid $pid) died during the benchmark: $how" >&2
    [[ $rc -ne 0 ]] || rc=1
  fi
done
for name in capstan etcd; do
  # Warnings and errors only (both run at warn level): worth seeing next to the numbers.
  if [[ -s "$TMP/$name.log" ]]; then
    echo "--- $name log (last 20 lines) ---" >&2
    tail -20 "$TMP/$name.log" >&2
  fi
done
exit "$rc"
