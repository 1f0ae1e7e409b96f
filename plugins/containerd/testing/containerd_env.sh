#!/usr/bin/env bash
# containerd_env.sh: a private containerd with its CRI plugin, for tests (the containerd driver's
# own, the conformance kit, later e2e). Needs root, containerd, ctr, runc and busybox-static; no
# network: the images it imports are built here from /bin/busybox.
#
#   containerd_env.sh start DIR   DIR: a fresh, empty directory with a short path (the socket,
#                                 DIR/containerd.sock, must fit in 108 bytes). Writes the config,
#                                 starts containerd as a child of its own session, waits until it
#                                 answers, builds and imports the test images into the k8s.io
#                                 namespace, and prints what a test needs as KEY=VALUE lines:
#                                   CONTAINERD_PID, CONTAINERD_SOCKET, CONTAINERD_ENDPOINT,
#                                   CONTAINERD_TEST_IMAGE, CONTAINERD_PAUSE_IMAGE
#                                 Exits 3 (and prints why) when containerd is not installed.
#   containerd_env.sh stop DIR    Deletes every task of that containerd, stops it, kills any shim
#                                 it left (found by its socket path, never by name alone), unmounts
#                                 what is still mounted under DIR and removes DIR.
#   containerd_env.sh image OUT.tar NAME CMD...
#                                 Builds a docker-archive image NAME whose one layer is busybox and
#                                 its applets (sh, httpd, sleep, nc, wget, cat, echo, ...) and whose
#                                 command is CMD (no network, no docker).
#
# Nothing is shared between two environments: each has its own root, state, socket, CNI and opt
# directories, and the CRI streaming server listens on a port the kernel picks on 127.0.0.1. Shim
# sockets live in /run/containerd/s/ under a hash of the socket path, so they never collide.
set -uo pipefail

readonly TEST_IMAGE=docker.io/capstan-test/busybox:1
readonly PAUSE_IMAGE=docker.io/capstan-test/pause:1

die() {
  echo "containerd_env.sh: $*" >&2
  exit 1
}

# ---- Images -----------------------------------------------------------------------------------

goarch() {
  case "$(uname -m)" in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    armv7l) echo arm ;;
    *) uname -m ;;
  esac
}

# A JSON array of strings from the arguments (test commands are plain words: no escaping needed
# beyond quotes and backslashes).
json_array() {
  local out="" a
  for a in "$@"; do
    a=${a//\\/\\\\}
    a=${a//\"/\\\"}
    out+="${out:+,}\"$a\""
  done
  echo "[$out]"
}

build_image() {
  local out=$1 name=$2
  shift 2
  local busybox
  busybox=$(command -v busybox) || die "busybox is not installed (apt install busybox-static)"
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/capstan-image.XXXXXX") || die "mktemp failed"
  local root=$work/rootfs
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/var/www" || die "mkdir"
  chmod 1777 "$root/tmp"
  cp "$busybox" "$root/bin/busybox" || die "cannot copy $busybox"
  local applet
  for applet in $("$busybox" --list); do
    [[ "$applet" == busybox || "$applet" == *"/"* || "$applet" == "["* ]] && continue
    ln -s busybox "$root/bin/$applet"
  done
  ln -s busybox "$root/bin/["
  echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
  echo "root:x:0:" >"$root/etc/group"
  # A reproducible layer: sorted, owned by root, one fixed time.
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$work/layer.tar" -C "$root" . ||
    die "cannot tar the layer"
  local diff_id
  diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  local cmd
  cmd=$(json_array "$@")
  local path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  {
    printf '{"architecture":"%s","os":"linux",' "$(goarch)"
    printf '"config":{"Env":["PATH=%s"],"Cmd":%s,"WorkingDir":"/"},' "$path" "$cmd"
    printf '"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},' "$diff_id"
    printf '"history":[{"created_by":"capstan containerd_env.sh"}]}'
  } >"$work/config.json"
  local config_id
  config_id=$(sha256sum "$work/config.json" | cut -d' ' -f1)
  mkdir -p "$work/archive" || die "mkdir"
  mv "$work/config.json" "$work/archive/$config_id.json"
  mv "$work/layer.tar" "$work/archive/$diff_id.tar"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s.tar"]}]' "$config_id" "$name" "$diff_id" \
    >"$work/archive/manifest.json"
  tar -cf "$out" -C "$work/archive" . || die "cannot write $out"
  rm -rf "$work"
}

# ---- Start ------------------------------------------------------------------------------------

write_config() {
  local dir=$1
  cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[debug]
  level = "info"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # Sandboxes ask for oom_score_adj -998; where the test runs may forbid lowering it (a
  # restricted VM, a user namespace), so never go below containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$dir/cni/bin"
    conf_dir = "$dir/cni/net.d"
EOF
}

ctr_() {
  ctr -a "$DIR/containerd.sock" "$@"
}

start() {
  if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
    echo "containerd is not installed (no containerd or ctr in PATH)" >&2
    exit 3
  fi
  [[ -d "$DIR" ]] || mkdir -p "$DIR" || die "cannot create $DIR"
  (( ${#DIR} + 20 <= 108 )) || die "$DIR is too long for a unix socket path"
  mkdir -p "$DIR/cni/bin" "$DIR/cni/net.d" "$DIR/opt" "$DIR/images" || die "mkdir under $DIR"
  write_config "$DIR"
  setsid containerd --config "$DIR/config.toml" </dev/null >"$DIR/containerd.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$DIR/containerd.pid"
  local i
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$DIR/containerd.log" >&2; die "containerd exited at start"; }
    # The CRI plugin is up once it has started its event monitor (then RunPodSandbox works).
    if [[ -S "$DIR/containerd.sock" ]] && ctr_ version >/dev/null 2>&1 &&
      grep -q 'Start event monitor' "$DIR/containerd.log"; then
      break
    fi
    sleep 0.1
  done
  ((i < 300)) || { tail -20 "$DIR/containerd.log" >&2; die "containerd did not answer within 30 s"; }
  ctr_ plugins ls 2>/dev/null | grep -E 'io\.containerd\.grpc\.v1 +cri +.* ok' >/dev/null ||
    { tail -20 "$DIR/containerd.log" >&2; die "containerd's CRI plugin is not loaded"; }
  build_image "$DIR/images/busybox.tar" "$TEST_IMAGE" sh
  build_image "$DIR/images/pause.tar" "$PAUSE_IMAGE" /bin/busybox sleep 2147483647
  ctr_ -n k8s.io images import "$DIR/images/busybox.tar" >/dev/null || die "cannot import $TEST_IMAGE"
  ctr_ -n k8s.io images import "$DIR/images/pause.tar" >/dev/null || die "cannot import $PAUSE_IMAGE"
  echo "CONTAINERD_PID=$pid"
  echo "CONTAINERD_SOCKET=$DIR/containerd.sock"
  echo "CONTAINERD_ENDPOINT=unix://$DIR/containerd.sock"
  echo "CONTAINERD_TEST_IMAGE=$TEST_IMAGE"
  echo "CONTAINERD_PAUSE_IMAGE=$PAUSE_IMAGE"
}

# ---- Stop -------------------------------------------------------------------------------------

# Pids of the shims this containerd started: their command line names its socket.
shims() {
  local p cmd
  for p in /proc/[0-9]*; do
    cmd=$({ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
    [[ "$cmd" == *containerd-shim* && "$cmd" == *"-address $DIR/containerd.sock "* ]] && echo "${p#/proc/}"
  done
}

stop() {
  [[ -d "$DIR" && -f "$DIR/config.toml" ]] || die "$DIR is not a containerd_env.sh directory"
  local pid=""
  [[ -f "$DIR/containerd.pid" ]] && pid=$(<"$DIR/containerd.pid")
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    # What tests left: killed and deleted through containerd, so runc removes their cgroups.
    local ns task
    for ns in $(ctr_ namespaces ls -q 2>/dev/null); do
      for task in $(ctr_ -n "$ns" tasks ls -q 2>/dev/null); do
        ctr_ -n "$ns" tasks delete --force "$task" >/dev/null 2>&1
      done
    done
    kill -TERM "$pid" 2>/dev/null
    local i
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  local left
  left=$(shims)
  [[ -n "$left" ]] && kill -KILL $left 2>/dev/null
  for ((i = 0; i < 50; i++)); do
    [[ -z "$(shims)" ]] && break
    sleep 0.1
  done
  # Deepest mount points first (rootfs overlays, sandbox shm).
  local m
  for m in $(awk -v d="$DIR/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done
  rm -rf "$DIR"
}

case "${1:-}" in
  start)
    [[ $# == 2 ]] || die "usage: containerd_env.sh start DIR"
    DIR=$(realpath -m "$2")
    start
    ;;
  stop)
    [[ $# == 2 ]] || die "usage: containerd_env.sh stop DIR"
    DIR=$(realpath -m "$2")
    stop
    ;;
  image)
    [[ $# -ge 4 ]] || die "usage: containerd_env.sh image OUT.tar NAME CMD..."
    shift
    build_image "$@"
    ;;
  *)
    die "usage: containerd_env.sh start|stop DIR, or image OUT.tar NAME CMD..."
    ;;
esac
