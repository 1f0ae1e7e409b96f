// The plugin loader against deliberately broken plugins (plugins/testing: no entry symbol, not an
// ELF file, ABI mismatch, a lying ABI version, a table too small, a missing function, a wrong
// name, create failing, exceptions in SDK and raw plugins), the directory rules, plugin listing and
// the mapping of plugin codes to Status. Every failure must name the file.
#include "node/plugin_loader.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace capstan::node {
namespace {

using json = nlohmann::json;

const std::string kDir = CAPSTAN_TEST_PLUGIN_DIR;
const std::string kFake = CAPSTAN_FAKE_PLUGIN;
const std::string kFakeDir = std::filesystem::path(kFake).parent_path().string();

std::string File(const std::string& kind) { return kDir + "/capstan-driver-" + kind + ".so"; }

template <typename T>
void ExpectError(const Result<T>& r, Code code, const std::string& file, const std::string& what) {
  ASSERT_FALSE(r.ok()) << "expected an error naming " << file;
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_NE(r.status().message().find(file), std::string::npos) << "does not name the file: " << r.status().ToString();
  EXPECT_NE(r.status().message().find(what), std::string::npos)
      << "does not say \"" << what << "\": " << r.status().ToString();
}

std::string ValidSpec() {
  sdk::PodRunSpec spec;
  spec.pod.uid = "u1";
  spec.network_mode = "host";
  spec.containers.push_back({});
  spec.containers[0].name = "c";
  spec.containers[0].image = "i";
  return sdk::Encode(spec);
}

std::string HandleRequest() {
  sdk::HandleRequest r;
  r.handle.id = "h";
  return sdk::Encode(r);
}

TEST(PluginLoaderTest, LoadsTheFakePlugin) {
  auto lib = OpenPluginFile({kFakeDir}, kFake);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  EXPECT_EQ((*lib)->name(), "fake");
  EXPECT_EQ((*lib)->version(), "1.0.0");
  EXPECT_EQ((*lib)->abi_version(), 1u);
  EXPECT_EQ((*lib)->path(), kFake);
  EXPECT_NE((*lib)->Op(PluginOp::kExec), nullptr);
  EXPECT_NE((*lib)->LogsFn(), nullptr);
}

TEST(PluginLoaderTest, FindsByNameInTheConfiguredDirectoriesInOrder) {
  auto lib = OpenPlugin({kDir + "/no-such-dir", kFakeDir}, "fake");
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  EXPECT_EQ((*lib)->path(), kFake);
}

TEST(PluginLoaderTest, NotAPlugin) {
  ExpectError(OpenPlugin({kDir}, "nosymbol"), Code::kInvalid, File("nosymbol"),
              "not a Capstan driver plugin: it does not export capstan_driver_entry");
}

TEST(PluginLoaderTest, NotAnElfFile) {
  ExpectError(OpenPlugin({kDir}, "notelf"), Code::kInvalid, File("notelf"), "cannot be loaded");
}

TEST(PluginLoaderTest, AbiMismatchAnsweredByThePlugin) {
  ExpectError(OpenPlugin({kDir}, "abimismatch"), Code::kInvalid, File("abimismatch"),
              "ABI version mismatch: the host speaks ABI 1..1 and the plugin none of them (ABI_MISMATCH)");
}

TEST(PluginLoaderTest, TableOfAnotherAbiVersion) {
  ExpectError(OpenPlugin({kDir}, "lyingversion"), Code::kInvalid, File("lyingversion"),
              "ABI version mismatch: the plugin answered ABI 99, the host speaks ABI 1..1");
}

TEST(PluginLoaderTest, TableTooSmall) {
  ExpectError(OpenPlugin({kDir}, "smalltable"), Code::kInvalid, File("smalltable"), "driver table too small (24 bytes");
}

TEST(PluginLoaderTest, AFunctionBeyondAnOlderTablesSizeIsUnsupported) {
  // Built before image_fs_info was appended: it loads, and the host never reads past its table.
  auto lib = OpenPlugin({kDir}, "oldtable");
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  EXPECT_NE((*lib)->Op(PluginOp::kRemoveImage), nullptr);
  EXPECT_EQ((*lib)->Op(PluginOp::kImageFsInfo), nullptr);
  auto inst = PluginInstance::Create(*lib, json(nullptr));
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  PluginReply reply = (*inst)->Call(PluginOp::kImageFsInfo, "{}");
  EXPECT_EQ(reply.code, CAPSTAN_ERR_UNSUPPORTED);
}

TEST(PluginLoaderTest, TableWithoutARequiredFunction) {
  ExpectError(OpenPlugin({kDir}, "nocreate"), Code::kInvalid, File("nocreate"),
              "the driver table lacks the required function create");
}

TEST(PluginLoaderTest, TableNameDiffersFromTheFileName) {
  ExpectError(OpenPlugin({kDir}, "wrongname"), Code::kInvalid, File("wrongname"),
              "its table names the driver \"othername\", not \"wrongname\"");
}

TEST(PluginLoaderTest, CreateFailsWithInvalidConfig) {
  auto lib = OpenPlugin({kDir}, "createfails");
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  auto inst = PluginInstance::Create(*lib, json::object());
  ExpectError(inst, Code::kInvalid, File("createfails"), "create: INVALID_CONFIG: field \"endpoint\" is required");
  EXPECT_EQ(DriverCodeOf(inst.status()), CAPSTAN_ERR_INVALID_CONFIG);
}

TEST(PluginLoaderTest, SdkTurnsExceptionsIntoInternal) {
  auto lib = OpenPlugin({kDir}, "throws");
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();

  auto failed = PluginInstance::Create(*lib, {{"throwInCreate", true}});
  ExpectError(failed, Code::kInternal, File("throws"), "INTERNAL: driver threw an exception: boom in create");

  auto inst = PluginInstance::Create(*lib, nullptr);
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  PluginReply fp = (*inst)->Call(PluginOp::kFingerprint, sdk::Encode(sdk::FingerprintRequest{}));
  EXPECT_EQ(fp.code, CAPSTAN_ERR_INTERNAL);
  EXPECT_EQ(fp.error, "driver threw an exception: boom in fingerprint");
  EXPECT_TRUE(fp.json.empty());
  PluginReply start = (*inst)->Call(PluginOp::kStart, ValidSpec());
  EXPECT_EQ(start.code, CAPSTAN_ERR_INTERNAL);
  EXPECT_EQ(start.error, "driver threw an exception: boom in start");
  PluginReply inspect = (*inst)->Call(PluginOp::kInspect, HandleRequest());
  EXPECT_EQ(inspect.code, CAPSTAN_ERR_INTERNAL);
  EXPECT_EQ(inspect.error, "driver threw an exception that is not a std::exception");
  // The instance still works after the exceptions.
  EXPECT_EQ((*inst)->Call(PluginOp::kRemove, HandleRequest()).code, CAPSTAN_OK);
  // And a Status says which driver and operation.
  auto doc = (*inst)->CallDoc<sdk::Fingerprint>(PluginOp::kFingerprint, sdk::FingerprintRequest{});
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().message(),
            "driver throws fingerprint: INTERNAL: driver threw an exception: boom in fingerprint");
}

TEST(PluginLoaderTest, HostContainsAnExceptionThrownAcrossTheAbi) {
  auto lib = OpenPlugin({kDir}, "rawthrows");
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  auto inst = PluginInstance::Create(*lib, nullptr);
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  PluginReply r = (*inst)->Call(PluginOp::kInspect, HandleRequest());
  EXPECT_EQ(r.code, CAPSTAN_ERR_INTERNAL);
  EXPECT_EQ(r.error, "the plugin threw an exception across the ABI (a bug in the plugin)");
}

TEST(PluginLoaderTest, ResultContractViolationsAreFlagged) {
  auto lib = OpenPlugin({kDir}, "rawthrows");
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  auto inst = PluginInstance::Create(*lib, nullptr);
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  PluginReply ok = (*inst)->Call(PluginOp::kCapabilities, "{}");
  EXPECT_EQ(ok.code, CAPSTAN_OK);
  EXPECT_EQ(ok.json, "{}");
  EXPECT_TRUE(ok.error.empty()) << "the message of a success is dropped";
  EXPECT_TRUE(ok.error_with_ok);
  EXPECT_FALSE(ok.json_with_error);
  PluginReply failed = (*inst)->Call(PluginOp::kFingerprint, "{}");
  EXPECT_EQ(failed.code, CAPSTAN_ERR_INTERNAL);
  EXPECT_TRUE(failed.json.empty()) << "the document of a failure is dropped";
  EXPECT_EQ(failed.error, "a result document with an error");
  EXPECT_TRUE(failed.json_with_error);
  EXPECT_FALSE(failed.error_with_ok);
}

TEST(PluginLoaderTest, MissingOptionalFunctionsAreUnsupported) {
  auto lib = OpenPlugin({kDir}, "rawthrows");  // a raw table without the optional functions
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  EXPECT_EQ((*lib)->Op(PluginOp::kExec), nullptr);
  auto inst = PluginInstance::Create(*lib, nullptr);
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  PluginReply exec = (*inst)->Call(PluginOp::kExec, "{}");
  EXPECT_EQ(exec.code, CAPSTAN_ERR_UNSUPPORTED);
  EXPECT_EQ(exec.error, "the plugin does not implement exec");
  PluginReply logs = (*inst)->Logs("{}", [](int32_t, std::string_view) { return true; });
  EXPECT_EQ(logs.code, CAPSTAN_ERR_UNSUPPORTED);
}

TEST(PluginLoaderTest, RefusesFilesOutsideTheConfiguredDirectories) {
  ExpectError(OpenPluginFile({kDir}, kFake), Code::kForbidden, kFake,
              "not in a configured plugin directory (" + kDir + ")");
  // A path that only looks as if it were inside.
  ExpectError(OpenPluginFile({kDir}, kDir + "/../capstan-driver-fake.so"), Code::kForbidden, kFake,
              "not in a configured plugin directory");
  ExpectError(OpenPluginFile({}, kFake), Code::kForbidden, kFake, "(none configured)");
  // A driver name cannot name a path.
  auto escape = OpenPlugin({kDir}, "../fake");
  ASSERT_FALSE(escape.ok());
  EXPECT_EQ(escape.status().code(), Code::kInvalid) << escape.status().ToString();
}

TEST(PluginLoaderTest, MissingPluginListsTheDirectories) {
  ExpectError(OpenPlugin({kDir, kFakeDir}, "absent"), Code::kNotFound, kDir + ", " + kFakeDir,
              "no capstan-driver-absent.so in the plugin directories");
  auto none = OpenPlugin({}, "fake");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_NE(none.status().message().find("no plugin directory is configured"), std::string::npos);
}

TEST(PluginLoaderTest, InstanceKeepsItsLibraryLoaded) {
  auto lib = OpenPluginFile({kFakeDir}, kFake);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  auto inst = PluginInstance::Create(*lib, nullptr);
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  lib = Status::Internal("dropped");  // the instance's reference is the last one now
  auto fp = (*inst)->CallDoc<sdk::Fingerprint>(PluginOp::kFingerprint, sdk::FingerprintRequest{});
  ASSERT_TRUE(fp.ok()) << fp.status().ToString();
  EXPECT_EQ(fp->runtime_version, "fake://1.0");
}

TEST(PluginLoaderTest, ListsPluginsWithTheirErrors) {
  auto list = ListPlugins({kFakeDir, kDir});
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::map<std::string, PluginInfo> by_file;
  for (const PluginInfo& p : *list) by_file[std::filesystem::path(p.path).filename().string()] = p;
  // Directories in order, files by name within each.
  ASSERT_EQ(std::filesystem::path(list->front().path).parent_path().string(), kFakeDir);
  ASSERT_EQ(std::filesystem::path(list->back().path).parent_path().string(), kDir);
  for (size_t i = 1; i < list->size(); ++i) {
    const std::filesystem::path a = (*list)[i - 1].path, b = (*list)[i].path;
    if (a.parent_path() == b.parent_path()) {
      EXPECT_LT(a.filename(), b.filename());
    }
  }

  const PluginInfo& fake = by_file.at("capstan-driver-fake.so");
  EXPECT_EQ(fake.name, "fake");
  EXPECT_EQ(fake.version, "1.0.0");
  EXPECT_EQ(fake.abi_version, 1u);
  ASSERT_TRUE(fake.capabilities.has_value()) << fake.error;
  EXPECT_TRUE(fake.capabilities->exec);
  EXPECT_TRUE(fake.error.empty()) << fake.error;

  const PluginInfo& nosymbol = by_file.at("capstan-driver-nosymbol.so");
  EXPECT_TRUE(nosymbol.name.empty());
  EXPECT_NE(nosymbol.error.find("does not export capstan_driver_entry"), std::string::npos) << nosymbol.error;
  EXPECT_FALSE(by_file.at("capstan-driver-notelf.so").error.empty());

  const PluginInfo& createfails = by_file.at("capstan-driver-createfails.so");
  EXPECT_EQ(createfails.name, "createfails");
  EXPECT_FALSE(createfails.capabilities.has_value());
  EXPECT_NE(createfails.error.find("capabilities unknown: "), std::string::npos) << createfails.error;

  EXPECT_EQ(by_file.count("capstan-driver-throws.so"), 1u);
  EXPECT_TRUE(by_file.at("capstan-driver-throws.so").error.empty()) << "loads; only its operations throw";

  auto missing = ListPlugins({kDir + "/no-such-dir"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(kDir + "/no-such-dir"), std::string::npos);
}

TEST(PluginLoaderTest, StatusFromReplyKeepsTheCode) {
  const std::pair<int32_t, Code> cases[] = {
      {CAPSTAN_ERR_NOT_FOUND, Code::kNotFound},
      {CAPSTAN_ERR_INVALID_ARGUMENT, Code::kInvalid},
      {CAPSTAN_ERR_INVALID_CONFIG, Code::kInvalid},
      {CAPSTAN_ERR_UNSUPPORTED, Code::kMethodNotAllowed},
      {CAPSTAN_ERR_RETRY_LATER, Code::kUnavailable},
      {CAPSTAN_ERR_UNAVAILABLE, Code::kUnavailable},
      {CAPSTAN_ERR_ALREADY_EXISTS, Code::kAlreadyExists},
      {CAPSTAN_ERR_CONFLICT, Code::kConflict},
      {CAPSTAN_ERR_PERMISSION_DENIED, Code::kForbidden},
      {CAPSTAN_ERR_TIMEOUT, Code::kTimeout},
      {CAPSTAN_ERR_INTERNAL, Code::kInternal},
      {999, Code::kInternal},
      {1234, Code::kInternal},
  };
  for (const auto& [abi, code] : cases) {
    Status s = StatusFromReply(PluginReply{abi, "", "why"}, "driver x op");
    EXPECT_EQ(s.code(), code) << abi;
    EXPECT_EQ(DriverCodeOf(s), abi);
  }
  EXPECT_EQ(StatusFromReply(PluginReply{CAPSTAN_ERR_RETRY_LATER, "", "busy"}, "driver x start").message(),
            "driver x start: RETRY_LATER: busy");
  EXPECT_EQ(StatusFromReply(PluginReply{1234, "", "disk on fire"}, "driver x start").message(),
            "driver x start: PLUGIN_ERROR 1234: disk on fire");
  EXPECT_EQ(DriverCodeOf(Status::NotFound("not from a plugin")), std::nullopt);
}

}  // namespace
}  // namespace capstan::node
