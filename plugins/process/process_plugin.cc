// The entry point of capstan-driver-process.so: the SDK's C table over ProcessDriver
// (process_driver.h). The only symbol the module exports is capstan_driver_entry.
#include "capstan/driver_sdk.hpp"
#include "plugins/process/process_driver.h"

CAPSTAN_DEFINE_DRIVER(capstan::plugins::process::ProcessDriver)
