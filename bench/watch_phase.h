// One watch-latency measurement on one server: open N watchers, then make spaced, marked writes
// and time each watcher's receipt of each write from the moment the write was sent.
#pragma once

#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/proc_stats.h"

namespace capstan::bench {

struct WatchPhaseOptions {
  int watchers = 1000;
  int writes = 20;
  int interval_ms = 200;
  int threads = 2;
  std::string group = "default";
  std::string marker;     // writes are named <marker><base + i>
  long marker_base = 0;
  size_t object_bytes = 1024;
  int pid = 0;            // server process whose memory is read while the watchers are open
};

struct WatchPhaseResult {
  std::string error;      // the phase could not run at all
  long established = 0;
  long failed = 0;        // never established
  long ended = 0;         // stream ended or errored after being established
  long missed = 0;        // (established watcher, write) pairs with no receipt
  long duplicates = 0;
  long write_errors = 0;
  double connect_seconds = 0;  // to establish all watchers
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  long samples = 0;
  ProcMemory memory;      // with the watchers still open, after the last receipt
  std::vector<std::string> failures;
};

WatchPhaseResult RunWatchPhase(const Backend& b, const WatchPhaseOptions& o);

}  // namespace capstan::bench
