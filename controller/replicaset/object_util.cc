#include "controller/replicaset/object_util.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace capstan::controller::replicaset {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil), so
// parsing needs neither timegm nor the process's time zone.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0);
}

// Reads exactly `n` digits at s[*pos].
bool Digits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || std::toupper(static_cast<unsigned char>(s[*pos])) != c) return false;
  ++*pos;
  return true;
}

}  // namespace

const json& At(const json& obj, std::string_view key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string StringAt(const json& obj, std::string_view key) {
  const json& v = At(obj, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

int64_t IntAt(const json& obj, std::string_view key, int64_t fallback) {
  const json& v = At(obj, key);
  return v.is_number_integer() ? v.get<int64_t>() : fallback;
}

std::string Meta(const json& obj, std::string_view key) { return StringAt(At(obj, "metadata"), key); }

std::optional<std::string> Annotation(const json& obj, std::string_view key) {
  const json& v = At(At(At(obj, "metadata"), "annotations"), key);
  if (!v.is_string()) return std::nullopt;
  return v.get<std::string>();
}

int32_t SpecReplicas(const json& obj) { return static_cast<int32_t>(IntAt(At(obj, "spec"), "replicas", 1)); }

std::optional<TimePoint> ParseTime(const json& value) {
  if (!value.is_string()) return std::nullopt;
  std::string_view s = value.get_ref<const std::string&>();
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!Digits(s, &pos, 4, &year) || !Expect(s, &pos, '-') || !Digits(s, &pos, 2, &month) ||
      !Expect(s, &pos, '-') || !Digits(s, &pos, 2, &day) || !Expect(s, &pos, 'T') ||
      !Digits(s, &pos, 2, &hour) || !Expect(s, &pos, ':') || !Digits(s, &pos, 2, &minute) ||
      !Expect(s, &pos, ':') || !Digits(s, &pos, 2, &second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100000000;
    size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offset_seconds = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!Digits(s, &pos, 2, &oh) || !Expect(s, &pos, ':') || !Digits(s, &pos, 2, &om)) return std::nullopt;
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  int64_t secs = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
                 hour * 3600 + minute * 60 + second - offset_seconds;
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::seconds(secs) +
                                                                   std::chrono::nanoseconds(nanos)));
}

std::string FormatTime(TimePoint t) {
  int64_t secs = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  return buf;
}

std::optional<TimePoint> CreationTime(const json& obj) { return ParseTime(At(At(obj, "metadata"), "creationTimestamp")); }

bool StatusOnlyChange(const json& old, const json& cur) {
  if (At(old, "spec") != At(cur, "spec")) return false;
  const json& om = At(old, "metadata");
  const json& cm = At(cur, "metadata");
  for (const char* key : {"labels", "annotations", "ownerReferences", "finalizers", "deletionTimestamp", "generation"}) {
    if (At(om, key) != At(cm, key)) return false;
  }
  return true;
}

bool BindingOrStatusOnlyChange(const json& old_pod, const json& pod) {
  const json& old_spec = At(old_pod, "spec");
  const json& spec = At(pod, "spec");
  if (old_spec == spec) return StatusOnlyChange(old_pod, pod);
  if (!old_spec.is_object() || !spec.is_object()) return false;
  // Every field but nodeName the same, on both sides.
  size_t compared = 0;
  for (const auto& [key, value] : old_spec.items()) {
    if (key == "nodeName") continue;
    auto it = spec.find(key);
    if (it == spec.end() || *it != value) return false;
    ++compared;
  }
  if (spec.size() - (spec.contains("nodeName") ? 1 : 0) != compared) return false;
  const json& om = At(old_pod, "metadata");
  const json& cm = At(pod, "metadata");
  for (const char* key : {"labels", "annotations", "ownerReferences", "finalizers", "deletionTimestamp", "generation"}) {
    if (At(om, key) != At(cm, key)) return false;
  }
  return true;
}

bool IsDeleting(const json& obj) {
  const json& v = At(At(obj, "metadata"), "deletionTimestamp");
  return !v.is_null();
}

const json* ControllerRef(const json& obj) {
  const json& refs = At(At(obj, "metadata"), "ownerReferences");
  if (!refs.is_array()) return nullptr;
  for (const json& ref : refs) {
    const json& c = At(ref, "controller");
    if (c.is_boolean() && c.get<bool>()) return &ref;
  }
  return nullptr;
}

bool IsControlledBy(const json& obj, const std::string& owner_uid) {
  const json* ref = ControllerRef(obj);
  return ref != nullptr && !owner_uid.empty() && StringAt(*ref, "uid") == owner_uid;
}

json NewControllerRef(const json& owner, std::string_view api_version, std::string_view kind) {
  return json{{"apiVersion", api_version},
              {"kind", kind},
              {"name", Meta(owner, "name")},
              {"uid", Meta(owner, "uid")},
              {"controller", true},
              {"blockOwnerDeletion", true}};
}

bool LabelsContain(const json& labels, const json& subset) {
  if (!subset.is_object()) return true;
  for (auto it = subset.begin(); it != subset.end(); ++it) {
    const json& have = At(labels, it.key());
    if (!have.is_string() || !it->is_string() || have.get_ref<const std::string&>() != it->get_ref<const std::string&>()) {
      return false;
    }
  }
  return true;
}

bool IsPodActive(const json& pod) {
  std::string phase = StringAt(At(pod, "status"), "phase");
  return phase != "Succeeded" && phase != "Failed" && !IsDeleting(pod);
}

namespace {
const json* ReadyCondition(const json& pod) { return FindCondition(At(pod, "status"), "Ready"); }
}  // namespace

bool IsPodReady(const json& pod) {
  const json* c = ReadyCondition(pod);
  return c != nullptr && StringAt(*c, "status") == "True";
}

std::optional<TimePoint> PodReadySince(const json& pod) {
  const json* c = ReadyCondition(pod);
  if (c == nullptr || StringAt(*c, "status") != "True") return std::nullopt;
  return ParseTime(At(*c, "lastTransitionTime"));
}

bool IsPodAvailable(const json& pod, int64_t min_ready_seconds, TimePoint now) {
  if (!IsPodReady(pod)) return false;
  if (min_ready_seconds <= 0) return true;
  auto since = PodReadySince(pod);
  return since.has_value() && *since + std::chrono::seconds(min_ready_seconds) < now;
}

std::optional<TimePoint> PodAvailableAt(const json& pod, int64_t min_ready_seconds) {
  if (min_ready_seconds <= 0) return std::nullopt;
  auto since = PodReadySince(pod);
  if (!since) return std::nullopt;
  return *since + std::chrono::seconds(min_ready_seconds);
}

int64_t MaxContainerRestarts(const json& pod) {
  int64_t most = 0;
  const json& statuses = At(At(pod, "status"), "containerStatuses");
  if (!statuses.is_array()) return 0;
  for (const json& s : statuses) most = std::max(most, IntAt(s, "restartCount"));
  return most;
}

const json* FindCondition(const json& status, std::string_view type) {
  const json& conds = At(status, "conditions");
  if (!conds.is_array()) return nullptr;
  for (const json& c : conds) {
    if (StringAt(c, "type") == type) return &c;
  }
  return nullptr;
}

void RemoveCondition(json& status, std::string_view type) {
  if (!status.is_object()) return;
  auto it = status.find("conditions");
  if (it == status.end() || !it->is_array()) return;
  json kept = json::array();
  for (const json& c : *it) {
    if (StringAt(c, "type") != type) kept.push_back(c);
  }
  if (kept.empty()) {
    status.erase("conditions");
  } else {
    *it = std::move(kept);
  }
}

}  // namespace capstan::controller::replicaset
