#include "controller/replicaset/expectations.h"

namespace capstan::controller::replicaset {

ControllerExpectations::ControllerExpectations(NowFn now, std::chrono::steady_clock::duration ttl)
    : now_(now ? std::move(now) : NowFn([] { return std::chrono::steady_clock::now(); })), ttl_(ttl) {}

void ControllerExpectations::ExpectCreations(const std::string& key, int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  Record r;
  r.add = n;
  r.stamped = now_();
  records_[key] = std::move(r);
}

void ControllerExpectations::ExpectDeletions(const std::string& key, const std::vector<std::string>& uids) {
  std::lock_guard<std::mutex> lock(mu_);
  Record r;
  r.deleting.insert(uids.begin(), uids.end());
  r.del = static_cast<int64_t>(r.deleting.size());
  r.stamped = now_();
  records_[key] = std::move(r);
}

void ControllerExpectations::CreationObserved(const std::string& key, int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(key);
  if (it == records_.end()) return;
  it->second.add -= n;
}

void ControllerExpectations::DeletionObserved(const std::string& key, const std::string& uid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(key);
  if (it == records_.end()) return;
  if (it->second.deleting.erase(uid) == 1) --it->second.del;
}

bool ControllerExpectations::Satisfied(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(key);
  if (it == records_.end()) return true;
  const Record& r = it->second;
  if (r.add <= 0 && r.del <= 0) return true;
  return now_() - r.stamped > ttl_;
}

std::unordered_set<std::string> ControllerExpectations::PendingDeletions(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(key);
  if (it == records_.end() || now_() - it->second.stamped > ttl_) return {};
  return it->second.deleting;
}

void ControllerExpectations::Delete(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  records_.erase(key);
}

std::optional<ControllerExpectations::Pending> ControllerExpectations::Get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(key);
  if (it == records_.end()) return std::nullopt;
  return Pending{it->second.add, it->second.del};
}

}  // namespace capstan::controller::replicaset
