// SharedInformerFactory: one Informer per (collection path, label selector, field selector),
// shared by every controller of a process, so each collection is listed and watched once.
//
// Controllers ask ForResource() for their informers and add handlers and indexes (before
// StartAll); the program then calls StartAll(), waits with WaitForSyncAll(), and at shutdown
// StopAll() (also done by the destructor).
//
// Thread-safety: every method may be called from any thread. The returned Informer* stays valid
// as long as the factory. Lifetime: the ApiClient must outlive the factory.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "client/api_client.h"
#include "client/informer.h"

namespace capstan::client {

class SharedInformerFactory {
 public:
  // `defaults` supplies page size, watch timeout and backoff for every informer; its selectors
  // are ignored (ForResource's are used).
  explicit SharedInformerFactory(ApiClient* client, InformerOptions defaults = {});
  ~SharedInformerFactory();  // StopAll()

  SharedInformerFactory(const SharedInformerFactory&) = delete;
  SharedInformerFactory& operator=(const SharedInformerFactory&) = delete;

  // The informer of the collection at `path` with these selectors: created on first use, the
  // same pointer afterwards. One created after StartAll() starts at the next StartAll().
  Informer* ForResource(const std::string& path, const std::string& label_selector = "",
                        const std::string& field_selector = "");

  // Starts every informer not started yet. Idempotent.
  void StartAll();
  // Waits until every informer created so far has synced; false on timeout (the whole wait is
  // bounded by `timeout`, not each informer's).
  bool WaitForSyncAll(std::chrono::milliseconds timeout);
  // Informer::RemoveEventHandlers(owner) on every informer: what a part of the process that
  // shares the factory and stops before it calls when it stops.
  void RemoveEventHandlers(const void* owner);
  // Stops every informer (their caches stay readable). Final.
  void StopAll();

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // path, labels, fields

  ApiClient* const client_;
  const InformerOptions defaults_;

  std::mutex mu_;
  std::map<Key, std::unique_ptr<Informer>> informers_;  // guarded by mu_; never erased
};

}  // namespace capstan::client
