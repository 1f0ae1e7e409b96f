// Metrics: counters, gauges and histograms with labels, rendered in the Prometheus text
// exposition format 0.0.4 (what GET /metrics of the API server answers; docs/metrics.md).
//
//   metrics::Registry& r = metrics::DefaultRegistry();
//   auto& requests = r.Counter("apiserver_request_total", "Requests by verb and code.", {"verb", "code"});
//   requests.With({"GET", "200"}).Inc();
//
// Contract:
//  - A family is registered once by name; registering the name again with the same type, labels
//    (and buckets) returns the same family, so two parts of one process (two servers in a test)
//    share it. Another type, label set or bucket list under a taken name is a programming error:
//    the call returns a detached family that is never rendered, and logs nothing (the unit tests
//    pin the rule).
//  - With(values) takes exactly one value per label name (missing ones are "", extra ones are
//    dropped) and returns a reference valid for the registry's life: callers may keep it.
//  - Counters only go up (Inc with a negative amount is ignored); a counter mirrored from another
//    monotonic count may be Set. Gauges Set/Add freely. A histogram's buckets are fixed upper
//    bounds in increasing order; +Inf is implicit.
//  - Collectors run at the start of every Render (scrape): they set gauges from state read then
//    (HAProxy's `show stat`). A collector may block briefly; it must not call Render.
//    RemoveCollector waits until a running collection has finished, so an object that removes its
//    collector before it dies is never called afterwards.
//  - Render is deterministic: families by name, series by label values; HELP and TYPE lines,
//    label values escaped (\\, \", \n); integral values without a fraction; +Inf, -Inf, NaN.
//
// Thread-safety: everything may be called from any thread at any time; values are atomics, maps
// of series are guarded by their family's mutex.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace capstan::metrics {

class Counter {
 public:
  void Inc(double by = 1);
  void Set(double value);  // mirrors a monotonic count kept elsewhere
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double by);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double value);
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  // Observations <= bounds[i] (cumulative, as rendered); i == bounds.size() is +Inf.
  uint64_t CumulativeCount(size_t i) const;

 private:
  const std::vector<double>* const bounds_;  // the family's; outlives this
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bound, then +Inf; not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Default buckets of durations in seconds: 1 ms to 30 s.
const std::vector<double>& DurationBuckets();

enum class Type { kCounter, kGauge, kHistogram };

template <typename Metric>
class Family {
 public:
  Family(Type type, std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds = {});
  Metric& With(const std::vector<std::string>& values = {});
  // Drops every series (a collector that rebuilds a gauge family whose label values come and go).
  void Clear();
  // Appends this family in the text format.
  void Render(std::string* out) const;

  Type type() const { return type_; }
  const std::vector<std::string>& labels() const { return labels_; }
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const Type type_;
  const std::string name_, help_;
  const std::vector<std::string> labels_;
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> series_;  // guarded by mu_
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  CounterFamily& Counter(const std::string& name, const std::string& help, const std::vector<std::string>& labels = {});
  GaugeFamily& Gauge(const std::string& name, const std::string& help, const std::vector<std::string>& labels = {});
  HistogramFamily& Histogram(const std::string& name, const std::string& help, const std::vector<std::string>& labels,
                             const std::vector<double>& bounds);

  // Returns an id for RemoveCollector.
  int AddCollector(std::function<void()> collect);
  void RemoveCollector(int id);

  // Runs the collectors, then renders every family.
  std::string Render();

 private:
  struct Entry;
  template <typename F>
  F& Find(Type type, const std::string& name, const std::string& help, const std::vector<std::string>& labels,
          const std::vector<double>& bounds);

  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>> families_;  // guarded by mu_
  std::vector<std::unique_ptr<Entry>> detached_;            // guarded by mu_: misregistrations
  std::mutex collect_mu_;                                   // held while collectors run
  std::map<int, std::function<void()>> collectors_;         // guarded by collect_mu_
  int next_collector_ = 1;                                  // guarded by collect_mu_
};

// The process's registry: what the API server's /metrics renders.
Registry& DefaultRegistry();

// A sample value as the text format writes it ("3", "0.25", "+Inf", "NaN"). Exposed for tests.
std::string FormatValue(double value);
// A label value escaped for the text format. Exposed for tests.
std::string EscapeLabelValue(const std::string& value);

}  // namespace capstan::metrics
