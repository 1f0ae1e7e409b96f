#include "bench/report.h"

#include <algorithm>
#include <cmath>

namespace capstan::bench {
namespace {

double Ratio(double c, double e) { return std::isfinite(c) && std::isfinite(e) && e != 0 ? c / e : std::nan(""); }

std::string Cell(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e12) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, std::fabs(v) >= 100 ? "%.1f" : "%.2f", v);
  }
  return buf;
}

nlohmann::json Num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

void Report::Set(const std::string& key, const std::string& label, Better better, const std::string& server,
                 double value) {
  auto it = std::find_if(metrics_.begin(), metrics_.end(), [&](const Metric& m) { return m.key == key; });
  if (it == metrics_.end()) {
    metrics_.push_back({key, label, better, std::nan(""), std::nan("")});
    it = metrics_.end() - 1;
  }
  (server == "capstan" ? it->capstan : it->etcd) = value;
}

void Report::Note(const std::string& text) { notes_.push_back(text); }

void Report::Print(std::FILE* out) const {
  std::fprintf(out, "\n%-48s %12s %12s %13s\n", "metric", "capstan", "etcd", "capstan/etcd");
  for (const auto& m : metrics_) {
    std::string ratio = m.better == Better::kNone ? "" : Cell(Ratio(m.capstan, m.etcd));
    const char* hint = m.better == Better::kHigher ? "  (higher is better)"
                       : m.better == Better::kLower ? "  (lower is better)" : "";
    if (ratio == "-") hint = "";
    std::fprintf(out, "%-48s %12s %12s %13s%s\n", m.label.c_str(), Cell(m.capstan).c_str(), Cell(m.etcd).c_str(),
                 ratio.c_str(), hint);
  }
  for (const auto& n : notes_) std::fprintf(out, "note: %s\n", n.c_str());

  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& m : metrics_) {
    nlohmann::json j = {{"capstan", Num(m.capstan)}, {"etcd", Num(m.etcd)}};
    if (m.better != Better::kNone) {
      j["ratio"] = Num(Ratio(m.capstan, m.etcd));
      j["better"] = m.better == Better::kHigher ? "higher" : "lower";
    }
    metrics[m.key] = j;
  }
  nlohmann::json line = {{"bench", "api"}, {"config", config_}, {"metrics", metrics}, {"notes", notes_}};
  std::fprintf(out, "%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  std::fflush(out);
}

}  // namespace capstan::bench
