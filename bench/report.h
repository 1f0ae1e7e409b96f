// Report: the side-by-side results table (capstan, etcd, capstan/etcd) and its JSON line.
//
// Thread-safety: none; used by the main thread only.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace capstan::bench {

enum class Better { kHigher, kLower, kNone };  // kNone: a count; no ratio is printed

class Report {
 public:
  // Records `value` of metric `key` for server `server` ("capstan" or "etcd"); metrics print in
  // the order they were first set.
  void Set(const std::string& key, const std::string& label, Better better, const std::string& server, double value);
  // A line printed under the table (errors, failed watchers...).
  void Note(const std::string& text);
  void Config(const std::string& key, nlohmann::json value) { config_[key] = std::move(value); }

  // The table, the notes, then one line of JSON starting with {"bench":"api".
  void Print(std::FILE* out) const;

 private:
  struct Metric {
    std::string key, label;
    Better better = Better::kNone;
    double capstan, etcd;
  };
  std::vector<Metric> metrics_;
  std::vector<std::string> notes_;
  nlohmann::json config_ = nlohmann::json::object();
};

}  // namespace capstan::bench
