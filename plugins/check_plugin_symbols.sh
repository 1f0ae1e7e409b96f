#!/usr/bin/env bash
# check_plugin_symbols.sh PLUGIN.so: a driver plugin exports capstan_driver_entry and nothing else,
# and needs nothing from the host: every undefined symbol is versioned by the C/C++ runtime
# (GLIBC_, GLIBCXX_, CXXABI_, GCC_) and every NEEDED library is one of those runtimes.
set -euo pipefail
so=$1
fail=0
exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sort)
if [[ "$exported" != "capstan_driver_entry" ]]; then
  echo "$so: exports more than capstan_driver_entry:"; echo "$exported"; fail=1
fi
bad_undefined=$(nm -D --undefined-only "$so" | awk '{print $2}' |
  grep -Ev '@(GLIBC|GLIBCXX|CXXABI|GCC)_[0-9.]+$' | grep -Ev '^(__gmon_start__|_ITM_(de)?registerTMCloneTable)$' || true)
if [[ -n "$bad_undefined" ]]; then
  echo "$so: undefined symbols not provided by the C/C++ runtime:"; echo "$bad_undefined"; fail=1
fi
bad_needed=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
  grep -Ev '^(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|ld-linux[-a-z0-9_]*)\.so' || true)
if [[ -n "$bad_needed" ]]; then
  echo "$so: needs libraries beyond the C/C++ runtime:"; echo "$bad_needed"; fail=1
fi
[[ $fail == 0 ]] && echo "$so: exports only capstan_driver_entry; needs only the C/C++ runtime"
exit $fail
