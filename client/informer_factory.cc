#include "client/informer_factory.h"

#include <algorithm>
#include <vector>

namespace capstan::client {

SharedInformerFactory::SharedInformerFactory(ApiClient* client, InformerOptions defaults)
    : client_(client), defaults_(std::move(defaults)) {}

SharedInformerFactory::~SharedInformerFactory() { StopAll(); }

Informer* SharedInformerFactory::ForResource(const std::string& path, const std::string& label_selector,
                                             const std::string& field_selector) {
  std::lock_guard<std::mutex> lock(mu_);
  Key key{path, label_selector, field_selector};
  auto it = informers_.find(key);
  if (it != informers_.end()) return it->second.get();
  InformerOptions options = defaults_;
  options.label_selector = label_selector;
  options.field_selector = field_selector;
  auto informer = std::make_unique<Informer>(client_, path, std::move(options));
  Informer* raw = informer.get();
  informers_.emplace(std::move(key), std::move(informer));
  return raw;
}

void SharedInformerFactory::StartAll() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, informer] : informers_) informer->Start();  // a no-op for started ones
}

bool SharedInformerFactory::WaitForSyncAll(std::chrono::milliseconds timeout) {
  std::vector<Informer*> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, informer] : informers_) all.push_back(informer.get());
  }
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (Informer* informer : all) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (!informer->WaitForSync(std::max(left, std::chrono::milliseconds(0)))) return false;
  }
  return true;
}

void SharedInformerFactory::RemoveEventHandlers(const void* owner) {
  std::vector<Informer*> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, informer] : informers_) all.push_back(informer.get());
  }
  for (Informer* informer : all) informer->RemoveEventHandlers(owner);
}

void SharedInformerFactory::StopAll() {
  std::vector<Informer*> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, informer] : informers_) all.push_back(informer.get());
  }
  for (Informer* informer : all) informer->Stop();
}

}  // namespace capstan::client
