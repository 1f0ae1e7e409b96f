#!/usr/bin/env bash
# The seed's registry cleanup, corrected: a sequential per-tag loop of curl requests that removes
# every tag whose image is older than DAYS. As the seed: catalog, each repository's tag list, and
# per tag its manifest and its config blob (for `created`, as any age-based loop must read it),
# with jq to pick fields. Corrected: the manifest is asked with the four manifest Accept types
# (else 2.8 serves a schema1 conversion with another digest) and removed with DELETE by digest
# (distribution answers DELETE by tag with 400 DIGEST_INVALID). Used by
# bench/registry_cleanup_bench.cc as the peer; prints a request count line at the end.
#
# Usage: registry_cleanup_seed.sh REGISTRY_URL DAYS [USER:PASSWORD]
set -u
REGISTRY=$1
DAYS=$2
AUTH=()
[[ $# -ge 3 && -n "$3" ]] && AUTH=(-u "$3")
ACCEPT='application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json'
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cutoff=$(( $(date +%s) - DAYS * 86400 ))
requests=0
deleted=0

requests=$((requests + 1))
for repo in $(curl -sf "${AUTH[@]}" "$REGISTRY/v2/_catalog" | jq -r '.repositories[]'); do
  requests=$((requests + 1))
  for tag in $(curl -sf "${AUTH[@]}" "$REGISTRY/v2/$repo/tags/list" | jq -r '.tags // [] | .[]'); do
    requests=$((requests + 1))
    curl -sf "${AUTH[@]}" -H "Accept: $ACCEPT" -D "$WORK/headers" -o "$WORK/manifest" \
      "$REGISTRY/v2/$repo/manifests/$tag" || continue
    digest=
    while IFS=': ' read -r name value; do
      [[ ${name,,} == docker-content-digest ]] && digest=${value%$'\r'}
    done < "$WORK/headers"
    config=$(jq -r '.config.digest // empty' "$WORK/manifest")
    [[ -n "$digest" && -n "$config" ]] || continue
    requests=$((requests + 1))
    created=$(curl -sfL "${AUTH[@]}" "$REGISTRY/v2/$repo/blobs/$config" | jq -r '.created // empty')
    [[ -n "$created" ]] || continue
    if (( $(date -d "$created" +%s) < cutoff )); then
      requests=$((requests + 1))
      curl -sf "${AUTH[@]}" -X DELETE "$REGISTRY/v2/$repo/manifests/$digest" -o /dev/null && deleted=$((deleted + 1))
    fi
  done
done
echo "requests $requests deleted $deleted"
