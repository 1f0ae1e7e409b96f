#!/usr/bin/env bash
# bench/gitops.sh: GitOps with N manifests (default 1000 ConfigMaps) against what users do without
# it (git pull + capstan apply -f DIR), in one run, on one server (docs/performance.md):
#   1. first sync: Sync created -> every object applied (Ready at the commit)
#   2. forced run with nothing new (`capstan gitops reconcile sync/NAME`: fetch, then the Sync's
#      check: one list of the objects, nothing moved, nothing read from git or applied)
#   3. spec change -> full compare run: read 1000 manifests from git, parse, list, compare,
#      nothing to apply (what every new commit costs before its own changes)
#   4. interval no-op (no new revision): the Sync's interval set to 1 s for a window; server CPU
#      over the window minus an idle window of the same length, per check; the time per check from
#      the server's "gitops sync checked" log lines
#   5. `capstan diff -f DIR` of everything (dry-run apply + GET per object), time and server CPU
#   6. the peer: `git pull` into a checkout + `capstan apply -f DIR` of everything, time and server CPU
#   7. one-file commit -> applied, triggered through the webhook (p50 of R rounds)
# Usage: bench/gitops.sh [N] [ROUNDS] [WINDOW_S]   (CAPSTAN=path/to/capstan; default build/bin/capstan)
set -euo pipefail
N=${1:-1000}
ROUNDS=${2:-5}
WINDOW=${3:-10}
CAPSTAN=${CAPSTAN:-build/bin/capstan}
CAPSTAN=$(realpath "$CAPSTAN")
here=$(dirname "$0")
tmp=$(mktemp -d /tmp/capstan-bench-gitops-XXXXXX)
source "$here/capstan_server.sh"
trap 'capstan_stop; rm -rf "$tmp"' EXIT

git init -q --bare -b main "$tmp/remote.git"
git init -q -b main "$tmp/work"
mkdir -p "$tmp/work/apps"
for i in $(seq -w 1 "$N"); do
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%s}\ndata: {key: "value %s"}\n' "$i" "$i" >"$tmp/work/apps/cm-$i.yaml"
done
g() { git -C "$tmp/work" -c user.name=b -c user.email=b@example.com -c commit.gpgsign=false "$@"; }
g add -A && g commit -q -m "$N configmaps" && g push -q "$tmp/remote.git" HEAD:main

capstan_start "$tmp" gitops --log-level info  # info: the Sync's per-check log line
K=(--kubeconfig "$tmp/data/kubeconfig.yaml")
C() { HOME="$tmp/home" "$CAPSTAN" "${K[@]}" "$@"; }
now() { date +%s.%N; }
cpu() { awk '{print ($14 + $15) / 100}' "/proc/$CPID/stat"; }  # server user+system seconds (USER_HZ 100)
# One python process polls the API itself every 10 ms (a CLI and a python process per probe would
# cost more than the step measured). poll.py REV [WEBHOOK_PATH]: with a path, it first POSTs the
# signed webhook; prints the seconds from that POST (or from its start) until the Sync is Ready at REV.
cat >"$tmp/poll.py" <<'PY'
import hashlib, hmac, json, ssl, sys, time, urllib.request
kubeconfig, want = sys.argv[1], "main@sha1:" + sys.argv[2]
server = token = None
for line in open(kubeconfig):
    line = line.strip()
    if line.startswith("server:"): server = line.split()[1].strip('"\'')
    if line.startswith("token:"): token = line.split()[1].strip('"\'')  # the YAML may quote it
ctx = ssl.create_default_context(cafile=sys.argv[3])
def call(method, path, body=None, headers={}):
    req = urllib.request.Request(server + path, data=body, method=method, headers=dict(headers))
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        return r.read()
t0 = time.monotonic()
if len(sys.argv) > 4:
    body = b'{"ref":"refs/heads/main"}'
    sig = hmac.new(b"t0ken", body, hashlib.sha256).hexdigest()
    call("POST", sys.argv[4], body, {"X-Hub-Signature-256": "sha256=" + sig})
path = "/apis/gitops.capstan.io/v1alpha1/namespaces/default/syncs/apps"
while time.monotonic() - t0 < 300:
    s = json.loads(call("GET", path, headers={"Authorization": "Bearer " + token})).get("status", {})
    ready = [c for c in s.get("conditions", []) if c.get("type") == "Ready"]
    if s.get("lastAppliedRevision") == want and ready and ready[0]["status"] == "True":
        print("%.3f" % (time.monotonic() - t0)); sys.exit(0)
    time.sleep(0.01)
sys.exit("gitops: not applied: " + want)
PY
applied_at() { python3 "$tmp/poll.py" "$tmp/data/kubeconfig.yaml" "$1" "$tmp/data/ca.crt" >/dev/null; }
last_run_ms() {  # the Sync's own duration of its last run (status.history[0])
  C get sync apps -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["history"][0]["durationMilliseconds"])'
}

C apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Secret
metadata: {name: hook}
stringData: {token: t0ken}
---
apiVersion: gitops.capstan.io/v1alpha1
kind: GitRepository
metadata: {name: infra}
spec: {url: "file://$tmp/remote.git", interval: 1h, webhook: {secretRef: {name: hook}}}
YAML
head=$(git -C "$tmp/work" rev-parse HEAD)
sleep 1
t0=$(now); c0=$(cpu)
sync_every() {  # creates or changes the Sync, with interval $1
  C apply -f - >/dev/null <<YAML
apiVersion: gitops.capstan.io/v1alpha1
kind: Sync
metadata: {name: apps}
spec: {sourceRef: {name: infra}, path: ./apps, prune: true, interval: $1}
YAML
}
sync_every 1h
applied_at "$head"
t1=$(now); c1=$(cpu)
first=$(echo "$t1 - $t0" | bc); first_cpu=$(echo "$c1 - $c0" | bc)

# 2. forced run with nothing new, through the CLI (fetch, then the Sync's check).
t0=$(now); c0=$(cpu)
C gitops reconcile sync/apps >/dev/null
t1=$(now); c1=$(cpu)
forced=$(echo "$t1 - $t0" | bc); forced_cpu=$(echo "$c1 - $c0" | bc)
forced_ms=$(last_run_ms)

# 4a. idle server CPU over the window (interval 1h: no check runs).
c0=$(cpu); sleep "$WINDOW"; c1=$(cpu)
idle_cpu=$(echo "$c1 - $c0" | bc)

# 3. spec change (interval 1 s): a full run reading and comparing everything, nothing to apply.
generation() { C get sync apps -o json | python3 -c 'import json,sys; s=json.load(sys.stdin).get("status",{}); print(s.get("observedGeneration",0))'; }
g0=$(generation)
t0=$(now); c0=$(cpu)
sync_every 1s
for _ in $(seq 6000); do [[ $(generation) -gt $g0 ]] && break; sleep 0.01; done
t1=$(now); c1=$(cpu)
compare=$(echo "$t1 - $t0" | bc); compare_cpu=$(echo "$c1 - $c0" | bc)
compare_ms=$(last_run_ms)

# 4b. interval no-ops over the same window: the log counts them and gives each one's time.
mark=$(wc -l <"$tmp/capstan.log")
c0=$(cpu); sleep "$WINDOW"; c1=$(cpu)
checks=$(tail -n +"$((mark + 1))" "$tmp/capstan.log" | grep -c 'gitops sync checked' || true)
check_ms=$(tail -n +"$((mark + 1))" "$tmp/capstan.log" | grep 'gitops sync checked' | sed -n 's/.*took_ms=\([0-9]*\).*/\1/p' |
  awk '{s += $1; n++} END {if (n) printf "%.1f", s / n; else print "nan"}')
noop=$(echo "$check_ms / 1000" | bc -l)
noop_cpu=$(echo "($c1 - $c0 - $idle_cpu) / $checks" | bc -l)
sync_every 1h

# 5. capstan diff of everything (a dry-run apply and a GET per object; nothing changes).
t0=$(now); c0=$(cpu)
C diff -f "$tmp/work/apps" >/dev/null || true
t1=$(now); c1=$(cpu)
drift=$(echo "$t1 - $t0" | bc); drift_cpu=$(echo "$c1 - $c0" | bc)

# 6. the peer: git pull into a checkout, then apply everything.
git clone -q "$tmp/remote.git" "$tmp/checkout"
t0=$(now); c0=$(cpu)
git -C "$tmp/checkout" pull -q
C apply -f "$tmp/checkout/apps" >/dev/null
t1=$(now); c1=$(cpu)
peer=$(echo "$t1 - $t0" | bc); peer_cpu=$(echo "$c1 - $c0" | bc)

# 7. one-file commits -> applied, through the webhook (its generated path, from the status).
hook_path=$(C get gitrepository infra -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["webhookPath"])')
lat=(); run_ms=()
for r in $(seq "$ROUNDS"); do
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-0001}\ndata: {key: "round %s"}\n' "$r" >"$tmp/work/apps/cm-0001.yaml"
  g add -A && g commit -q -m "round $r" && g push -q "$tmp/remote.git" HEAD:main
  head=$(git -C "$tmp/work" rev-parse HEAD)
  lat+=("$(python3 "$tmp/poll.py" "$tmp/data/kubeconfig.yaml" "$head" "$tmp/data/ca.crt" "$hook_path")")
  run_ms+=("$(last_run_ms)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p50=$(median "${lat[@]}")
run_p50=$(median "${run_ms[@]}")

printf '%-62s %10s %12s\n' "gitops, $N manifests" "seconds" "server CPU s"
printf '%-62s %10.2f %12.2f\n' "first sync (Sync created -> all applied)" "$first" "$first_cpu"
printf '%-62s %10.3f %12.3f\n' "forced run, nothing new (gitops reconcile: fetch + check)" "$forced" "$forced_cpu"
printf '%-62s %10.3f\n' "  of which the Sync's check (status.history)" "$(echo "$forced_ms / 1000" | bc -l)"
printf '%-62s %10.3f %12.3f\n' "spec change -> full compare run (read, parse, list, compare)" "$compare" "$compare_cpu"
printf '%-62s %10.3f\n' "  of which the Sync's run (status.history)" "$(echo "$compare_ms / 1000" | bc -l)"
printf '%-62s %10.4f %12.4f\n' "interval no-op, per check ($checks checks in ${WINDOW}s)" "$noop" "$noop_cpu"
printf '%-62s %10.2f %12.2f\n' "capstan diff -f DIR (no change)" "$drift" "$drift_cpu"
printf '%-62s %10.2f %12.2f\n' "peer: git pull + capstan apply -f DIR (no change)" "$peer" "$peer_cpu"
printf '%-62s %10.3f\n' "one-file commit -> applied via webhook, p50 of $ROUNDS" "$p50"
printf '%-62s %10.3f\n' "  of which the Sync's run, p50 (status.history)" "$(echo "$run_p50 / 1000" | bc -l)"
printf 'ratio peer/forced run:     %7.1f (time) %7.1f (server CPU)\n' "$(echo "$peer / $forced" | bc -l)" "$(echo "$peer_cpu / $forced_cpu" | bc -l)"
printf 'ratio peer/compare run:    %7.1f (time) %7.1f (server CPU)\n' "$(echo "$peer / $compare" | bc -l)" "$(echo "$peer_cpu / $compare_cpu" | bc -l)"
printf 'ratio peer/interval no-op: %7.1f (time) %7.1f (server CPU)\n' "$(echo "$peer / $noop" | bc -l)" "$(echo "$peer_cpu / $noop_cpu" | bc -l)"
