// capstan/driver_types.hpp: the JSON documents of capstan/driver.h as C++ structs (field names in
// snake_case for the documents' camelCase; each top-level document has its kKind). Their JSON
// encoding and decoding is in driver_json.hpp. Header-only; needs nlohmann_json (3.10 or later)
// for the fields that stay JSON (config, capacity, resources). Shared by the plugin SDK
// (driver_sdk.hpp) and the host, so both sides read and write the same shapes.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "capstan/driver.h"

namespace capstan::sdk {

inline constexpr char kApiVersion[] = CAPSTAN_DRIVER_API_VERSION;

// ---- The documents -------------------------------------------------------------------------------

struct DriverConfig {
  static constexpr char kKind[] = "DriverConfig";
  nlohmann::json config;  // driver-specific; null when none
};

// Requests without fields (yet).
struct CapabilitiesRequest {
  static constexpr char kKind[] = "CapabilitiesRequest";
};
struct FingerprintRequest {
  static constexpr char kKind[] = "FingerprintRequest";
};
struct ListImagesRequest {
  static constexpr char kKind[] = "ListImagesRequest";
};
struct ImageFsInfoRequest {
  static constexpr char kKind[] = "ImageFsInfoRequest";
};

struct Capabilities {
  static constexpr char kKind[] = "Capabilities";
  bool exec = false;
  bool logs = false;
  bool image_pull = false;
  bool images = false;       // list_images and remove_image
  bool exit_events = false;  // emits ContainerExited events
  bool remote_endpoint = false;
  bool image_fs = false;     // image_fs_info
  std::vector<std::string> network_modes{"host"};  // of "host", "bridge", "none"; non-empty
};

struct Fingerprint {
  static constexpr char kKind[] = "Fingerprint";
  bool healthy = true;
  std::string message;
  std::string os;
  std::string arch;
  std::string runtime_version;
  nlohmann::json capacity = nlohmann::json::object();  // quantity strings
  std::map<std::string, std::string> attributes;
};

struct RegistryAuth {
  std::string username, password, auth, identity_token, registry_token, server_address;
};

struct PullImageRequest {
  static constexpr char kKind[] = "PullImageRequest";
  std::string image;
  std::optional<RegistryAuth> auth;
};

struct PullImageResult {
  static constexpr char kKind[] = "PullImageResult";
  std::string image_id;
};

struct PodRef {
  std::string uid, namespace_name, name;
};

struct EnvVar {
  std::string name, value;
};

struct PortSpec {
  std::string name;
  int64_t container_port = 0;
  int64_t host_port = 0;
  std::string protocol;  // "TCP" when empty
  std::string host_ip;
};

struct Mount {
  std::string host_path, container_path;
  bool read_only = false;
};

struct ContainerSpec {
  std::string name, image;
  std::vector<std::string> command, args;
  std::vector<EnvVar> env;
  std::string working_dir;
  std::vector<PortSpec> ports;
  nlohmann::json resources = nlohmann::json::object();  // {"limits": {...}, "requests": {...}}
  std::vector<Mount> mounts;
};

inline constexpr const char* kNetworkModes[] = {"host", "bridge", "none"};

// The longest timeoutMs / gracePeriodMs a request may carry (a day): larger is INVALID_ARGUMENT,
// so that no driver has to guard its clock arithmetic against overflow.
inline constexpr int64_t kMaxDurationMs = 24 * 60 * 60 * 1000;

struct PodRunSpec {
  static constexpr char kKind[] = "PodRunSpec";
  PodRef pod;
  std::map<std::string, std::string> labels;
  std::string network_mode = "host";
  std::vector<ContainerSpec> containers;
};

struct ContainerRef {
  std::string name, id;
};

struct PodRunHandle {
  static constexpr char kKind[] = "PodRunHandle";
  std::string id;
  PodRef pod;
  std::vector<ContainerRef> containers;
};

struct HandleRequest {
  static constexpr char kKind[] = "HandleRequest";
  PodRunHandle handle;
};

struct StopRequest {
  static constexpr char kKind[] = "StopRequest";
  PodRunHandle handle;
  int64_t grace_period_ms = 0;
};

struct WaitRequest {
  static constexpr char kKind[] = "WaitRequest";
  PodRunHandle handle;
  int64_t timeout_ms = 0;
};

enum class ContainerState { kWaiting, kRunning, kTerminated };

struct ContainerStatus {
  std::string name, id, image, image_id;
  ContainerState state = ContainerState::kWaiting;
  std::string reason, message;
  int64_t exit_code = 0;
  std::optional<int64_t> started_at_unix_nano, finished_at_unix_nano;
  bool ready = false;
};

struct PodRunStatus {
  static constexpr char kKind[] = "PodRunStatus";
  std::vector<ContainerStatus> containers;
  int64_t recheck_after_ms = 0;
};

struct WaitResult {
  static constexpr char kKind[] = "WaitResult";
  bool exited = false;
  std::vector<ContainerStatus> containers;
};

struct ListRequest {
  static constexpr char kKind[] = "ListRequest";
  std::map<std::string, std::string> label_selector;
};

struct PodRunList {
  static constexpr char kKind[] = "PodRunList";
  std::vector<PodRunHandle> items;
};

struct LogsRequest {
  static constexpr char kKind[] = "LogsRequest";
  PodRunHandle handle;
  std::string container;
  bool follow = false;
  int64_t tail_lines = -1;  // -1: everything
};

struct ExecRequest {
  static constexpr char kKind[] = "ExecRequest";
  PodRunHandle handle;
  std::string container;
  std::vector<std::string> command;
  int64_t timeout_ms = 0;  // 0: none
};

struct ExecResult {
  static constexpr char kKind[] = "ExecResult";
  int64_t exit_code = 0;
  std::string out, err;  // "stdout", "stderr"
};

struct Image {
  std::string id;
  std::vector<std::string> tags;
  int64_t size_bytes = 0;
  std::vector<std::string> digests;           // "repo@sha256:..."
  std::optional<int64_t> created_unix_nano;   // when the image was built, if the runtime says
  bool pinned = false;                        // never garbage-collected (the sandbox image, ...)
};

struct ImageList {
  static constexpr char kKind[] = "ImageList";
  std::vector<Image> images;
};

struct ImageFsInfo {
  static constexpr char kKind[] = "ImageFsInfo";
  int64_t capacity_bytes = 0;
  int64_t available_bytes = 0;
  std::optional<int64_t> used_bytes;  // what the images take
  std::string path;                   // the mount point or directory, for messages
};

struct RemoveImageRequest {
  static constexpr char kKind[] = "RemoveImageRequest";
  std::string image;
};

struct ContainerExited {
  static constexpr char kKind[] = "ContainerExited";
  std::string handle_id, pod_uid;
  ContainerStatus container;
};

}  // namespace capstan::sdk
