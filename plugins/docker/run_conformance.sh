#!/usr/bin/env bash
# run_conformance.sh KIT DRIVER.so [--tls]: the SDK's conformance kit on the docker driver, against
# a private engine (testing/dockerd-fixture.sh: its own dockerd, a registry on 127.0.0.1 with the
# busybox test image, a bridge network), which is removed afterwards. With --tls the driver talks
# to the engine over tcp://127.0.0.1 with TLS and a client certificate (the module's own, static
# OpenSSL) instead of the unix socket. The script also checks that no container the kit made
# (label conformance.capstan.dev/run) is left in the engine.
set -uo pipefail
kit=$1
so=$2
tls=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
fixture=$here/testing/dockerd-fixture.sh

dir=$("$fixture" start --owner $$ $tls)
status=$?
if [[ $status == 77 ]]; then
  echo "run_conformance.sh: dockerd is not installed: skipped" >&2
  exit 77
fi
[[ $status == 0 ]] || { echo "run_conformance.sh: the test engine did not start" >&2; exit 1; }
trap '"$fixture" stop "$dir"' EXIT
# shellcheck disable=SC1091
source "$dir/env"
docker=(/usr/bin/docker -H "$CAPSTAN_DOCKER_ENDPOINT")
if [[ -z $CAPSTAN_TEST_REGISTRY ]]; then
  # The kit pulls the image (the driver declares imagePull): it must come from a registry.
  echo "run_conformance.sh: docker-registry is not installed: skipped" >&2
  exit 77
fi

if [[ $tls == --tls ]]; then
  config="{\"endpoint\": \"$CAPSTAN_DOCKER_TLS_ENDPOINT\", \"bridgeNetwork\": \"$CAPSTAN_TEST_NETWORK\",
           \"tls\": {\"ca\": \"$CAPSTAN_DOCKER_TLS_CA\", \"cert\": \"$CAPSTAN_DOCKER_TLS_CERT\",
                   \"key\": \"$CAPSTAN_DOCKER_TLS_KEY\"}}"
else
  config="{\"endpoint\": \"$CAPSTAN_DOCKER_ENDPOINT\", \"bridgeNetwork\": \"$CAPSTAN_TEST_NETWORK\"}"
fi
"$kit" "$so" --config "$config" --image "$CAPSTAN_TEST_IMAGE" --command '["sleep", "3600"]' --timeout-ms 30000
status=$?

left=$("${docker[@]}" ps -aq --filter label=conformance.capstan.dev/run)
if [[ -n $left ]]; then
  echo "run_conformance.sh: containers the kit made are left in the engine:" >&2
  "${docker[@]}" ps -a --filter label=conformance.capstan.dev/run >&2
  status=1
fi
exit $status
