// MakeDriver: the RuntimeDriver named by Node spec.driver.name, built from spec.driver.config —
// what `capstan server --driver NAME` calls. Only in-process drivers exist until the driver ABI
// lands; then this becomes the plugin loader's front door.
//
// Known names: "fake" (FakeDriver; config as in fake_driver.h). Other names (docker, containerd,
// process, third-party plugins) answer kNotFound "driver not available in this build"; a bad
// config answers the driver's kInvalid.
//
// Thread-safety: stateless.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "controller/runtime/clock.h"
#include "node/runtime_driver.h"

namespace capstan::node {

// `clock` (nullptr: Clock::Real()) must outlive the driver.
Result<std::unique_ptr<RuntimeDriver>> MakeDriver(const std::string& name, const nlohmann::json& config,
                                                  controller::Clock* clock = nullptr);

}  // namespace capstan::node
