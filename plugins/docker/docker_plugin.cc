// The entry point of capstan-driver-docker.so: the SDK's C table over DockerDriver
// (docker_driver.h). The only symbol the module exports is capstan_driver_entry.
#include "capstan/driver_sdk.hpp"
#include "plugins/docker/docker_driver.h"

CAPSTAN_DEFINE_DRIVER(capstan::plugins::docker::DockerDriver)
