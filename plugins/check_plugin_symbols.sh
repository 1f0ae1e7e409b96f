#!/usr/bin/env bash
# check_plugin_symbols.sh PLUGIN.so [LIBS-REGEX]: a driver plugin exports capstan_driver_entry and
# nothing else, and needs nothing from the host:
#   - every NEEDED library is the C/C++ runtime, or matches LIBS-REGEX (an extended regex of
#     library names the plugin is built on, e.g. 'libgrpc\+\+|libprotobuf-lite' for containerd);
#   - every undefined symbol is defined by a library the module brings in with it (directly or
#     through those libraries), so nothing is left for the host to provide.
set -euo pipefail
so=$1
extra=${2:-}
fail=0
exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sort)
if [[ "$exported" != "capstan_driver_entry" ]]; then
  echo "$so: exports more than capstan_driver_entry:"; echo "$exported"; fail=1
fi
runtime='libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt|ld-linux[-a-z0-9_]*'
allowed="^($runtime${extra:+|$extra})\.so"
bad_needed=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -Ev "$allowed" || true)
if [[ -n "$bad_needed" ]]; then
  echo "$so: needs libraries beyond the C/C++ runtime${extra:+ and $extra}:"; echo "$bad_needed"; fail=1
fi
if ldd "$so" | grep -q 'not found'; then
  echo "$so: libraries it needs are missing:"; ldd "$so" | grep 'not found'; fail=1
fi
libs=$(ldd "$so" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
defined=$(for lib in $libs; do nm -D --defined-only "$lib" 2>/dev/null | awk '{print $3}'; done | sed 's/@.*//' | sort -u)
undefined=$(nm -D --undefined-only "$so" | awk '$1 == "U" {print $2}' | sed 's/@.*//' |
  grep -Ev '^(__gmon_start__|_ITM_(de)?registerTMCloneTable)$' | sort -u || true)
unresolved=$(comm -23 <(echo "$undefined") <(echo "$defined") | sed '/^$/d')
if [[ -n "$unresolved" ]]; then
  echo "$so: undefined symbols no library it needs defines (the host would have to):"; echo "$unresolved"; fail=1
fi
[[ $fail == 0 ]] && echo "$so: exports only capstan_driver_entry; every symbol it needs comes from its own libraries"
exit $fail
