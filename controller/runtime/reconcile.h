// ReconcileResult: what one reconcile of one key tells the runtime to do next.
//
// A reconcile re-reads desired and observed state by key, is idempotent, and returns one of:
//   kDone          converged; the key's backoff streak ends (Forget).
//   kRequeueAfter  converged for now, look again after `after` (e.g. a pending deadline); the
//                  streak ends and the key is re-added after the delay.
//   kRetry         a retryable error (conflict, unavailable): re-added with per-key exponential
//                  backoff and the global bucket (AddRateLimited). `error` is logged.
//   kTerminal      an error that retrying cannot fix (invalid spec): logged, not retried, the
//                  streak ends. The next change of the object adds the key again.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>

#include "base/status.h"

namespace capstan::controller {

struct ReconcileResult {
  enum Kind { kDone, kRequeueAfter, kRetry, kTerminal };

  Kind kind = kDone;
  std::chrono::milliseconds after{0};  // kRequeueAfter only
  Status error;                        // kRetry and kTerminal

  static ReconcileResult Done() { return {}; }
  static ReconcileResult RequeueAfter(std::chrono::milliseconds after) {
    return {kRequeueAfter, after, Status()};
  }
  static ReconcileResult Retry(Status error) { return {kRetry, {}, std::move(error)}; }
  static ReconcileResult Terminal(Status error) { return {kTerminal, {}, std::move(error)}; }
};

// Reconciles one key. Called from worker threads, never concurrently for the same key; may be
// called concurrently for different keys. Exceptions are caught by the caller and treated as
// kRetry, but a reconciler should not throw.
using Reconciler = std::function<ReconcileResult(const std::string& key)>;

}  // namespace capstan::controller
