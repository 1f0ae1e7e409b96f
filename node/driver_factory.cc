#include "node/driver_factory.h"

#include <utility>

#include "node/fake_driver.h"

namespace capstan::node {

Result<std::unique_ptr<RuntimeDriver>> MakeDriver(const std::string& name, const nlohmann::json& config,
                                                  controller::Clock* clock) {
  if (name == FakeDriver::kName) {
    auto parsed = FakeDriverConfig::FromJson(config);
    if (!parsed.ok()) return parsed.status();
    return std::unique_ptr<RuntimeDriver>(new FakeDriver(std::move(*parsed), clock));
  }
  return Status::NotFound("driver \"" + name + "\" is not available in this build (known: fake)");
}

}  // namespace capstan::node
