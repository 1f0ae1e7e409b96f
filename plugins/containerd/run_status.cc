#include "plugins/containerd/run_status.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "plugins/containerd/pod_request.h"

namespace capstan::plugins::containerd {

bool IsFullId(std::string_view id) {
  if (id.size() != 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

sdk::ContainerStatus StatusFromCri(const cri::ContainerStatus& s) {
  sdk::ContainerStatus out;
  out.name = s.metadata().name();
  out.id = s.id();
  if (auto it = s.annotations().find(kImageAnnotation); it != s.annotations().end()) {
    out.image = it->second;
  } else {
    out.image = s.image().image();
  }
  out.image_id = s.image_ref();
  if (s.started_at() > 0) out.started_at_unix_nano = s.started_at();
  switch (s.state()) {
    case cri::CONTAINER_RUNNING:
      out.state = sdk::ContainerState::kRunning;
      out.ready = true;  // no probes here: the host runs them (through exec)
      break;
    case cri::CONTAINER_EXITED:
      out.state = sdk::ContainerState::kTerminated;
      out.exit_code = s.exit_code();
      out.reason = s.reason().empty() ? (s.exit_code() == 0 ? "Completed" : "Error") : s.reason();
      out.message = s.message();
      // A container that never started has no finish time of its own; its creation is the best
      // there is (a terminated status always has one).
      out.finished_at_unix_nano = s.finished_at() > 0 ? s.finished_at() : std::max<int64_t>(s.created_at(), 1);
      break;
    case cri::CONTAINER_CREATED:
      out.state = sdk::ContainerState::kWaiting;
      out.reason = "ContainerCreating";
      break;
    default:
      out.state = sdk::ContainerState::kWaiting;
      out.reason = "Unknown";
      out.message = "containerd does not know the state of the container" +
                    (s.message().empty() ? std::string() : ": " + s.message());
      break;
  }
  return out;
}

size_t IndexOf(const google::protobuf::Map<std::string, std::string>& annotations) {
  auto it = annotations.find(kIndexAnnotation);
  if (it == annotations.end() || it->second.empty()) return std::numeric_limits<size_t>::max();
  char* end = nullptr;
  const unsigned long long v = std::strtoull(it->second.c_str(), &end, 10);
  if (end == nullptr || *end != '\0') return std::numeric_limits<size_t>::max();
  return static_cast<size_t>(v);
}

void SortBySpecOrder(std::vector<cri::Container>* containers) {
  std::stable_sort(containers->begin(), containers->end(), [](const cri::Container& a, const cri::Container& b) {
    const size_t ia = IndexOf(a.annotations()), ib = IndexOf(b.annotations());
    if (ia != ib) return ia < ib;
    return a.created_at() < b.created_at();
  });
}

sdk::PodRunHandle HandleOf(const std::string& sandbox_id, const cri::PodSandboxMetadata& meta,
                           const std::vector<cri::Container>& containers) {
  sdk::PodRunHandle h;
  h.id = sandbox_id;
  h.pod.uid = meta.uid();
  h.pod.namespace_name = meta.namespace_();
  h.pod.name = meta.name();
  for (const cri::Container& c : containers) h.containers.push_back({c.metadata().name(), c.id()});
  return h;
}

bool IsOurs(const google::protobuf::Map<std::string, std::string>& labels) {
  auto it = labels.find(kDriverLabel);
  return it != labels.end() && it->second == kDriverLabelValue;
}

}  // namespace capstan::plugins::containerd
