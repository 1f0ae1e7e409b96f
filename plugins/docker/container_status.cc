#include "plugins/docker/container_status.h"

#include <cctype>
#include <ctime>
#include <string>

#include "plugins/docker/container_config.h"
#include "plugins/docker/json_fields.h"

namespace capstan::plugins::docker {
namespace {

using json = nlohmann::json;

// The exit code of a container whose start failed without docker giving one (containerd's).
constexpr int64_t kStartErrorExitCode = 128;

int64_t Int(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number_integer() ? j[key].get<int64_t>() : 0;
}

bool Bool(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_boolean() && j[key].get<bool>();
}

// Reads exactly `n` digits at `*pos`.
bool Digits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

std::optional<int64_t> ParseEngineTime(std::string_view s) {
  size_t pos = 0;
  std::tm tm{};
  int year, month, day, hour, minute, second;
  if (!Digits(s, &pos, 4, &year) || !Expect(s, &pos, '-') || !Digits(s, &pos, 2, &month) || !Expect(s, &pos, '-') ||
      !Digits(s, &pos, 2, &day) || !(Expect(s, &pos, 'T') || Expect(s, &pos, 't')) || !Digits(s, &pos, 2, &hour) ||
      !Expect(s, &pos, ':') || !Digits(s, &pos, 2, &minute) || !Expect(s, &pos, ':') ||
      !Digits(s, &pos, 2, &second)) {
    return std::nullopt;
  }
  if (year <= 1) return std::nullopt;  // Go's zero time: "never"
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100000000;
    size_t digits = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (scale > 0) nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
  }
  int64_t offset_seconds = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!Digits(s, &pos, 2, &oh) || !Expect(s, &pos, ':') || !Digits(s, &pos, 2, &om)) return std::nullopt;
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (pos != s.size() || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const int64_t epoch = static_cast<int64_t>(timegm(&tm)) - offset_seconds;
  return epoch * 1000000000 + nanos;
}

sdk::ContainerStatus StatusFromInspect(const json& inspect, int64_t now_unix_nano) {
  sdk::ContainerStatus s;
  const json& config = JsonChild(inspect, "Config");
  const json& labels = JsonChild(config, "Labels");
  s.name = JsonString(labels, kLabelContainer);
  s.id = JsonString(inspect, "Id");
  s.image = JsonString(config, "Image");
  s.image_id = JsonString(inspect, "Image");
  const json& state = JsonChild(inspect, "State");
  const std::string status = JsonString(state, "Status");
  const std::string error = JsonString(state, "Error");
  const std::optional<int64_t> started = ParseEngineTime(JsonString(state, "StartedAt"));
  const std::optional<int64_t> finished = ParseEngineTime(JsonString(state, "FinishedAt"));
  const std::optional<int64_t> created = ParseEngineTime(JsonString(inspect, "Created"));

  if (status == "created" && error.empty()) {
    s.state = sdk::ContainerState::kWaiting;
    s.reason = "ContainerCreating";
    return s;
  }
  if (status == "running" || status == "paused" || status == "restarting") {
    s.state = sdk::ContainerState::kRunning;
    s.started_at_unix_nano = started;
    s.ready = status == "running";
    if (status == "paused") s.reason = "Paused";
    return s;
  }
  s.state = sdk::ContainerState::kTerminated;
  s.exit_code = Int(state, "ExitCode");
  s.message = error;
  s.started_at_unix_nano = started;
  s.finished_at_unix_nano = finished;
  if (status == "created") {  // its start failed
    s.reason = "StartError";
    if (s.exit_code == 0) s.exit_code = kStartErrorExitCode;
    s.started_at_unix_nano.reset();
    if (!s.finished_at_unix_nano) s.finished_at_unix_nano = created;
  } else if (Bool(state, "OOMKilled")) {
    s.reason = "OOMKilled";
  } else {
    s.reason = s.exit_code == 0 ? "Completed" : "Error";
  }
  if (!s.finished_at_unix_nano) s.finished_at_unix_nano = now_unix_nano;
  return s;
}

sdk::ContainerStatus StatusFromDieEvent(const json& event) {
  sdk::ContainerStatus s;
  const json& actor = JsonChild(event, "Actor");
  const json& attrs = JsonChild(actor, "Attributes");
  s.name = JsonString(attrs, kLabelContainer);
  s.id = JsonString(actor, "ID");
  s.image = JsonString(attrs, "image");
  s.state = sdk::ContainerState::kTerminated;
  const std::string code = JsonString(attrs, "exitCode");
  s.exit_code = !code.empty() && code.size() < 10 && std::isdigit(static_cast<unsigned char>(code[0]))
                    ? std::stoll(code)
                    : 0;
  s.reason = s.exit_code == 0 ? "Completed" : "Error";
  if (event.contains("timeNano") && event["timeNano"].is_number_integer()) {
    s.finished_at_unix_nano = event["timeNano"].get<int64_t>();
  } else {
    s.finished_at_unix_nano = sdk::NowUnixNano();
  }
  return s;
}

}  // namespace capstan::plugins::docker
