// The entry point of capstan-driver-containerd.so: the SDK's C table over ContainerdDriver
// (containerd_driver.h). The only symbol the module exports is capstan_driver_entry.
#include "capstan/driver_sdk.hpp"
#include "plugins/containerd/containerd_driver.h"

CAPSTAN_DEFINE_DRIVER(capstan::plugins::containerd::ContainerdDriver)
