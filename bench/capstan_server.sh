# bench/capstan_server.sh: sourced by the benchmarks that run their own `capstan server`.
#   capstan_start TMP NAME FLAGS...  starts "$CAPSTAN" server on a free 127.0.0.1 port with its data
#                                    dir in TMP/data (log TMP/capstan.log), sets CPID, and waits
#                                    until it wrote its kubeconfig; exits the script if it died
#   capstan_stop                     SIGTERM, then SIGKILL after 10 s; a no-op before a start
CPID=""

capstan_start() {
  local tmp=$1 name=$2 port
  shift 2
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  HOME="$tmp/home" "$CAPSTAN" server --data-dir "$tmp/data" --listen "127.0.0.1:$port" --log-level warn "$@" \
    >"$tmp/capstan.log" 2>&1 &
  CPID=$!
  for _ in $(seq 300); do
    [[ -s "$tmp/data/kubeconfig.yaml" ]] && return 0
    kill -0 "$CPID" 2>/dev/null || { echo "$name: capstan exited; its log:" >&2; cat "$tmp/capstan.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "$name: capstan did not start in 30 s" >&2
  exit 1
}

capstan_stop() {
  [[ -n "$CPID" ]] || return 0
  kill -TERM "$CPID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$CPID" 2>/dev/null || true
  wait "$CPID" 2>/dev/null || true
}
