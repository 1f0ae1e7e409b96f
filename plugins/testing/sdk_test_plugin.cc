// Driver plugins built on the SDK that fail in the ways the SDK must contain, for
// node/plugin_loader_test.cc. Built once per kind with CAPSTAN_TEST_PLUGIN_KIND and
// CAPSTAN_TEST_PLUGIN_NAME defined:
//   KIND_CREATE_FAILS: Create answers INVALID_CONFIG;
//   KIND_THROWS: Create throws when config.throwInCreate; GetFingerprint throws a std::exception,
//     Start a std::logic_error, Inspect an int (not a std::exception); the SDK must turn each into
//     CAPSTAN_ERR_INTERNAL;
//   KIND_WRONG_NAME: a working driver whose table name differs from its file name.
#include <memory>
#include <stdexcept>

#include "capstan/driver_sdk.hpp"

#define KIND_CREATE_FAILS 1
#define KIND_THROWS 2
#define KIND_WRONG_NAME 3

namespace {

namespace sdk = capstan::sdk;

class TestDriver final : public sdk::Driver {
 public:
  static constexpr char kName[] = CAPSTAN_TEST_PLUGIN_NAME;
  static constexpr char kVersion[] = "0.0.1";

  static sdk::Result<std::unique_ptr<sdk::Driver>> Create(const nlohmann::json& config, const sdk::Host& /*host*/) {
#if CAPSTAN_TEST_PLUGIN_KIND == KIND_CREATE_FAILS
    (void)config;
    return sdk::InvalidConfig("field \"endpoint\" is required");
#else
    if (config.is_object() && config.value("throwInCreate", false)) throw std::runtime_error("boom in create");
    return std::make_unique<TestDriver>();
#endif
  }

  sdk::Capabilities GetCapabilities() override { return {}; }
  sdk::Result<sdk::Fingerprint> GetFingerprint() override {
    if (kThrows) throw std::runtime_error("boom in fingerprint");
    return sdk::Fingerprint{};
  }
  sdk::Result<sdk::PodRunHandle> Start(const sdk::PodRunSpec& /*spec*/) override {
    if (kThrows) throw std::logic_error("boom in start");
    return sdk::Unsupported("nothing runs here");
  }
  sdk::Result<void> Recover(const sdk::PodRunHandle& h) override { return sdk::NotFound("no run " + h.id); }
  sdk::Result<sdk::WaitResult> Wait(const sdk::PodRunHandle& h, std::chrono::milliseconds) override {
    return sdk::NotFound("no run " + h.id);
  }
  sdk::Result<void> Stop(const sdk::PodRunHandle& h, std::chrono::milliseconds) override {
    return sdk::NotFound("no run " + h.id);
  }
  sdk::Result<void> Remove(const sdk::PodRunHandle&) override { return sdk::Ok(); }
  sdk::Result<sdk::PodRunStatus> Inspect(const sdk::PodRunHandle& h) override {
    if (kThrows) throw 42;
    return sdk::NotFound("no run " + h.id);
  }
  sdk::Result<std::vector<sdk::PodRunHandle>> List(const std::map<std::string, std::string>&) override {
    return std::vector<sdk::PodRunHandle>{};
  }

 private:
  static constexpr bool kThrows = CAPSTAN_TEST_PLUGIN_KIND == KIND_THROWS;
};

}  // namespace

CAPSTAN_DEFINE_DRIVER(TestDriver)
