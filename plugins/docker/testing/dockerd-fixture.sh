#!/usr/bin/env bash
# dockerd-fixture.sh: a private Docker engine for tests, on loopback only, sharing nothing.
#
#   dockerd-fixture.sh start [--tls] [--owner PID]   prints the fixture's directory; its env file
#                                                    (DIR/env, KEY=VALUE lines) says the rest
#   dockerd-fixture.sh restart DIR                   stops dockerd (its containers die) and starts it
#                                                    again, as a reboot of the engine would
#   dockerd-fixture.sh stop DIR                      removes everything the fixture made
#
# start makes a fresh directory /tmp/cdk.XXXXXX (short: a unix socket path has 108 bytes) and runs:
#   - dockerd with its own data root, exec root, pid file, config file and socket DIR/docker.sock,
#     --iptables=false --ip6tables=false --bridge=none (no docker0, no firewall rules: several
#     fixtures run at once and the host's network is left alone); with --tls it also listens on
#     tcp://127.0.0.1:<free port> with TLS and client certificates (a CA made for the fixture);
#   - a registry (docker-registry, when installed) on 127.0.0.1:<free port>, which dockerd trusts
#     without TLS (127.0.0.0/8 is an insecure registry by default), so pulls work without any
#     network; without it the image is only local (capstan-test/busybox:latest) and
#     CAPSTAN_TEST_REGISTRY is empty;
#   - the test image, built with no network: a rootfs of busybox-static with every applet linked,
#     imported with `docker import` as 127.0.0.1:<port>/capstan-test/busybox:latest and pushed to
#     the registry (its only tag: removing it is removing the image);
#   - a user-defined bridge network on a random 10.x.y.0/24 (with --bridge=none docker has no
#     "bridge" network); containers on it get no traffic from tests, which use 127.0.0.1 only.
# The env file: CAPSTAN_DOCKERD_DIR, CAPSTAN_DOCKER_ENDPOINT (unix://DIR/docker.sock),
# CAPSTAN_TEST_IMAGE, CAPSTAN_TEST_REGISTRY, CAPSTAN_TEST_NETWORK, and with --tls
# CAPSTAN_DOCKER_TLS_ENDPOINT, CAPSTAN_DOCKER_TLS_CA, _CERT, _KEY (the client's files).
# With --owner PID, a watchdog runs stop when that process ends, however it ends (a crashed or
# killed test leaves nothing running).
#
# Exit status of start: 0, 1 on failure (everything made is removed again), 77 when dockerd, the
# docker CLI or busybox-static is not installed (tests skip).
set -uo pipefail

DOCKER=/usr/bin/docker  # Debian's docker.io client (/usr/local/bin/docker may be another one)
BUSYBOX=/bin/busybox
self=$(readlink -f "$0")

log() { echo "dockerd-fixture: $*" >&2; }

# A TCP port on 127.0.0.1 that nothing listens on now (the race with another taker is retried
# by the callers, start_dockerd and start_registry: both fail fast when the port is taken).
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

wait_for() {  # wait_for SECONDS COMMAND...: until COMMAND succeeds
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS >= deadline)) && return 1
    sleep 0.05
  done
}

dk() { "$DOCKER" -H "unix://$dir/docker.sock" "$@"; }

make_tls() {  # a CA, a server certificate for 127.0.0.1 and a client certificate, in $dir/tls
  local t=$dir/tls
  mkdir -p "$t" || return 1
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=capstan fixture CA" \
      -keyout "$t/ca-key.pem" -out "$t/ca.pem" &&
      openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$t/server-key.pem" -out "$t/server.csr" &&
      printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$t/server.ext" &&
      openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" -CAcreateserial -days 2 \
        -extfile "$t/server.ext" -out "$t/server.pem" &&
      openssl req -newkey rsa:2048 -nodes -subj "/CN=capstan test client" -keyout "$t/key.pem" -out "$t/client.csr" &&
      printf 'extendedKeyUsage=clientAuth\n' >"$t/client.ext" &&
      openssl x509 -req -in "$t/client.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" -CAcreateserial -days 2 \
        -extfile "$t/client.ext" -out "$t/cert.pem"
  } >"$t/openssl.log" 2>&1
}

start_dockerd() {
  local attempt
  echo '{}' >"$dir/daemon.json"
  # The TLS port was free when picked; another test may take it before dockerd binds it. dockerd
  # then exits at once ("address already in use"): pick another port and start again.
  for attempt in 1 2 3; do
    local args=(--iptables=false --ip6tables=false --bridge=none --data-root "$dir/root" --exec-root "$dir/exec"
      --pidfile "$dir/dockerd.pid" --config-file "$dir/daemon.json" --shutdown-timeout 2
      -H "unix://$dir/docker.sock")
    if [[ $tls == 1 ]]; then
      tls_port=$(free_port) || return 1
      args+=(-H "tcp://127.0.0.1:$tls_port" --tlsverify --tlscacert "$dir/tls/ca.pem"
        --tlscert "$dir/tls/server.pem" --tlskey "$dir/tls/server-key.pem")
    fi
    printf '%s\n' "${args[@]}" >"$dir/dockerd.args"
    launch_dockerd && return 0
    grep -q 'address already in use' "$dir/dockerd.log" || return 1
    log "attempt $attempt: the port was taken meanwhile; trying another"
    : >"$dir/dockerd.log"
  done
  return 1
}

dockerd_up() {  # dockerd answers, or its launcher has exited (false either way but the first)
  dk version >/dev/null 2>&1 && return 0
  kill -0 "$(cat "$dir/dockerd.launcher.pid")" 2>/dev/null || return 2
  return 1
}

launch_dockerd() {  # with the arguments in $dir/dockerd.args
  local args=() deadline=$((SECONDS + 60)) rc
  mapfile -t args <"$dir/dockerd.args"
  setsid dockerd "${args[@]}" >>"$dir/dockerd.log" 2>&1 </dev/null &
  echo $! >"$dir/dockerd.launcher.pid"
  while true; do
    dockerd_up && return 0
    rc=$?
    if ((rc == 2 || SECONDS >= deadline)); then
      log "dockerd did not come up:"
      tail -20 "$dir/dockerd.log" >&2
      return 1
    fi
    sleep 0.05
  done
}

# Stops dockerd (its containers die, as at a reboot) and starts it again on the same directory.
cmd_restart() {
  dir=${1:-}
  [[ $dir =~ ^/tmp/cdk\.[A-Za-z0-9]{6}$ && -f $dir/dockerd.args ]] || { log "restart: $dir is not a fixture"; return 1; }
  stop_pid "$(cat "$dir/dockerd.pid" 2>/dev/null || cat "$dir/dockerd.launcher.pid")" 20
  launch_dockerd
}

start_registry() {
  local port
  for _ in 1 2 3; do
    port=$(free_port) || return 1
    cat >"$dir/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/registry
http:
  addr: 127.0.0.1:$port
EOF
    setsid docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 </dev/null &
    echo $! >"$dir/registry.pid"
    if wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"; then
      registry=127.0.0.1:$port
      return 0
    fi
    kill "$(cat "$dir/registry.pid")" 2>/dev/null
  done
  log "the registry did not come up:"
  tail -5 "$dir/registry.log" >&2
  return 1
}

build_image() {  # $1: the image's name
  local rootfs=$dir/rootfs a
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/www" || return 1
  cp "$BUSYBOX" "$rootfs/bin/busybox" || return 1
  for a in $("$BUSYBOX" --list); do
    [[ $a == busybox ]] || ln -sf busybox "$rootfs/bin/$a"
  done
  printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  echo "capstan fixture" >"$rootfs/www/index.html"
  tar -C "$rootfs" -cf "$dir/rootfs.tar" . || return 1
  rm -rf "$rootfs"
  dk import --change 'ENV PATH=/bin' "$dir/rootfs.tar" "$1" >/dev/null || return 1
  rm -f "$dir/rootfs.tar"
}

create_network() {
  local name=capstan-test-${dir##*.} id
  for _ in 1 2 3 4 5; do
    if id=$(dk network create --subnet "10.$((200 + RANDOM % 50)).$((RANDOM % 256)).0/24" "$name" 2>>"$dir/network.log"); then
      echo "$id" >"$dir/network.id"
      network=$name
      return 0
    fi
  done
  log "cannot create the bridge network:"
  tail -3 "$dir/network.log" >&2
  return 1
}

cmd_start() {
  tls=0
  local owner=""
  while (($#)); do
    case $1 in
      --tls) tls=1 ;;
      --owner) owner=$2; shift ;;
      *) log "unknown option $1"; return 2 ;;
    esac
    shift
  done
  command -v dockerd >/dev/null || { log "dockerd is not installed"; return 77; }
  [[ -x $DOCKER ]] || { log "$DOCKER (docker.io) is not installed"; return 77; }
  # A static busybox runs in an image with nothing else in it (no program interpreter).
  if [[ ! -x $BUSYBOX ]] || LC_ALL=C readelf -l "$BUSYBOX" 2>/dev/null | grep -q 'program interpreter'; then
    log "$BUSYBOX is not busybox-static"
    return 77
  fi
  dir=$(mktemp -d /tmp/cdk.XXXXXX) || return 1
  if [[ -n $owner ]]; then
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop "$3"' \
      watchdog "$owner" "$self" "$dir" >/dev/null 2>&1 </dev/null &
    echo $! >"$dir/watchdog.pid"
  fi
  registry="" network="" tls_port=""
  local image=capstan-test/busybox:latest
  if ! { { [[ $tls == 0 ]] || make_tls; } && start_dockerd; }; then
    cmd_stop "$dir"
    return 1
  fi
  if command -v docker-registry >/dev/null; then
    start_registry || { cmd_stop "$dir"; return 1; }
    image=$registry/capstan-test/busybox:latest
  fi
  if ! build_image "$image" || { [[ -n $registry ]] && ! dk push "$image" >"$dir/push.log" 2>&1; } || ! create_network; then
    log "setting up the engine failed"
    cmd_stop "$dir"
    return 1
  fi
  {
    echo "CAPSTAN_DOCKERD_DIR=$dir"
    echo "CAPSTAN_DOCKER_ENDPOINT=unix://$dir/docker.sock"
    echo "CAPSTAN_TEST_IMAGE=$image"
    echo "CAPSTAN_TEST_REGISTRY=$registry"
    echo "CAPSTAN_TEST_NETWORK=$network"
    if [[ $tls == 1 ]]; then
      echo "CAPSTAN_DOCKER_TLS_ENDPOINT=tcp://127.0.0.1:$tls_port"
      echo "CAPSTAN_DOCKER_TLS_CA=$dir/tls/ca.pem"
      echo "CAPSTAN_DOCKER_TLS_CERT=$dir/tls/cert.pem"
      echo "CAPSTAN_DOCKER_TLS_KEY=$dir/tls/key.pem"
    fi
  } >"$dir/env"
  echo "$dir"
}

# Whether pid $1 runs (a zombie does not: the fixture's daemons are not our children, and who
# reaps them may take its time).
alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# Kills pid $1 (if alive) with SIGTERM, then SIGKILL after $2 seconds.
stop_pid() {
  local pid=$1 grace=$2
  [[ -n $pid ]] && alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null
  local deadline=$((SECONDS + grace))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null
  while alive "$pid"; do sleep 0.05; done
}

cmd_stop() {
  dir=${1:-}
  # Only ever a fixture's own directory.
  if [[ ! $dir =~ ^/tmp/cdk\.[A-Za-z0-9]{6}$ || ! -d $dir ]]; then
    log "stop: $dir is not a fixture directory"
    return 1
  fi
  # The watchdog itself runs stop: it must not kill itself.
  local watchdog
  watchdog=$(cat "$dir/watchdog.pid" 2>/dev/null)
  [[ -n $watchdog && $watchdog != "$$" && $watchdog != "$PPID" ]] && kill "$watchdog" 2>/dev/null
  if [[ -S $dir/docker.sock ]] && dk version >/dev/null 2>&1; then
    local ids
    ids=$(dk ps -aq)
    [[ -n $ids ]] && dk rm -f $ids >/dev/null 2>&1
    [[ -f $dir/network.id ]] && dk network rm "$(cat "$dir/network.id")" >/dev/null 2>&1
  fi
  stop_pid "$(cat "$dir/registry.pid" 2>/dev/null)" 0  # it keeps nothing worth a graceful end
  stop_pid "$(cat "$dir/dockerd.pid" 2>/dev/null || cat "$dir/dockerd.launcher.pid" 2>/dev/null)" 20
  # Whatever of the engine outlived it (its containerd, shims, proxies) runs with this directory
  # on its command line.
  local f p
  for f in $(grep -laF -- "$dir/" /proc/[0-9]*/cmdline 2>/dev/null); do
    p=${f#/proc/}
    p=${p%/cmdline}
    [[ $p != "$$" && $p != "$BASHPID" ]] && kill -KILL "$p" 2>/dev/null
  done
  # A bridge left by an engine that died before removing its network.
  if [[ -f $dir/network.id ]]; then
    ip link delete "br-$(head -c 12 "$dir/network.id")" >/dev/null 2>&1
  fi
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null
  done
  rm -rf "$dir"
}

case ${1:-} in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  restart) shift; cmd_restart "$@" ;;
  *) echo "usage: $0 start [--tls] [--owner PID] | restart DIR | stop DIR" >&2; exit 2 ;;
esac
