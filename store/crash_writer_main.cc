// store_crash_writer DIR [THREADS]: writes to the store in DIR until killed, for crash_test.cc.
//
// Each thread creates, then keeps updating, its own 64 keys. After every acknowledged write it
// prints one "key revision" line to stdout with a single write(2), so a reader of the pipe sees
// whole lines of acknowledged writes only, even when the process is killed mid-way.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "store/rocks_store.h"

namespace {

void WriteLine(const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) std::_Exit(3);  // the reader went away
    done += static_cast<size_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR [THREADS]\n", argv[0]);
    return 2;
  }
  const int threads = argc > 2 ? std::max(1, atoi(argv[2])) : 4;
  auto opened = capstan::store::OpenRocksStore(argv[1]);
  if (!opened.ok()) {
    fprintf(stderr, "store_crash_writer: %s\n", opened.status().ToString().c_str());
    return 2;
  }
  capstan::store::Store* store = opened->get();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([store, t] {
      for (int i = 0;; ++i) {
        std::string key = "/crash/" + std::to_string(t) + "/" + std::to_string(i % 64);
        std::string value = std::to_string(i);
        auto r = store->Create(key, value);
        if (!r.ok() && r.status().IsAlreadyExists()) r = store->Update(key, value);
        if (!r.ok()) {
          fprintf(stderr, "store_crash_writer: %s\n", r.status().ToString().c_str());
          std::_Exit(4);
        }
        WriteLine(key + " " + std::to_string(r->revision) + "\n");
      }
    });
  }
  for (auto& w : workers) w.join();  // never: the test kills the process
  return 0;
}
