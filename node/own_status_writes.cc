#include "node/own_status_writes.h"

namespace capstan::node {

void OwnStatusWrites::Record(const std::string& key, std::string base_rv, std::string written_rv) {
  std::lock_guard<std::mutex> lock(mu_);
  writes_[key] = {std::move(base_rv), std::move(written_rv)};
}

bool OwnStatusWrites::IsOwnWrite(const std::string& key, const std::string& old_rv, const std::string& new_rv) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = writes_.find(key);
  if (it == writes_.end() || it->second.first.empty() || it->second.first != old_rv || it->second.second != new_rv) {
    return false;
  }
  writes_.erase(it);
  return true;
}

void OwnStatusWrites::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  writes_.erase(key);
}

size_t OwnStatusWrites::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return writes_.size();
}

}  // namespace capstan::node
