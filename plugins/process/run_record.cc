#include "plugins/process/run_record.h"

#include <sys/random.h>

#include <cstdio>
#include <random>

namespace capstan::plugins::process {
namespace {

using json = nlohmann::json;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

// Typed field readers over a checked object; each returns false (and says why) on a wrong type.
struct Reader {
  const json& j;
  std::string* error;
  std::string where;

  bool Fail(const std::string& key, const char* what) {
    *error = where + key + ": " + what;
    return false;
  }
  bool Str(const char* key, std::string* out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_string()) return Fail(key, "must be a string");
    *out = it->get<std::string>();
    return true;
  }
  bool Int(const char* key, int64_t* out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_number_integer()) return Fail(key, "must be an integer");
    *out = it->get<int64_t>();
    return true;
  }
  bool OptInt(const char* key, std::optional<int64_t>* out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_number_integer()) return Fail(key, "must be an integer");
    *out = it->get<int64_t>();
    return true;
  }
  bool Strings(const char* key, std::vector<std::string>* out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_array()) return Fail(key, "must be an array of strings");
    for (const json& e : *it) {
      if (!e.is_string()) return Fail(key, "must be an array of strings");
      out->push_back(e.get<std::string>());
    }
    return true;
  }
};

}  // namespace

json ToJson(const RunRecord& run) {
  json containers = json::array();
  for (const ContainerRecord& c : run.containers) {
    json jc = {{"name", c.name},
               {"id", c.id},
               {"image", c.image},
               {"imageId", c.image_id},
               {"argv", c.argv},
               {"env", c.env},
               {"workingDir", c.working_dir},
               {"pid", c.pid},
               {"startTicks", c.start_ticks},
               {"exited", c.exited}};
    if (c.started_at_unix_nano) jc["startedAtUnixNano"] = *c.started_at_unix_nano;
    if (c.exited) {
      jc["exitCode"] = c.exit_code;
      jc["reason"] = c.reason;
      jc["message"] = c.message;
      if (c.finished_at_unix_nano) jc["finishedAtUnixNano"] = *c.finished_at_unix_nano;
    }
    containers.push_back(std::move(jc));
  }
  return {{"version", kRecordVersion},
          {"id", run.id},
          {"bootId", run.boot_id},
          {"pod", {{"uid", run.pod.uid}, {"namespace", run.pod.namespace_name}, {"name", run.pod.name}}},
          {"labels", run.labels},
          {"createdAtUnixNano", run.created_at_unix_nano},
          {"containers", containers}};
}

bool FromJson(const json& j, RunRecord* out, std::string* error) {
  if (!j.is_object()) {
    *error = "not a JSON object";
    return false;
  }
  Reader r{j, error, ""};
  int64_t version = 0;
  if (!r.Int("version", &version)) return false;
  if (version != kRecordVersion) {
    *error =
        "version " + std::to_string(version) + " (this driver reads version " + std::to_string(kRecordVersion) + ")";
    return false;
  }
  if (!r.Str("id", &out->id) || !r.Str("bootId", &out->boot_id) ||
      !r.Int("createdAtUnixNano", &out->created_at_unix_nano)) {
    return false;
  }
  if (!ValidRunId(out->id)) {
    *error = "id: not a run id of this driver";
    return false;
  }
  if (auto pod = j.find("pod"); pod != j.end() && !pod->is_null()) {
    if (!pod->is_object()) return r.Fail("pod", "must be an object");
    Reader p{*pod, error, "pod."};
    if (!p.Str("uid", &out->pod.uid) || !p.Str("namespace", &out->pod.namespace_name) ||
        !p.Str("name", &out->pod.name)) {
      return false;
    }
  }
  if (auto labels = j.find("labels"); labels != j.end() && !labels->is_null()) {
    if (!labels->is_object()) return r.Fail("labels", "must be an object of strings");
    for (auto it = labels->begin(); it != labels->end(); ++it) {
      if (!it->is_string()) return r.Fail("labels", "must be an object of strings");
      out->labels[it.key()] = it->get<std::string>();
    }
  }
  auto containers = j.find("containers");
  if (containers == j.end() || !containers->is_array() || containers->empty()) {
    return r.Fail("containers", "must be a non-empty array");
  }
  for (size_t i = 0; i < containers->size(); ++i) {
    const json& jc = (*containers)[i];
    const std::string where = "containers[" + std::to_string(i) + "].";
    if (!jc.is_object()) return r.Fail(where, "must be an object");
    Reader c{jc, error, where};
    ContainerRecord rec;
    int64_t ticks = 0;
    if (!c.Str("name", &rec.name) || !c.Str("id", &rec.id) || !c.Str("image", &rec.image) ||
        !c.Str("imageId", &rec.image_id) || !c.Strings("argv", &rec.argv) || !c.Strings("env", &rec.env) ||
        !c.Str("workingDir", &rec.working_dir) || !c.Int("pid", &rec.pid) || !c.Int("startTicks", &ticks) ||
        !c.OptInt("startedAtUnixNano", &rec.started_at_unix_nano)) {
      return false;
    }
    if (!ValidContainerName(rec.name)) return c.Fail("name", "not a valid container name");
    if (rec.pid < 0 || ticks < 0) return c.Fail("pid", "must not be negative");
    rec.start_ticks = static_cast<uint64_t>(ticks);
    if (auto ex = jc.find("exited"); ex != jc.end() && !ex->is_null()) {
      if (!ex->is_boolean()) return c.Fail("exited", "must be a boolean");
      rec.exited = ex->get<bool>();
    }
    if (rec.exited &&
        (!c.Int("exitCode", &rec.exit_code) || !c.Str("reason", &rec.reason) || !c.Str("message", &rec.message) ||
         !c.OptInt("finishedAtUnixNano", &rec.finished_at_unix_nano))) {
      return false;
    }
    out->containers.push_back(std::move(rec));
  }
  return true;
}

sdk::PodRunHandle HandleOf(const RunRecord& run) {
  sdk::PodRunHandle h;
  h.id = run.id;
  h.pod = run.pod;
  for (const ContainerRecord& c : run.containers) h.containers.push_back({c.name, c.id});
  return h;
}

bool LabelsMatch(const std::map<std::string, std::string>& labels, const std::map<std::string, std::string>& selector) {
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

bool ValidRunId(std::string_view id) {
  if (id.empty() || id.size() > 64 || !IsLowerAlnum(id[0])) return false;
  for (char c : id) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

std::string NewRunId() {
  unsigned char bytes[10];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n <= 0) break;  // (EINTR or no entropy source: fall back below)
    got += static_cast<size_t>(n);
  }
  if (got < sizeof bytes) {
    std::random_device rd;
    for (unsigned char& b : bytes) b = static_cast<unsigned char>(rd());
  }
  char out[2 * sizeof bytes + 1];
  for (size_t i = 0; i < sizeof bytes; ++i) std::snprintf(out + 2 * i, 3, "%02x", bytes[i]);
  return std::string(out, 2 * sizeof bytes);
}

bool ValidContainerName(std::string_view name) {
  if (name.empty() || name.size() > 253 || !IsAlnum(name[0])) return false;
  for (char c : name) {
    if (!IsAlnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

std::string ContainerId(const std::string& run_id, const std::string& name) { return run_id + "." + name; }

}  // namespace capstan::plugins::process
