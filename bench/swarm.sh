#!/usr/bin/env bash
# bench/swarm.sh: Capstan's docker driver against Docker Swarm on the same dockerd, in one run
# (issue "Driver plugins", benchmark). Starts a private dockerd (plugins/docker/testing/
# dockerd-fixture.sh: loopback only, its own data root), makes it a one-node swarm, and starts
# `capstan server --driver docker` against the same socket. Then, for each of them:
#   - apply N replicas (20 and 50) and time until all run: Capstan until `rollout status` says the
#     Deployment is available (every Pod Ready), Swarm until `docker service ps` shows N tasks
#     Running (polled every 100 ms);
#   - a rolling update of 20 replicas to another tag of the same image, with the same parallelism
#     on both sides (5 at a time, stop first: maxUnavailable 5, maxSurge 0 / --update-parallelism
#     5 --update-order stop-first --update-delay 0s), timed until every replica runs the new tag.
# Both run the same container (busybox `sleep`, host network, 1 s stop grace, no pulls: the image
# is local and neither side resolves it in a registry). Prints each time and the ratio
# Swarm/Capstan (above 1: Capstan is faster), and beside the apply times the engine's own floor:
# `docker start` of N containers created beforehand, all N at once, which neither orchestrator
# can beat (it is the work dockerd, containerd and runc do per container). Measures; asserts
# nothing.
#
# Usage: bench/swarm.sh [--build-dir DIR] [--runs N]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build"
RUNS=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) BUILD=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "swarm.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
CAPSTAN="$BUILD/bin/capstan"
[[ -x "$CAPSTAN" && -f "$BUILD/lib/capstan-driver-docker.so" ]] ||
  { echo "swarm.sh: build capstan and the docker driver first (cmake --build $BUILD)" >&2; exit 1; }
FIXTURE="$ROOT/plugins/docker/testing/dockerd-fixture.sh"
DOCKER=/usr/bin/docker

TMP=$(mktemp -d "${TMPDIR:-/tmp}/capstan-swarm-bench.XXXXXX")
# shellcheck source=bench/capstan_server.sh
source "$ROOT/bench/capstan_server.sh"
DDIR=""
stop() {
  capstan_stop
  [[ -n "$DDIR" ]] && "$FIXTURE" stop "$DDIR" >/dev/null 2>&1
  rm -rf "$TMP"
}
trap stop EXIT
trap 'exit 130' INT TERM

DDIR=$("$FIXTURE" start --owner $$) || { echo "swarm.sh: the dockerd fixture did not start" >&2; exit 1; }
# shellcheck disable=SC1091
source "$DDIR/env"
D() { "$DOCKER" -H "$CAPSTAN_DOCKER_ENDPOINT" "$@"; }
IMAGE="$CAPSTAN_TEST_IMAGE"
IMAGE2="${IMAGE%:*}:bench2"
D tag "$IMAGE" "$IMAGE2"
D swarm init --advertise-addr 127.0.0.1 >/dev/null

capstan_start "$TMP" swarm.sh --driver docker --driver-config "{\"endpoint\": \"$CAPSTAN_DOCKER_ENDPOINT\"}"
C() { "$CAPSTAN" --kubeconfig "$TMP/data/kubeconfig.yaml" "$@"; }
for _ in $(seq 100); do C get nodes 2>/dev/null | grep -q " Ready" && break; sleep 0.1; done

CMD='trap "exit 0" TERM; sleep 3600 & wait'
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

deployment() {  # NAME REPLICAS IMAGE
  cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: $2
  selector: {matchLabels: {app: $1}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 5, maxSurge: 0}}
  template:
    metadata: {labels: {app: $1}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: $3
        imagePullPolicy: IfNotPresent
        command: [/bin/busybox, sh, -c, '$CMD']
EOF
}

capstan_up() {  # NAME REPLICAS -> seconds
  local t0; t0=$(now)
  deployment "$1" "$2" "$IMAGE" | C apply -f - >/dev/null
  C rollout status "deployment/$1" --timeout 10m >/dev/null
  elapsed "$t0" "$(now)"
}
capstan_update() {  # NAME -> seconds
  local t0; t0=$(now)
  deployment "$1" 20 "$IMAGE2" | C apply -f - >/dev/null
  C rollout status "deployment/$1" --timeout 10m >/dev/null
  elapsed "$t0" "$(now)"
}
capstan_down() {  # NAME
  C delete deployment "$1" >/dev/null
  for _ in $(seq 600); do [[ -z "$(D ps -q --filter label=capstan.io/managed-by=capstan)" ]] && return; sleep 0.1; done
}

# Tasks of service $1 in state Running with image $2 (tag match).
swarm_running() {
  D service ps "$1" --filter desired-state=running --format '{{.CurrentState}} {{.Image}}' 2>/dev/null |
    grep -c "^Running .*${2##*/}\$" || true
}
swarm_up() {  # NAME REPLICAS -> seconds
  local t0; t0=$(now)
  D service create --detach --no-resolve-image --name "$1" --replicas "$2" --network host \
    --stop-grace-period 1s --update-parallelism 5 --update-delay 0s --update-order stop-first \
    "$IMAGE" /bin/busybox sh -c "$CMD" >/dev/null
  while [[ $(swarm_running "$1" "$IMAGE") -lt $2 ]]; do sleep 0.1; done
  elapsed "$t0" "$(now)"
}
swarm_update() {  # NAME -> seconds
  local t0; t0=$(now)
  D service update --detach --no-resolve-image --image "$IMAGE2" "$1" >/dev/null
  while [[ $(swarm_running "$1" "$IMAGE2") -lt 20 ]]; do sleep 0.1; done
  elapsed "$t0" "$(now)"
}
swarm_down() {  # NAME
  D service rm "$1" >/dev/null
  for _ in $(seq 600); do [[ -z "$(D ps -q --filter "label=com.docker.swarm.service.name=$1")" ]] && return; sleep 0.1; done
}

# The engine's floor: N containers created beforehand, started all at once with the CLI.
floor() {  # REPLICAS -> seconds
  local i t0 t
  for i in $(seq "$1"); do D create --network host --name "floor$i" "$IMAGE" /bin/busybox sh -c "$CMD" >/dev/null; done
  t0=$(now)
  for i in $(seq "$1"); do D start "floor$i" >/dev/null & done
  wait
  t=$(elapsed "$t0" "$(now)")
  for i in $(seq "$1"); do D rm -f "floor$i" >/dev/null & done
  wait
  echo "$t"
}

ratio() { python3 -c "print(f'{$2 / $1:.2f}x')"; }
printf '%-28s %10s %10s %8s %12s\n' "scenario" "capstan s" "swarm s" "ratio" "engine floor"
for run in $(seq "$RUNS"); do
  for n in 20 50; do
    c=$(capstan_up "c$n" "$n"); capstan_down "c$n"
    s=$(swarm_up "s$n" "$n"); swarm_down "s$n"
    f=$(floor "$n")
    printf '%-28s %10s %10s %8s %12s\n' "apply $n replicas (run $run)" "$c" "$s" "$(ratio "$c" "$s")" "$f"
  done
  c=$(capstan_up cu 20 >/dev/null; capstan_update cu); capstan_down cu
  s=$(swarm_up su 20 >/dev/null; swarm_update su); swarm_down su
  printf '%-28s %10s %10s %8s\n' "rolling update 20 (run $run)" "$c" "$s" "$(ratio "$c" "$s")"
done
kill -0 "$CPID" 2>/dev/null || { echo "swarm.sh: capstan died during the benchmark" >&2; tail -20 "$TMP/capstan.log" >&2; exit 1; }
