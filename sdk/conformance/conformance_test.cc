// Conformance checks of everything but a run's life: ABI negotiation, the table, configuration,
// capabilities, fingerprint, malformed requests (INVALID_ARGUMENT), unknown runs (NOT_FOUND, and
// OK for remove), and optional operations answering UNSUPPORTED exactly when not declared.
#include <dlfcn.h>

#include <filesystem>

#include "sdk/conformance/conformance.h"

namespace capstan::conformance {
namespace {

using json = nlohmann::json;
using node::PluginOp;

void NoLog(void*, int32_t, const char*) {}
void NoEvent(void*, const char*) {}
const capstan_host_api kQuietHost = {sizeof(capstan_host_api), CAPSTAN_DRIVER_ABI_VERSION, nullptr, &NoLog, &NoEvent};

// The entry point itself, outside the host's loader: negotiation is the first contract.
TEST(Negotiation, EntryPointNegotiatesTheAbiVersion) {
  void* h = dlopen(std::filesystem::absolute(GetOptions().plugin).c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  auto entry = reinterpret_cast<capstan_driver_entry_fn>(dlsym(h, CAPSTAN_DRIVER_ENTRY_SYMBOL));
  ASSERT_NE(entry, nullptr) << "the plugin does not export " CAPSTAN_DRIVER_ENTRY_SYMBOL;

  const capstan_driver_api* api = nullptr;
  ASSERT_EQ(entry(1, CAPSTAN_DRIVER_ABI_VERSION, &kQuietHost, &api), CAPSTAN_OK);
  ASSERT_NE(api, nullptr);
  EXPECT_GE(api->struct_size, CAPSTAN_DRIVER_API_MIN_SIZE);
  EXPECT_GE(api->abi_version, 1u);
  EXPECT_LE(api->abi_version, CAPSTAN_DRIVER_ABI_VERSION);

  // The same answer every time.
  const capstan_driver_api* again = nullptr;
  EXPECT_EQ(entry(1, CAPSTAN_DRIVER_ABI_VERSION, &kQuietHost, &again), CAPSTAN_OK);
  EXPECT_EQ(again, api);

  // A host that speaks only versions from the future: ABI_MISMATCH and no table.
  const capstan_driver_api* none = api;
  EXPECT_EQ(entry(1000, 1001, &kQuietHost, &none), CAPSTAN_ERR_ABI_MISMATCH);
  EXPECT_EQ(none, nullptr);
  dlclose(h);
}

TEST(Negotiation, LoaderAcceptsTheTableAndTheFileName) {
  auto lib = node::PluginLibrary::Load(GetOptions().plugin);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  const std::string file = std::filesystem::path(GetOptions().plugin).filename().string();
  EXPECT_EQ(file, CAPSTAN_DRIVER_FILE_PREFIX + (*lib)->name() + CAPSTAN_DRIVER_FILE_SUFFIX)
      << "the host finds driver \"" << (*lib)->name() << "\" only under that file name";
  EXPECT_FALSE((*lib)->version().empty()) << "the table's version is empty";
}

class Config : public DriverTest {};

TEST_F(Config, MalformedConfigDocumentIsInvalidConfig) {
  for (const std::string& doc : {std::string("not json"), std::string("[]"),
                                 std::string(R"({"apiVersion": "driver.capstan.dev/v0", "kind": "DriverConfig"})"),
                                 std::string(R"({"apiVersion": "driver.capstan.dev/v1", "kind": "Fingerprint"})")}) {
    auto inst = node::PluginInstance::CreateFromDocument(library_, doc);
    ASSERT_FALSE(inst.ok()) << "create accepted " << doc;
    EXPECT_EQ(node::DriverCodeOf(inst.status()), CAPSTAN_ERR_INVALID_CONFIG) << inst.status().ToString();
  }
}

TEST_F(Config, SeveralInstancesCoexist) {
  auto second = node::PluginInstance::Create(library_, GetOptions().config);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  auto fp = (*second)->CallDoc<sdk::Fingerprint>(PluginOp::kFingerprint, sdk::FingerprintRequest{});
  EXPECT_TRUE(fp.ok()) << fp.status().ToString();
}

class Capabilities : public DriverTest {};

TEST_F(Capabilities, DocumentShape) {
  node::PluginReply reply = Raw(PluginOp::kCapabilities, sdk::Encode(sdk::CapabilitiesRequest{}));
  ASSERT_EQ(reply.code, CAPSTAN_OK) << reply.error;
  const json doc = json::parse(reply.json, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << reply.json;
  EXPECT_EQ(doc.value("apiVersion", ""), CAPSTAN_DRIVER_API_VERSION);
  EXPECT_EQ(doc.value("kind", ""), "Capabilities");
  for (const char* field : {"exec", "logs", "imagePull", "images", "exitEvents", "remoteEndpoint"}) {
    EXPECT_TRUE(doc.contains(field) && doc[field].is_boolean()) << "capabilities." << field << " must be a boolean";
  }
  // Added later (imageFs): optional, a boolean when present.
  EXPECT_TRUE(!doc.contains("imageFs") || doc["imageFs"].is_boolean()) << "capabilities.imageFs must be a boolean";
  ASSERT_TRUE(doc.contains("networkModes") && doc["networkModes"].is_array()) << reply.json;
  EXPECT_FALSE(doc["networkModes"].empty());
  for (const json& m : doc["networkModes"]) {
    EXPECT_TRUE(m == "host" || m == "bridge" || m == "none") << "unknown network mode " << m.dump();
  }
}

TEST_F(Capabilities, ConstantForTheInstance) {
  auto a = Must<sdk::Capabilities>(PluginOp::kCapabilities, sdk::CapabilitiesRequest{});
  auto b = Must<sdk::Capabilities>(PluginOp::kCapabilities, sdk::CapabilitiesRequest{});
  EXPECT_EQ(sdk::Encode(a), sdk::Encode(b));
}

class Fingerprint : public DriverTest {};

TEST_F(Fingerprint, DescribesTheHostAndTheRuntime) {
  auto fp = Must<sdk::Fingerprint>(PluginOp::kFingerprint, sdk::FingerprintRequest{});
  EXPECT_FALSE(fp.os.empty());
  EXPECT_FALSE(fp.arch.empty());
  EXPECT_FALSE(fp.runtime_version.empty());
  EXPECT_NE(fp.runtime_version.find("://"), std::string::npos) << "runtimeVersion is <runtime>://<version>";
  EXPECT_TRUE(fp.capacity.is_object());
  for (auto it = fp.capacity.begin(); it != fp.capacity.end(); ++it) {
    EXPECT_TRUE(it->is_string()) << "capacity." << it.key() << " must be a quantity string";
  }
  if (!fp.healthy) {
    EXPECT_FALSE(fp.message.empty()) << "an unhealthy fingerprint says why";
  }
}

class InvalidArgument : public DriverTest {};

TEST_F(InvalidArgument, MalformedSpecsStartNothing) {
  const json good = json::parse(sdk::Encode(Spec(1)));
  auto with = [&](const std::function<void(json&)>& change) {
    json j = good;
    change(j);
    return j.dump();
  };
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"not JSON", "{"},
      {"not an object", "[]"},
      {"another apiVersion", with([](json& j) { j["apiVersion"] = "driver.capstan.dev/v0"; })},
      {"another kind", with([](json& j) { j["kind"] = "PodRunHandle"; })},
      {"no pod", with([](json& j) { j.erase("pod"); })},
      {"no pod uid", with([](json& j) { j["pod"].erase("uid"); })},
      {"no containers", with([](json& j) { j.erase("containers"); })},
      {"empty containers", with([](json& j) { j["containers"] = json::array(); })},
      {"container without name", with([](json& j) { j["containers"][0].erase("name"); })},
      {"container without image", with([](json& j) { j["containers"][0]["image"] = ""; })},
      {"duplicate container names", with([](json& j) { j["containers"].push_back(j["containers"][0]); })},
      {"command not an array", with([](json& j) { j["containers"][0]["command"] = "sleep 1"; })},
      {"port 0", with([](json& j) {
         j["containers"][0]["ports"] = {{{"containerPort", 0}}};
       })},
      {"unknown network mode", with([](json& j) { j["networkMode"] = "carrier-pigeon"; })},
      {"labels not strings", with([](json& j) { j["labels"]["x"] = 1; })},
  };
  for (const auto& [what, doc] : bad) ExpectCodeRaw(CAPSTAN_ERR_INVALID_ARGUMENT, PluginOp::kStart, doc, what);
  auto list = Must<sdk::PodRunList>(PluginOp::kList, sdk::ListRequest{{{kRunLabel, RunToken()}}});
  EXPECT_TRUE(list.items.empty()) << "a rejected spec started a run";
}

TEST_F(InvalidArgument, MalformedRequests) {
  const std::string no_id = R"({"apiVersion": "driver.capstan.dev/v1", "kind": "HandleRequest", "handle": {}})";
  const std::string no_handle = R"({"apiVersion": "driver.capstan.dev/v1", "kind": "HandleRequest"})";
  for (PluginOp op : {PluginOp::kInspect, PluginOp::kRemove, PluginOp::kRecover}) {
    ExpectCodeRaw(CAPSTAN_ERR_INVALID_ARGUMENT, op, no_id, "a handle without id");
    ExpectCodeRaw(CAPSTAN_ERR_INVALID_ARGUMENT, op, no_handle, "no handle");
    ExpectCodeRaw(CAPSTAN_ERR_INVALID_ARGUMENT, op, "", "an empty request");
  }
  sdk::PodRunHandle h;
  h.id = "x";
  ExpectCodeRaw(
      CAPSTAN_ERR_INVALID_ARGUMENT, PluginOp::kStop,
      R"({"apiVersion": "driver.capstan.dev/v1", "kind": "StopRequest", "handle": {"id": "x"}, "gracePeriodMs": -1})",
      "a negative grace period");
  ExpectCodeRaw(
      CAPSTAN_ERR_INVALID_ARGUMENT, PluginOp::kWait,
      R"({"apiVersion": "driver.capstan.dev/v1", "kind": "WaitRequest", "handle": {"id": "x"}, "timeoutMs": "1s"})",
      "a timeout that is not an integer");
  ExpectCodeRaw(CAPSTAN_ERR_INVALID_ARGUMENT, PluginOp::kList,
                R"({"apiVersion": "driver.capstan.dev/v1", "kind": "ListRequest", "labelSelector": ["a"]})",
                "a selector that is not an object");
  ExpectCode(CAPSTAN_ERR_INVALID_ARGUMENT, PluginOp::kInspect, sdk::StopRequest{h, 0}, "a request of another kind");
}

class UnknownRun : public DriverTest {};

TEST_F(UnknownRun, NotFoundExceptRemove) {
  sdk::PodRunHandle h;
  h.id = "capstan-conformance-no-such-run-" + RunToken();
  h.pod.uid = "no-such-pod";
  ExpectCode(CAPSTAN_ERR_NOT_FOUND, PluginOp::kInspect, sdk::HandleRequest{h}, "inspect of an unknown run");
  ExpectCode(CAPSTAN_ERR_NOT_FOUND, PluginOp::kStop, sdk::StopRequest{h, 0}, "stop of an unknown run");
  ExpectCode(CAPSTAN_ERR_NOT_FOUND, PluginOp::kRecover, sdk::HandleRequest{h}, "recover of an unknown run");
  ExpectCode(CAPSTAN_ERR_NOT_FOUND, PluginOp::kWait, sdk::WaitRequest{h, 0}, "wait of an unknown run");
  ExpectCode(CAPSTAN_OK, PluginOp::kRemove, sdk::HandleRequest{h}, "remove of an unknown run (idempotent)");
  if (caps_.exec) {
    ExpectCode(CAPSTAN_ERR_NOT_FOUND, PluginOp::kExec, sdk::ExecRequest{h, "c0", {"true"}, 0},
               "exec in an unknown run");
  }
  if (caps_.logs) {
    node::PluginReply reply = instance_->Logs(sdk::Encode(sdk::LogsRequest{h, "c0", false, -1}),
                                              [](int32_t, std::string_view) { return true; });
    EXPECT_EQ(reply.code, CAPSTAN_ERR_NOT_FOUND) << "logs of an unknown run: " << reply.error;
  }
}

class Unsupported : public DriverTest {};

TEST_F(Unsupported, NetworkModesNotDeclared) {
  for (const char* mode : sdk::kNetworkModes) {
    sdk::PodRunSpec spec = Spec(1);
    spec.network_mode = mode;
    const bool declared =
        std::find(caps_.network_modes.begin(), caps_.network_modes.end(), mode) != caps_.network_modes.end();
    if (declared) {
      sdk::PodRunHandle h = Start(spec);
      EXPECT_FALSE(h.id.empty()) << "start in declared network mode " << mode;
    } else {
      ExpectCode(CAPSTAN_ERR_UNSUPPORTED, PluginOp::kStart, spec,
                 std::string("network mode ") + mode + " not declared");
    }
  }
}

TEST_F(Unsupported, OptionalOperationsMatchTheCapabilities) {
  const std::string image = "capstan-conformance/no-such-image:" + RunToken();
  // Declared: present and working on what needs no run; not declared: UNSUPPORTED.
  if (caps_.image_pull) {
    EXPECT_NE(library_->Op(PluginOp::kPullImage), nullptr) << "imagePull declared, pull_image missing";
    auto pulled = Must<sdk::PullImageResult>(PluginOp::kPullImage, sdk::PullImageRequest{GetOptions().image, {}});
    EXPECT_FALSE(pulled.image_id.empty());
  } else {
    ExpectCode(CAPSTAN_ERR_UNSUPPORTED, PluginOp::kPullImage, sdk::PullImageRequest{image, {}}, "imagePull false");
  }
  if (caps_.images) {
    EXPECT_NE(library_->Op(PluginOp::kListImages), nullptr) << "images declared, list_images missing";
    EXPECT_NE(library_->Op(PluginOp::kRemoveImage), nullptr) << "images declared, remove_image missing";
    Must<sdk::ImageList>(PluginOp::kListImages, sdk::ListImagesRequest{});
    ExpectCode(CAPSTAN_OK, PluginOp::kRemoveImage, sdk::RemoveImageRequest{image}, "remove of an unknown image");
  } else {
    ExpectCode(CAPSTAN_ERR_UNSUPPORTED, PluginOp::kListImages, sdk::ListImagesRequest{}, "images false");
    ExpectCode(CAPSTAN_ERR_UNSUPPORTED, PluginOp::kRemoveImage, sdk::RemoveImageRequest{image}, "images false");
  }
  if (caps_.image_fs) {
    EXPECT_NE(library_->Op(PluginOp::kImageFsInfo), nullptr) << "imageFs declared, image_fs_info missing";
    // The decoder checks 0 <= available <= capacity and capacity > 0.
    auto fs = Must<sdk::ImageFsInfo>(PluginOp::kImageFsInfo, sdk::ImageFsInfoRequest{});
    EXPECT_GT(fs.capacity_bytes, 0);
    if (fs.used_bytes) {
      EXPECT_LE(*fs.used_bytes, fs.capacity_bytes) << "usedBytes beyond capacityBytes";
    }
  } else {
    ExpectCode(CAPSTAN_ERR_UNSUPPORTED, PluginOp::kImageFsInfo, sdk::ImageFsInfoRequest{}, "imageFs false");
  }
  sdk::PodRunHandle h = Start(Spec(1));
  if (caps_.exec) {
    EXPECT_NE(library_->Op(PluginOp::kExec), nullptr) << "exec declared, exec missing";
  } else {
    ExpectCode(CAPSTAN_ERR_UNSUPPORTED, PluginOp::kExec, sdk::ExecRequest{h, "c0", {"true"}, 0}, "exec false");
  }
  node::PluginReply logs = instance_->Logs(sdk::Encode(sdk::LogsRequest{h, "c0", false, -1}),
                                           [](int32_t, std::string_view) { return true; });
  if (caps_.logs) {
    EXPECT_EQ(logs.code, CAPSTAN_OK) << "logs declared: " << logs.error;
  } else {
    EXPECT_EQ(logs.code, CAPSTAN_ERR_UNSUPPORTED) << "logs false: " << logs.error;
  }
}

}  // namespace
}  // namespace capstan::conformance
