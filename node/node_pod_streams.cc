#include "node/node_pod_streams.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "api/errors.h"
#include "base/log.h"
#include "client/json_fields.h"

namespace capstan::node {

using json = nlohmann::json;
using client::Field;
using client::StringField;

namespace {

constexpr int32_t kHeartbeat = 0;  // CAPSTAN_LOG_STREAM_HEARTBEAT

api::HttpResponse Text(std::string body) {
  api::HttpResponse r;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

}  // namespace

// A follow's output, produced by a driver thread and drained by the HTTP server.
class NodePodStreams::FollowStream final : public api::ResponseStream {
 public:
  explicit FollowStream(int64_t limit_bytes) : limit_(limit_bytes) {}

  void SetNotify(std::function<void()> notify) override {
    std::lock_guard<std::mutex> lock(mu_);
    notify_ = std::move(notify);
  }
  std::string Read(bool* done) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    out.swap(buffer_);
    *done = finished_;
    return out;
  }
  std::chrono::steady_clock::time_point Deadline() const override {
    return std::chrono::steady_clock::now() + std::chrono::seconds(30);
  }
  void Close() override {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }

  // The driver's sink: false once the client left or the byte limit is reached.
  bool Push(int32_t stream, std::string_view data) {
    std::function<void()> notify;
    bool more;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stream != kHeartbeat && !closed_) {
        if (limit_ > 0 && sent_ + static_cast<int64_t>(data.size()) > limit_) {
          data = data.substr(0, static_cast<size_t>(limit_ - sent_));
        }
        buffer_.append(data);
        sent_ += static_cast<int64_t>(data.size());
        notify = notify_;
      }
      more = !closed_ && (limit_ == 0 || sent_ < limit_);
    }
    if (notify) notify();
    return more;
  }
  void Finish(const std::string& error) {
    std::function<void()> notify;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error.empty() && !closed_) buffer_ += "\n" + error + "\n";
      finished_ = true;
      notify = notify_;
    }
    if (notify) notify();
  }

 private:
  const int64_t limit_;
  std::mutex mu_;
  std::function<void()> notify_;
  std::string buffer_;
  int64_t sent_ = 0;
  bool closed_ = false;
  bool finished_ = false;
};

NodePodStreams::NodePodStreams(std::string node_name, RuntimeDriver* driver)
    : node_name_(std::move(node_name)), driver_(driver) {}

NodePodStreams::~NodePodStreams() { Shutdown(); }

void NodePodStreams::Shutdown() {
  std::unique_lock<std::mutex> lock(mu_);
  shut_down_ = true;
  for (const auto& s : live_) s->Close();
  idle_.wait(lock, [this] { return live_.empty(); });
}

Result<std::pair<PodHandle, std::string>> NodePodStreams::Target(const json& pod, const std::string& wanted, bool logs) {
  const std::string name = client::MetaString(pod, "name");
  const json& containers = Field(Field(pod, "spec"), "containers");
  std::vector<std::string> names;
  if (containers.is_array()) {
    for (const json& c : containers) names.push_back(StringField(c, "name"));
  }
  std::string container = wanted;
  if (container.empty()) {
    container = StringField(Field(Field(pod, "metadata"), "annotations"), "kubectl.kubernetes.io/default-container");
  }
  if (container.empty()) {
    if (logs && names.size() > 1) {
      std::string list;
      for (const std::string& n : names) list += (list.empty() ? "" : " ") + n;
      return Status::BadRequest("a container name must be specified for pod " + name + ", choose one of: [" + list + "]");
    }
    if (!names.empty()) container = names[0];
  }
  if (std::find(names.begin(), names.end(), container) == names.end()) {
    return Status::BadRequest("container " + container + " is not valid for pod " + name);
  }
  auto runs = driver_->ListPods();
  if (!runs.ok()) return runs.status().Annotate("driver " + driver_->Name());
  for (PodHandle& run : *runs) {
    if (run.pod_uid == client::MetaString(pod, "uid")) return std::make_pair(std::move(run), container);
  }
  return Status::BadRequest("container \"" + container + "\" in pod \"" + name + "\" is waiting to start");
}

api::HttpResponse NodePodStreams::Logs(const json& pod, const api::PodLogRequest& request) {
  auto target = Target(pod, request.container, /*logs=*/true);
  if (!target.ok()) return api::ErrorResponse(target.status());
  LogOptions options{request.follow, request.tail_lines};
  if (!request.follow) {
    std::string body;
    Status s = driver_->Logs(target->first, target->second, options, [&](int32_t stream, std::string_view data) {
      if (stream == kHeartbeat) return true;
      body.append(data);
      if (request.limit_bytes > 0 && static_cast<int64_t>(body.size()) >= request.limit_bytes) {
        body.resize(static_cast<size_t>(request.limit_bytes));
        return false;
      }
      return true;
    });
    if (!s.ok()) return api::ErrorResponse(s);
    return Text(std::move(body));
  }
  auto stream = std::make_shared<FollowStream>(request.limit_bytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return api::ErrorResponse(Status::Unavailable("the node agent is stopping"));
    live_.insert(stream);
  }
  try {
    std::thread([this, stream, run = target->first, container = target->second, options] {
      std::string error;
      try {
        Status s = driver_->Logs(run, container, options,
                                 [&](int32_t kind, std::string_view data) { return stream->Push(kind, data); });
        if (!s.ok()) error = "error: " + s.message();
      } catch (const std::exception& e) {
        error = std::string("error: ") + e.what();
      }
      stream->Finish(error);
      std::lock_guard<std::mutex> lock(mu_);
      live_.erase(stream);
      idle_.notify_all();
    }).detach();
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mu_);
    live_.erase(stream);
    idle_.notify_all();
    return api::ErrorResponse(Status::Unavailable(std::string("cannot follow logs: ") + e.what()));
  }
  api::HttpResponse r;
  r.content_type = "text/plain";
  r.stream = stream;
  return r;
}

api::HttpResponse NodePodStreams::Exec(const json& pod, const api::PodExecRequest& request) {
  auto target = Target(pod, request.container, /*logs=*/false);
  if (!target.ok()) return api::ErrorResponse(target.status());
  auto out = driver_->Exec(target->first, target->second, request.command, request.timeout);
  if (!out.ok()) return api::ErrorResponse(out.status());
  api::HttpResponse r;
  r.body = json{{"apiVersion", "capstan.io/v1"},
                {"kind", api::kPodExecResultKind},
                {"container", target->second},
                {"exitCode", out->exit_code},
                {"stdout", out->out},
                {"stderr", out->err}}
               .dump();
  return r;
}

}  // namespace capstan::node
