// Closed-loop request load: N threads, each with its own keep-alive cpp-httplib connection, send
// requests back to back until a count or a duration is reached.
//
// Thread-safety: RunLoad blocks the caller and owns its threads; `make` and `check` are called
// concurrently from them and must be thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/backend.h"

namespace capstan::bench {

struct Reply {
  int status = -1;    // -1: no HTTP response (see error)
  std::string body;
  std::string error;  // transport error
  bool ok() const { return status >= 200 && status < 300; }
};

// A keep-alive client for `b` with the benchmark's timeouts and the bearer token set.
std::unique_ptr<httplib::Client> NewClient(const Backend& b);
Reply Send(httplib::Client& c, const HttpCall& call);
// "POST /path -> 500 {body...}", shortened, for reporting a failed request precisely.
std::string Describe(const HttpCall& call, const Reply& r);

struct LoadOptions {
  int threads = 64;
  long count = 0;                         // requests in total (also the cap in duration mode)
  std::chrono::duration<double> duration{0};  // > 0: stop after this long instead
  std::chrono::duration<double> limit{600};   // hard stop whatever happens
};

struct LoadResult {
  long ok = 0;
  long errors = 0;
  double seconds = 0;               // first request sent to last reply received
  std::vector<double> latency_ms;   // of successful requests
  std::string first_error;          // Describe() of the first failure
  double rate() const { return seconds > 0 ? ok / seconds : 0; }
};

// Sends requests make(0), make(1), ... and counts those check(reply) accepts.
LoadResult RunLoad(const Backend& b, const LoadOptions& o, const std::function<HttpCall(long)>& make,
                   const std::function<bool(const Reply&)>& check);

}  // namespace capstan::bench
