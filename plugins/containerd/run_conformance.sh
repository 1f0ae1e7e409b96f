#!/usr/bin/env bash
# run_conformance.sh KIT DRIVER.so: the SDK's conformance kit on the containerd driver, against a
# private containerd (testing/containerd_env.sh) in a fresh directory that is removed afterwards.
# The kit's containers run the test image (busybox, imported locally: nothing is pulled) with
# `sleep 3600`. Afterwards the script checks that no container or sandbox is left in containerd
# and no run's log directory is left, then stops containerd and every shim it started.
# Exits 77 (CTest's skip) when containerd is not installed.
set -uo pipefail
kit=$1
so=$2
here=$(dirname "$(readlink -f "$0")")
env_sh=$here/testing/containerd_env.sh
dir=$(mktemp -d /tmp/ccd.XXXXXX) || exit 1
trap '"$env_sh" stop "$dir" >/dev/null 2>&1 || rm -rf "$dir"' EXIT

out=$("$env_sh" start "$dir" 2>&1)
status=$?
if [[ $status == 3 ]]; then
  echo "run_conformance.sh: skipped: $out"
  exit 77
fi
if [[ $status != 0 ]]; then
  echo "run_conformance.sh: cannot start containerd: $out" >&2
  exit 1
fi
endpoint="" image="" socket=""
while IFS='=' read -r key value; do
  case "$key" in
    CONTAINERD_ENDPOINT) endpoint=$value ;;
    CONTAINERD_SOCKET) socket=$value ;;
    CONTAINERD_TEST_IMAGE) image=$value ;;
  esac
done <<<"$out"

"$kit" "$so" --config "{\"endpoint\": \"$endpoint\", \"logDir\": \"$dir/logs\", \"pollIntervalMs\": 100}" \
  --image "$image" --command '["sleep", "3600"]' --timeout-ms 60000
status=$?

# Sandboxes are containerd containers too: none of either may be left.
left=$(ctr -a "$socket" -n k8s.io containers ls -q 2>&1)
if [[ -n "$left" ]]; then
  echo "run_conformance.sh: containers or sandboxes the kit started are left in containerd:" >&2
  echo "$left" >&2
  status=1
fi
logs=$(ls -A "$dir/logs" 2>/dev/null)
if [[ -n "$logs" ]]; then
  echo "run_conformance.sh: log directories of removed runs are left: $logs" >&2
  status=1
fi
exit $status
