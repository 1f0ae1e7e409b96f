#include "controller/runtime/leader_election.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <random>

#include "base/log.h"

namespace capstan::controller {
namespace {

using json = nlohmann::json;

std::string RandomSuffix() {
  std::random_device rd;
  std::uniform_int_distribution<uint32_t> dist;
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08x", dist(rd));
  return buf;
}

std::string Hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "capstan";
  return buf;
}

}  // namespace

std::string MicroTimeNow() {
  const auto now = std::chrono::system_clock::now();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];  // generous: the compiler cannot bound the fields' widths
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(us % 1000000));
  return buf;
}

Result<std::unique_ptr<LeaderElector>> LeaderElector::Create(client::ApiClient* api, LeaderElectionOptions options) {
  if (options.renew_deadline >= options.lease_duration) {
    return Status(Code::kInvalid, "leader election: the renew deadline must be shorter than the lease duration");
  }
  if (options.retry_period >= options.renew_deadline) {
    return Status(Code::kInvalid, "leader election: the retry period must be shorter than the renew deadline");
  }
  if (options.identity.empty()) options.identity = Hostname() + "_" + RandomSuffix();
  return std::unique_ptr<LeaderElector>(new LeaderElector(api, std::move(options)));
}

LeaderElector::LeaderElector(client::ApiClient* api, LeaderElectionOptions options)
    : api_(api), options_(std::move(options)) {}

LeaderElector::~LeaderElector() { Stop(); }

std::string LeaderElector::LeasePath() const {
  return "/apis/coordination.k8s.io/v1/namespaces/" + options_.lease_namespace + "/leases/" + options_.lease_name;
}

void LeaderElector::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void LeaderElector::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool LeaderElector::SleepUnlessStopped(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void LeaderElector::Run() noexcept {
  try {
    for (;;) {
      const bool held = TryAcquireOrRenew();
      const auto now = std::chrono::steady_clock::now();
      if (held) {
        last_renewed_ = now;
        if (!leading_) {
          leading_ = true;
          log::Info("leader election: became leader", {{"identity", options_.identity}, {"lease", LeasePath()}});
          if (options_.on_started_leading) options_.on_started_leading();
        }
      } else if (leading_ && now - last_renewed_ >= options_.renew_deadline) {
        // Stop before the others may consider the lease expired (renew_deadline < lease_duration).
        log::Warn("leader election: lost the lease", {{"identity", options_.identity}});
        leading_ = false;
        if (options_.on_stopped_leading) options_.on_stopped_leading();
      }
      if (!SleepUnlessStopped(options_.retry_period)) break;
    }
    if (leading_) {
      leading_ = false;
      if (options_.on_stopped_leading) options_.on_stopped_leading();
      Release();
    }
  } catch (const std::exception& e) {
    log::Error("leader election: stopped by an exception", {{"error", e.what()}});
  } catch (...) {
    log::Error("leader election: stopped by an unknown exception");
  }
}

bool LeaderElector::TryAcquireOrRenew() {
  const std::string now = MicroTimeNow();
  const int64_t duration_s = std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count());
  auto got = api_->Get(LeasePath());
  if (!got.ok()) {
    if (!got.status().IsNotFound()) {
      log::Debug("leader election: reading the lease", {{"error", got.status().ToString()}});
      return false;
    }
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", options_.lease_name}, {"namespace", options_.lease_namespace}}},
                  {"spec",
                   {{"holderIdentity", options_.identity},
                    {"leaseDurationSeconds", duration_s},
                    {"acquireTime", now},
                    {"renewTime", now},
                    {"leaseTransitions", 0}}}};
    auto created = api_->Create("/apis/coordination.k8s.io/v1/namespaces/" + options_.lease_namespace + "/leases",
                                lease);
    return created.ok();
  }
  json lease = std::move(*got);
  json& spec = lease["spec"];
  if (!spec.is_object()) spec = json::object();
  const std::string holder = spec.value("holderIdentity", "");
  const std::string record = holder + "|" + spec.value("renewTime", "") + "|" +
                             std::to_string(spec.value("leaseTransitions", 0));
  const auto local_now = std::chrono::steady_clock::now();
  if (record != observed_record_) {
    observed_record_ = record;
    observed_at_ = local_now;
  }
  if (holder != options_.identity) {
    const bool expired = holder.empty() || local_now - observed_at_ >= options_.lease_duration;
    if (!expired) return false;
    spec["holderIdentity"] = options_.identity;
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = spec.value("leaseTransitions", 0) + 1;
  }
  spec["renewTime"] = now;
  spec["leaseDurationSeconds"] = duration_s;
  // The resourceVersion we read makes this a compare-and-swap: a concurrent writer wins, we 409.
  auto put = api_->Update(LeasePath(), lease);
  if (!put.ok()) return false;
  const json& s = (*put)["spec"];
  observed_record_ = s.value("holderIdentity", "") + "|" + s.value("renewTime", "") + "|" +
                     std::to_string(s.value("leaseTransitions", 0));
  observed_at_ = local_now;
  return true;
}

void LeaderElector::Release() {
  auto got = api_->Get(LeasePath());
  if (!got.ok() || (*got)["spec"].value("holderIdentity", "") != options_.identity) return;
  json lease = std::move(*got);
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = MicroTimeNow();
  auto put = api_->Update(LeasePath(), lease);
  if (put.ok()) log::Info("leader election: released the lease", {{"identity", options_.identity}});
}

}  // namespace capstan::controller
