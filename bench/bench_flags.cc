#include "bench/bench_flags.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace capstan::bench {
namespace {

// "--flag value" or "--flag=value".
bool Take(int argc, char** argv, int* i, const std::string& name, std::string* out) {
  std::string a = argv[*i];
  if (a == name && *i + 1 < argc) {
    *out = argv[++*i];
    return true;
  }
  if (a.rfind(name + "=", 0) == 0) {
    *out = a.substr(name.size() + 1);
    return true;
  }
  return false;
}

bool ToLong(const std::string& s, long* out) {
  char* end = nullptr;
  *out = std::strtol(s.c_str(), &end, 10);
  return !s.empty() && *end == '\0';
}

}  // namespace

void PrintUsage() {
  std::fputs(
      "Usage: api_bench [flags]   (normally run by bench/api.sh, which starts both servers)\n"
      "Measures capstan and etcd side by side with the same client code and concurrency.\n\n"
      "  --capstan-url URL          http://127.0.0.1:PORT (omit to skip capstan)\n"
      "  --capstan-token TOKEN      bearer token, or --capstan-token-file FILE\n"
      "  --capstan-pid PID          server process, for VmRSS/VmHWM\n"
      "  --etcd-url URL             http://127.0.0.1:PORT (omit to skip etcd)\n"
      "  --etcd-pid PID\n"
      "  --threads N                client threads/connections (default 64)\n"
      "  --creates N                durable creates in total (default 20000)\n"
      "  --gets N                   GETs in total (default: --creates)\n"
      "  --duration SECS            run creates and GETs for SECS each instead of a count\n"
      "  --object-bytes N           size of each object's JSON (default 1024)\n"
      "  --list-objects N           objects in the listed collection (default 10000)\n"
      "  --list-runs N              full lists timed, median reported (default 5)\n"
      "  --watchers N[,N...]        concurrent watchers per watch phase (default 1000,10000)\n"
      "  --watch-writes N           marked writes per watch phase (default 20)\n"
      "  --watch-interval-ms MS     between those writes (default 200)\n"
      "  --watch-threads N          Asio threads driving all watchers (default 2)\n"
      "  --phase-limit SECS         hard stop for any one load phase (default 300)\n",
      stdout);
}

std::string ParseFlags(int argc, char** argv, BenchConfig* c, bool* help) {
  *help = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], v;
    long n = 0;
    auto num = [&](const char* flag, long min) -> std::string {
      if (!ToLong(v, &n) || n < min) return std::string(flag) + ": expected an integer >= " + std::to_string(min);
      return "";
    };
    std::string err;
    if (a == "-h" || a == "--help") {
      *help = true;
    } else if (Take(argc, argv, &i, "--capstan-url", &v)) {
      c->capstan_url = v;
    } else if (Take(argc, argv, &i, "--capstan-token", &v)) {
      c->capstan_token = v;
    } else if (Take(argc, argv, &i, "--capstan-token-file", &v)) {
      std::ifstream in(v);
      if (!in) return "--capstan-token-file: cannot read " + v;
      std::getline(in, c->capstan_token);
    } else if (Take(argc, argv, &i, "--capstan-pid", &v)) {
      if ((err = num("--capstan-pid", 0)).empty()) c->capstan_pid = int(n);
    } else if (Take(argc, argv, &i, "--etcd-url", &v)) {
      c->etcd_url = v;
    } else if (Take(argc, argv, &i, "--etcd-pid", &v)) {
      if ((err = num("--etcd-pid", 0)).empty()) c->etcd_pid = int(n);
    } else if (Take(argc, argv, &i, "--threads", &v)) {
      if ((err = num("--threads", 1)).empty()) c->threads = int(n);
    } else if (Take(argc, argv, &i, "--creates", &v)) {
      if ((err = num("--creates", 1)).empty()) c->creates = n;
    } else if (Take(argc, argv, &i, "--gets", &v)) {
      if ((err = num("--gets", 0)).empty()) c->gets = n;
    } else if (Take(argc, argv, &i, "--duration", &v)) {
      c->duration = std::atof(v.c_str());
    } else if (Take(argc, argv, &i, "--object-bytes", &v)) {
      if ((err = num("--object-bytes", 1)).empty()) c->object_bytes = size_t(n);
    } else if (Take(argc, argv, &i, "--list-objects", &v)) {
      if ((err = num("--list-objects", 0)).empty()) c->list_objects = n;
    } else if (Take(argc, argv, &i, "--list-runs", &v)) {
      if ((err = num("--list-runs", 1)).empty()) c->list_runs = int(n);
    } else if (Take(argc, argv, &i, "--watchers", &v)) {
      c->watchers.clear();
      std::stringstream ss(v);
      for (std::string part; std::getline(ss, part, ',');) {
        if (!ToLong(part, &n) || n < 1) return "--watchers: expected N[,N...] with N >= 1";
        c->watchers.push_back(int(n));
      }
    } else if (Take(argc, argv, &i, "--watch-writes", &v)) {
      if ((err = num("--watch-writes", 1)).empty()) c->watch_writes = int(n);
    } else if (Take(argc, argv, &i, "--watch-interval-ms", &v)) {
      if ((err = num("--watch-interval-ms", 0)).empty()) c->watch_interval_ms = int(n);
    } else if (Take(argc, argv, &i, "--watch-threads", &v)) {
      if ((err = num("--watch-threads", 1)).empty()) c->watch_threads = int(n);
    } else if (Take(argc, argv, &i, "--phase-limit", &v)) {
      c->phase_limit = std::atof(v.c_str());
    } else {
      return "unknown flag \"" + a + "\" (see --help)";
    }
    if (!err.empty()) return err;
  }
  if (c->gets < 0) c->gets = c->creates;
  if (c->capstan_url.empty() && c->etcd_url.empty()) return "give --capstan-url and/or --etcd-url";
  return "";
}

}  // namespace capstan::bench
