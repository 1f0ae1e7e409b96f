// ParallelFor: runs fn(i) for i in [0, n) on at most `concurrency` threads (the calling thread is
// one of them); returns when every call has returned.
//
// Exceptions never leave a worker thread (that would terminate the process): the first one
// thrown by `fn` is kept, the other workers stop taking new items, every started thread is joined
// (also when starting a further thread fails, in which case the threads already running share
// the work), and the caller gets kInternal naming it. OK when every call returned normally.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "base/status.h"

namespace capstan::registry {

template <typename Fn>
[[nodiscard]] Status ParallelFor(size_t n, int concurrency, const Fn& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::string first_error;  // guarded by mu
  auto worker = [&]() noexcept {
    try {
      for (size_t i = next++; i < n && !failed; i = next++) fn(i);
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mu);
      if (!failed.exchange(true)) first_error = e.what();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!failed.exchange(true)) first_error = "unknown exception";
    }
  };
  size_t threads = std::min<size_t>(n, static_cast<size_t>(std::max(1, concurrency)));
  std::vector<std::thread> pool;
  try {
    pool.reserve(threads);
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  } catch (const std::exception&) {
    // No further thread (std::system_error, bad_alloc): those started and this one do the work.
  }
  worker();
  for (std::thread& t : pool) t.join();
  if (failed) return Status::Internal("worker failed: " + first_error);
  return Status::Ok();
}

}  // namespace capstan::registry
