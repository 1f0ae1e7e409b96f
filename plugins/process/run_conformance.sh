#!/usr/bin/env bash
# run_conformance.sh KIT DRIVER.so: the SDK's conformance kit on the process driver, in a fresh
# state directory that is removed afterwards. The kit's containers run `sleep 3600.<token>` (GNU
# sleep takes a fraction), a command line unique to this run, so that the script can check that
# nothing the kit started is still running when it ends (and kill, by pid, what is).
set -uo pipefail
kit=$1
so=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/capstan-process-conformance.XXXXXX") || exit 1
token="$$${RANDOM}"
trap 'rm -rf "$dir"' EXIT

leftovers() {
  local p cmd
  for p in /proc/[0-9]*; do
    cmd=$({ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
    [[ "$cmd" == "sleep 3600.${token} " ]] && echo "${p#/proc/}"
  done
}

"$kit" "$so" --config "{\"stateDir\": \"$dir/state\"}" --command "[\"sleep\", \"3600.${token}\"]" --timeout-ms 30000
status=$?

# SIGKILL lands asynchronously: give the last stop a moment.
for _ in $(seq 1 100); do
  [[ -z "$(leftovers)" ]] && break
  sleep 0.05
done
left=$(leftovers)
if [[ -n "$left" ]]; then
  echo "run_conformance.sh: processes the kit started are still running: $left" >&2
  kill -KILL $left 2>/dev/null
  status=1
fi
runs=$(ls -A "$dir/state/runs" 2>/dev/null)
if [[ -n "$runs" ]]; then
  echo "run_conformance.sh: run records left in the state directory: $runs" >&2
  status=1
fi
exit $status
