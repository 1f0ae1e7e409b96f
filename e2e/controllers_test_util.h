// Shared by the control-loop e2e tests (controllers_rollout_test.cc, controllers_lifecycle_test.cc):
// a server with the fake driver's hollow Node, kubectl helpers, and the replay of a Pod watch
// stream that checks a rollout's bounds after every event. Test-only.
#pragma once
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "e2e/server_fixture.h"

namespace capstan::e2e::controllers_testing {

using nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

inline constexpr char kNode[] = "e2e-node";

// Polls `done` every `period` until it holds or `timeout` passes.
inline bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
               std::chrono::milliseconds period = 100ms) {
  const auto deadline = SteadyClock::now() + timeout;
  while (!done()) {
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(period);
  }
  return true;
}

// RFC 3339 in UTC to the second, as the API writes times ("2026-01-02T03:04:05Z").
inline std::string UtcSeconds(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

inline long long MillisSince(SteadyClock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
}

// ---- Pods, as the API returns them ------------------------------------------------------------

inline const json& At(const json& j, const char* key) {
  static const json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}

inline std::string Str(const json& j, const char* key) {
  const json& v = At(j, key);
  return v.is_string() ? v.get<std::string>() : "";
}

inline std::string PodImage(const json& pod) {
  const json& containers = At(At(pod, "spec"), "containers");
  return containers.is_array() && !containers.empty() ? Str(containers[0], "image") : "";
}

inline std::string TemplateImage(const json& object) {  // a Deployment's or ReplicaSet's
  return PodImage(At(At(object, "spec"), "template"));
}

inline bool PodReady(const json& pod) {
  const json& conditions = At(At(pod, "status"), "conditions");
  if (!conditions.is_array()) return false;
  for (const json& c : conditions) {
    if (Str(c, "type") == "Ready") return Str(c, "status") == "True";
  }
  return false;
}

inline bool Deleting(const json& object) { return !Str(At(object, "metadata"), "deletionTimestamp").empty(); }

inline bool PodTerminal(const json& pod) {
  const std::string phase = Str(At(pod, "status"), "phase");
  return phase == "Succeeded" || phase == "Failed";
}

inline bool PodRunningReady(const json& pod) { return Str(At(pod, "status"), "phase") == "Running" && PodReady(pod); }

inline std::string Name(const json& object) { return Str(At(object, "metadata"), "name"); }
inline std::string Uid(const json& object) { return Str(At(object, "metadata"), "uid"); }

inline std::string Annotation(const json& object, const char* key) {
  return Str(At(At(object, "metadata"), "annotations"), key);
}

inline int IntAt(const json& j, const char* key) {
  const json& v = At(j, key);
  return v.is_number_integer() ? v.get<int>() : 0;
}

inline const json* Condition(const json& object, const std::string& type) {
  const json& conditions = At(At(object, "status"), "conditions");
  if (!conditions.is_array()) return nullptr;
  for (const json& c : conditions) {
    if (Str(c, "type") == type) return &c;
  }
  return nullptr;
}

inline bool OwnedBy(const json& object, const std::string& uid) {
  const json& refs = At(At(object, "metadata"), "ownerReferences");
  if (!refs.is_array()) return false;
  for (const json& r : refs) {
    if (Str(r, "uid") == uid) return true;
  }
  return false;
}

inline std::vector<json> Items(const json& list) {
  const json& items = At(list, "items");
  return items.is_array() ? items.get<std::vector<json>>() : std::vector<json>{};
}

// A Deployment named `name` whose Pods (one container "web") carry the label app=<name>.
// `extra_spec` lines go into the Deployment's spec (indented two spaces).
inline std::string DeploymentYaml(const std::string& name, int replicas, const std::string& image,
                           const std::string& extra_spec = "") {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name + ", labels: {app: " + name +
         "}}\nspec:\n  replicas: " + std::to_string(replicas) + "\n" + extra_spec +
         "  selector: {matchLabels: {app: " + name + "}}\n  template:\n    metadata: {labels: {app: " + name +
         "}}\n    spec:\n      containers:\n      - {name: web, image: \"" + image + "\"}\n";
}

inline std::string RollingUpdate(const std::string& surge, const std::string& unavailable) {
  return "  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: " + surge + ", maxUnavailable: " + unavailable +
         "}}\n";
}

// ---- The Pod watch, replayed ------------------------------------------------------------------

// A raw watch of the objects labelled app=<app> in "default" (Pods unless told), read by
// `curl -N` into a file. It has no resourceVersion, so the current objects come first as ADDED
// events, then every change in the store's order: replaying the events in order gives every
// state the store went through.
class Watch {
 public:
  Watch() = default;
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;
  ~Watch() { Stop(); }

  bool Start(const ServerProcess& server, const std::string& app,
             const std::string& collection = "/api/v1/namespaces/default/pods") {
    static int counter = 0;
    file_ = server.home() + "/watch-" + std::to_string(++counter) + ".jsonl";
    offset_ = 0;
    partial_.clear();
    return child_.Start({"curl", "-sN", "--cacert", server.data_dir() + "/ca.crt", "-H",
                         "Authorization: Bearer " + server.token(),
                         server.url() + collection + "?watch=1&labelSelector=app%3D" + app},
                        file_);
  }
  // The events that arrived since the last call, in order.
  std::vector<json> Poll() {
    std::ifstream in(file_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset_));
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    offset_ += data.size();
    partial_ += data;
    std::vector<json> events;
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      const std::string line = partial_.substr(start, nl - start);
      if (line.empty()) continue;
      json e = json::parse(line, nullptr, false);
      if (e.is_discarded()) e = json{{"type", "UNPARSEABLE"}, {"line", line}};
      events.push_back(std::move(e));
    }
    partial_.erase(0, start);
    return events;
  }
  bool Running() { return child_.Running(); }
  void Stop() { child_.Stop(SIGTERM, 5s); }

 private:
  Child child_;
  std::string file_;
  size_t offset_ = 0;
  std::string partial_;
};

// The Pods a replayed watch says exist, by name.
class PodSet {
 public:
  // Applies one event; false (with `error`) for an ERROR or unreadable one.
  bool Apply(const json& event, std::string* error) {
    const std::string type = Str(event, "type");
    const json& pod = At(event, "object");
    if (type == "ADDED" || type == "MODIFIED") {
      pods_[Name(pod)] = pod;
    } else if (type == "DELETED") {
      pods_.erase(Name(pod));
    } else if (type != "BOOKMARK") {
      *error = event.dump();
      return false;
    }
    return true;
  }
  // Pods that count against the strategy: not being deleted, not terminated.
  int Total() const {
    return static_cast<int>(std::count_if(pods_.begin(), pods_.end(), [](const auto& p) {
      return !Deleting(p.second) && !PodTerminal(p.second);
    }));
  }
  // Ready and not being deleted (minReadySeconds is 0).
  int Available() const {
    return static_cast<int>(std::count_if(pods_.begin(), pods_.end(), [](const auto& p) {
      return !Deleting(p.second) && PodReady(p.second);
    }));
  }
  // Pods of the template with `image`, whatever their state (Recreate counts even terminating ones).
  int WithImage(const std::string& image) const {
    return static_cast<int>(
        std::count_if(pods_.begin(), pods_.end(), [&](const auto& p) { return PodImage(p.second) == image; }));
  }
  int AvailableWithImage(const std::string& image) const {
    return static_cast<int>(std::count_if(pods_.begin(), pods_.end(), [&](const auto& p) {
      return PodImage(p.second) == image && !Deleting(p.second) && PodReady(p.second);
    }));
  }
  size_t size() const { return pods_.size(); }
  std::string Describe() const {
    std::string s;
    for (const auto& [name, pod] : pods_) {
      s += "  " + name + " " + PodImage(pod) + " phase=" + Str(At(pod, "status"), "phase") +
           (PodReady(pod) ? " ready" : " not-ready") + (Deleting(pod) ? " deleting" : "") + "\n";
    }
    return s;
  }

 private:
  std::map<std::string, json> pods_;
};

// Pod and ReplicaSet events in one line each, ordered by resourceVersion (the store's global
// revision), to show how the controllers got somewhere.
class Timeline {
 public:
  void Add(const json& event) {
    const json& o = At(event, "object");
    const json& meta = At(o, "metadata");
    std::string line = Str(event, "type") + " " + Str(o, "kind") + " " + Name(o);
    if (Str(o, "kind") == "ReplicaSet") {
      const json& st = At(o, "status");
      line += " spec=" + std::to_string(IntAt(At(o, "spec"), "replicas")) +
              " status.replicas=" + std::to_string(IntAt(st, "replicas")) +
              " ready=" + std::to_string(IntAt(st, "readyReplicas")) +
              " available=" + std::to_string(IntAt(st, "availableReplicas")) +
              " gen=" + std::to_string(IntAt(meta, "generation")) +
              " observed=" + std::to_string(IntAt(st, "observedGeneration"));
    } else {
      line += " " + PodImage(o) + " " + Str(At(o, "status"), "phase") + (PodReady(o) ? " ready" : " not-ready") +
              (Deleting(o) ? " deleting" : "");
    }
    lines_.emplace(std::stoll("0" + Str(meta, "resourceVersion")), line);
  }
  std::string Dump() const {
    std::string s;
    for (const auto& [rv, line] : lines_) s += "  " + std::to_string(rv) + " " + line + "\n";
    return s;
  }

 private:
  std::multimap<long long, std::string> lines_;
};

// What a replay saw.
struct Replay {
  int events = 0;          // events applied
  int checked = 0;         // events after which the invariant was checked
  int violations = 0;
  std::string first_violation;
  int max_total = 0;
  int min_available = INT_MAX;
  bool done = false;
  bool ended = false;  // the watch stream ended (curl exited)
};

// Applies `watch`'s events to `pods` until `done(pods)` holds (then keeps replaying for `linger`
// to see that nothing more happens) or `timeout` passes. After every event, `check(pods)` returns
// an empty string or a violation.
inline void ReplayWatch(Watch& watch, PodSet& pods, Replay& r, const std::function<std::string(const PodSet&)>& check,
                 const std::function<bool(const PodSet&)>& done, std::chrono::milliseconds timeout,
                 std::chrono::milliseconds linger = 500ms, Timeline* timeline = nullptr) {
  const auto deadline = SteadyClock::now() + timeout;
  bool is_done = false;
  SteadyClock::time_point done_at;  // since when done(pods) holds, while is_done
  while (SteadyClock::now() < deadline) {
    const bool running = watch.Running();  // before the Poll, so that nothing is left unread
    std::vector<json> events = watch.Poll();
    if (!running && events.empty()) {
      r.ended = true;
      return;
    }
    for (const json& e : events) {
      std::string error;
      if (!pods.Apply(e, &error)) {
        ADD_FAILURE() << "unexpected watch event: " << error;
        return;
      }
      ++r.events;
      if (timeline != nullptr) timeline->Add(e);
      if (!check) continue;
      ++r.checked;
      r.max_total = std::max(r.max_total, pods.Total());
      r.min_available = std::min(r.min_available, pods.Available());
      std::string v = check(pods);
      if (!v.empty() && r.violations++ == 0) {
        r.first_violation = "after event " + std::to_string(r.events) + " (" + Str(e, "type") + " " +
                            Name(At(e, "object")) + " at resourceVersion " +
                            Str(At(At(e, "object"), "metadata"), "resourceVersion") + "): " + v + "\n" +
                            pods.Describe();
      }
    }
    if (!done(pods)) {
      is_done = false;  // (again) not done
    } else if (!is_done) {
      is_done = true;
      done_at = SteadyClock::now();
    } else if (SteadyClock::now() - done_at >= linger) {
      r.done = true;
      return;
    }
    std::this_thread::sleep_for(20ms);
  }
}

// The invariant of a RollingUpdate with these bounds.
inline std::function<std::string(const PodSet&)> RollingInvariant(int replicas, int max_surge, int max_unavailable) {
  return [=](const PodSet& pods) -> std::string {
    std::string v;
    if (pods.Available() < replicas - max_unavailable) {
      v += "available " + std::to_string(pods.Available()) + " < replicas - maxUnavailable = " +
           std::to_string(replicas - max_unavailable) + "; ";
    }
    if (pods.Total() > replicas + max_surge) {
      v += "total " + std::to_string(pods.Total()) + " > replicas + maxSurge = " + std::to_string(replicas + max_surge);
    }
    return v;
  };
}

inline std::function<bool(const PodSet&)> AllAvailableWith(const std::string& image, int replicas) {
  return [=](const PodSet& pods) {
    return static_cast<int>(pods.size()) == replicas && pods.AvailableWithImage(image) == replicas;
  };
}

// ---- The fixture ------------------------------------------------------------------------------

class ControllersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto all = KubectlBinaries();
    if (all.empty()) GTEST_SKIP() << "no kubectl installed";
    kubectl_ = all.back().second;  // the newest
  }

  // Starts the server with the fake driver and waits until its Node is Ready.
  void StartServer(const std::string& driver_config) {
    driver_config_ = driver_config;
    ASSERT_TRUE(server_.Start(ServerFlags())) << server_.log();
    ASSERT_TRUE(WaitForNode()) << K({"get", "nodes", "-o", "yaml"}).out << server_.log();
  }
  std::vector<std::string> ServerFlags() const {
    return {"--driver", "fake", "--driver-config", driver_config_, "--node-name", kNode};
  }
  bool WaitForNode() {
    return WaitUntil(
        [&] {
          const json node = Get("/api/v1/nodes/" + std::string(kNode));
          const json* ready = Condition(node, "Ready");
          return ready != nullptr && Str(*ready, "status") == "True";
        },
        20s);
  }

  RunResult K(const std::vector<std::string>& args, const std::string& in = "",
              std::chrono::milliseconds timeout = 60s) {
    return server_.Kubectl(kubectl_, args, in, timeout);
  }
  void Apply(const std::string& yaml) {
    RunResult r = K({"apply", "-f", "-"}, yaml);
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  }
  void SetImage(const std::string& deployment, const std::string& image) {
    RunResult r = K({"set", "image", "deployment/" + deployment, "web=" + image});
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    EXPECT_NE(r.out.find("deployment.apps/" + deployment + " image updated"), std::string::npos) << r.out;
  }

  // GET through curl (much faster than kubectl for polling); null on any failure.
  json Get(const std::string& path) {
    RunResult r = server_.Curl({"--max-time", "10", server_.url() + path});
    if (r.exit_code != 0) return json();
    json j = json::parse(r.out, nullptr, false);
    if (j.is_discarded() || Str(j, "kind") == "Status") return json();
    return j;
  }
  json Deployment(const std::string& name) { return Get("/apis/apps/v1/namespaces/default/deployments/" + name); }
  std::vector<json> Pods(const std::string& app) {
    return Items(Get("/api/v1/namespaces/default/pods?labelSelector=app%3D" + app));
  }
  std::vector<json> ReplicaSets(const std::string& app) {
    return Items(Get("/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3D" + app));
  }

  // The rollout of `name` to `image` is over: the Deployment's status says so for this
  // generation, exactly `replicas` Pods exist, all of that template, Running and Ready, the
  // ReplicaSet of that template wants `replicas` and every other one 0 and has none. Else false,
  // with what is missing in `why`.
  bool RolloutComplete(const std::string& name, const std::string& image, int replicas, std::string* why) {
    json d = Deployment(name);
    if (d.is_null()) return *why = "no deployment", false;
    const json& st = At(d, "status");
    std::ostringstream w;
    if (TemplateImage(d) != image) w << "template image " << TemplateImage(d) << "; ";
    if (IntAt(st, "observedGeneration") < IntAt(At(d, "metadata"), "generation")) w << "status not observed; ";
    for (const char* f : {"replicas", "updatedReplicas", "readyReplicas", "availableReplicas"}) {
      if (IntAt(st, f) != replicas) w << "status." << f << "=" << IntAt(st, f) << "; ";
    }
    std::vector<json> pods = Pods(name);
    if (static_cast<int>(pods.size()) != replicas) w << pods.size() << " pods; ";
    for (const json& p : pods) {
      if (PodImage(p) != image || !PodRunningReady(p) || Deleting(p)) {
        w << "pod " << Name(p) << " " << PodImage(p) << " " << Str(At(p, "status"), "phase")
          << (PodReady(p) ? " ready" : " not-ready") << "; ";
      }
    }
    int current = 0;
    for (const json& rs : ReplicaSets(name)) {
      if (!OwnedBy(rs, Uid(d))) continue;
      const int want = TemplateImage(rs) == image ? replicas : 0;
      if (TemplateImage(rs) == image) ++current;
      if (IntAt(At(rs, "spec"), "replicas") != want || IntAt(At(rs, "status"), "replicas") != want) {
        w << "rs " << Name(rs) << " (" << TemplateImage(rs) << ") spec " << IntAt(At(rs, "spec"), "replicas")
          << " status " << IntAt(At(rs, "status"), "replicas") << "; ";
      }
    }
    if (current != 1) w << current << " replicasets of the template; ";
    *why = w.str();
    return why->empty();
  }
  void WaitRollout(const std::string& name, const std::string& image, int replicas,
                   std::chrono::milliseconds timeout = 30s) {
    std::string why;
    ASSERT_TRUE(WaitUntil([&] { return RolloutComplete(name, image, replicas, &why); }, timeout, 150ms))
        << name << " -> " << image << " x" << replicas << ": " << why << "\n"
        << K({"get", "deploy,rs,pods", "-o", "wide"}).out << LogTail();
  }
  // The end of the server's log, for failure messages (a server that died says so there).
  std::string LogTail(size_t lines = 15) const {
    const std::string log = server_.log();
    size_t at = log.size();
    for (size_t n = 0; n <= lines && at > 0; ++n) at = log.rfind('\n', at - 1);
    return "--- server log (end) ---\n" + log.substr(at == std::string::npos ? 0 : at + 1);
  }

  ServerProcess server_;
  std::string kubectl_;
  std::string driver_config_;
};

// ---- 1. Scale ---------------------------------------------------------------------------------

}  // namespace capstan::e2e::controllers_testing
