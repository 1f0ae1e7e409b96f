#include "base/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <variant>

namespace capstan::metrics {
namespace {

void AtomicAdd(std::atomic<double>* v, double by) {
  double cur = v->load(std::memory_order_relaxed);
  while (!v->compare_exchange_weak(cur, cur + by, std::memory_order_relaxed)) {
  }
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

const char* TypeName(Type t) {
  switch (t) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

// {a="x",b="y"} with `extra` (le="...") appended; "" when there are no labels at all.
std::string LabelText(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const std::string& extra = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += (out.empty() ? "" : ",") + names[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? "" : "{" + out + "}";
}

}  // namespace

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", value);
  } else {
    std::snprintf(buf, sizeof(buf), "%.17g", value);
    // The shortest text that reads back as the same double.
    for (int precision = 1; precision < 17; ++precision) {
      char shorter[64];
      std::snprintf(shorter, sizeof(shorter), "%.*g", precision, value);
      if (std::strtod(shorter, nullptr) == value) {
        std::snprintf(buf, sizeof(buf), "%s", shorter);
        break;
      }
    }
  }
  return buf;
}

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void Counter::Inc(double by) {
  if (by > 0) AtomicAdd(&value_, by);
}

void Counter::Set(double value) { value_.store(value, std::memory_order_relaxed); }

void Gauge::Add(double by) { AtomicAdd(&value_, by); }

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_->size() && value > (*bounds_)[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(&sum_, value);
}

uint64_t Histogram::CumulativeCount(size_t i) const {
  uint64_t n = 0;
  for (size_t j = 0; j <= i && j <= bounds_->size(); ++j) n += buckets_[j].load(std::memory_order_relaxed);
  return n;
}

const std::vector<double>& DurationBuckets() {
  static const std::vector<double> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                               0.25,  0.5,    1,     2.5,  5,     10,   30};
  return kBuckets;
}

template <typename Metric>
Family<Metric>::Family(Type type, std::string name, std::string help, std::vector<std::string> labels,
                       std::vector<double> bounds)
    : type_(type), name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)), bounds_(std::move(bounds)) {}

template <typename Metric>
Metric& Family<Metric>::With(const std::vector<std::string>& values) {
  std::vector<std::string> key = values;
  key.resize(labels_.size());
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Metric>& slot = series_[key];
  if (!slot) {
    if constexpr (std::is_same_v<Metric, Histogram>) slot = std::make_unique<Histogram>(&bounds_);
    else slot = std::make_unique<Metric>();
  }
  return *slot;
}

template <typename Metric>
void Family<Metric>::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  series_.clear();
}

template <typename Metric>
void Family<Metric>::Render(std::string* out) const {
  *out += "# HELP " + name_ + " " + EscapeHelp(help_) + "\n";
  *out += "# TYPE " + name_ + " " + TypeName(type_) + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, metric] : series_) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      for (size_t i = 0; i <= bounds_.size(); ++i) {
        const std::string le = i < bounds_.size() ? FormatValue(bounds_[i]) : "+Inf";
        *out += name_ + "_bucket" + LabelText(labels_, values, "le=\"" + le + "\"") + " " +
                FormatValue(static_cast<double>(metric->CumulativeCount(i))) + "\n";
      }
      *out += name_ + "_sum" + LabelText(labels_, values) + " " + FormatValue(metric->Sum()) + "\n";
      *out += name_ + "_count" + LabelText(labels_, values) + " " + FormatValue(static_cast<double>(metric->Count())) +
              "\n";
    } else {
      *out += name_ + LabelText(labels_, values) + " " + FormatValue(metric->Value()) + "\n";
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct Registry::Entry {
  std::variant<std::unique_ptr<CounterFamily>, std::unique_ptr<GaugeFamily>, std::unique_ptr<HistogramFamily>> family;
};

Registry::Registry() = default;
Registry::~Registry() = default;

template <typename F>
F& Registry::Find(Type type, const std::string& name, const std::string& help, const std::vector<std::string>& labels,
                  const std::vector<double>& bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (auto* existing = std::get_if<std::unique_ptr<F>>(&it->second->family)) {
      F& f = **existing;
      if (f.type() == type && f.labels() == labels && f.bounds() == bounds) return f;
    }
  }
  auto family = std::make_unique<F>(type, name, help, labels, bounds);
  F& f = *family;
  auto entry = std::make_unique<Entry>();
  entry->family = std::move(family);
  // A clash (the name taken by another shape): the caller gets a family of its own that is
  // never rendered.
  if (it != families_.end()) detached_.push_back(std::move(entry));
  else families_[name] = std::move(entry);
  return f;
}

CounterFamily& Registry::Counter(const std::string& name, const std::string& help, const std::vector<std::string>& labels) {
  return Find<CounterFamily>(Type::kCounter, name, help, labels, {});
}

GaugeFamily& Registry::Gauge(const std::string& name, const std::string& help, const std::vector<std::string>& labels) {
  return Find<GaugeFamily>(Type::kGauge, name, help, labels, {});
}

HistogramFamily& Registry::Histogram(const std::string& name, const std::string& help,
                                     const std::vector<std::string>& labels, const std::vector<double>& bounds) {
  return Find<HistogramFamily>(Type::kHistogram, name, help, labels, bounds);
}

int Registry::AddCollector(std::function<void()> collect) {
  std::lock_guard<std::mutex> lock(collect_mu_);
  const int id = next_collector_++;
  collectors_[id] = std::move(collect);
  return id;
}

void Registry::RemoveCollector(int id) {
  std::lock_guard<std::mutex> lock(collect_mu_);
  collectors_.erase(id);
}

std::string Registry::Render() {
  // Held to the end: a concurrent scrape's collectors never rebuild a family half-way through
  // this one's rendering.
  std::lock_guard<std::mutex> collect_lock(collect_mu_);
  for (const auto& [id, collect] : collectors_) collect();
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, entry] : families_) {
    std::visit([&](const auto& family) { family->Render(&out); }, entry->family);
  }
  return out;
}

Registry& DefaultRegistry() {
  static Registry* registry = new Registry();  // never destroyed: used until the process exits
  return *registry;
}

}  // namespace capstan::metrics
