#!/usr/bin/env bash
# Installs, from Debian 12 packages only, whatever Capstan needs to build, run and test that is not
# already installed. Idempotent: a second run installs nothing and is quick.
# Usage: scripts/install-deps.sh [build|test]   (test adds the engines the tests start: etcd, ...)
set -euo pipefail
want=(build-essential cmake pkg-config ccache git
      libboost-dev libboost-system-dev libcpp-httplib-dev libyaml-cpp-dev librocksdb-dev
      nlohmann-json3-dev libgtest-dev libgmock-dev libssl-dev libjemalloc-dev
      libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc)
want+=(haproxy)  # run time: `capstan server` runs it (--lb=haproxy); the tests start it too
want+=(libgit2-dev gpgv)
if [[ "${1:-build}" == test ]]; then
  want+=(etcd-server etcd-client curl procps docker.io containerd runc busybox-static docker-registry)
  want+=(openssl gnupg)
  want+=(openssh-server)  # the GitOps e2e serves git over ssh:// from its own sshd on 127.0.0.1
  want+=(jq)  # bench/registry_cleanup_seed.sh, the seed's curl + jq loop
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
