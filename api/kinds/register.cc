// RegisterBuiltinKinds: explicit calls rather than static registration objects, because a static
// library's unreferenced objects are dropped by the linker and registration order would be
// unspecified. Idempotent: RegisterKind aborts on duplicates, so this runs its body once.
#include <mutex>

#include "api/kind.h"
#include "api/kinds/kinds.h"

namespace capstan::api {

void RegisterBuiltinKinds() {
  static std::once_flag once;
  std::call_once(once, [] {
    kinds::RegisterNamespace();
    kinds::RegisterConfigMapAndSecret();
    kinds::RegisterEvent();
    kinds::RegisterPod();
    kinds::RegisterApps();
    kinds::RegisterNode();
    kinds::RegisterLease();
    kinds::RegisterService();
    kinds::RegisterEndpointSlice();
    kinds::RegisterIngress();
    kinds::RegisterRegistryCleanupPolicy();
    kinds::RegisterGitOps();
  });
}

}  // namespace capstan::api
