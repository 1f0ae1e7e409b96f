// api_bench's command line.
#pragma once

#include <string>
#include <vector>

namespace capstan::bench {

struct BenchConfig {
  std::string capstan_url;    // http://127.0.0.1:PORT; empty: skip capstan
  std::string capstan_token;  // bearer token (or read from capstan_token_file)
  int capstan_pid = 0;        // for VmRSS/VmHWM; 0: not reported
  std::string etcd_url;       // empty: skip etcd
  int etcd_pid = 0;

  int threads = 64;           // client threads (one keep-alive connection each)
  long creates = 20000;       // durable creates in total
  long gets = -1;             // GETs in total; -1: same as creates
  double duration = 0;        // > 0: run creates and GETs for this many seconds each instead
  size_t object_bytes = 1024;
  long list_objects = 10000;
  int list_runs = 5;
  std::vector<int> watchers = {1000, 10000};
  int watch_writes = 20;
  int watch_interval_ms = 200;
  int watch_threads = 2;
  double phase_limit = 300;   // seconds: hard stop for any one load phase
};

// Returns "" or an error; *help is set for -h/--help.
std::string ParseFlags(int argc, char** argv, BenchConfig* c, bool* help);
void PrintUsage();

}  // namespace capstan::bench
