// lb_workload: the replica behind both load balancers of bench/haproxy.sh. A small keep-alive
// HTTP server on 127.0.0.1:PORT that answers GET / with its NAME (so the benchmark knows which
// replica served a request) and GET /health with "ok". It forks nothing per request (busybox httpd
// does), so the benchmark's request loops can run fast enough to notice a new replica within a
// millisecond or two.
//
// On SIGTERM it exits at once, as busybox httpd and many real applications do: requests in
// flight to it fail unless the load balancer stopped sending them first. That is the case the
// termination order (drain before SIGTERM) exists for.
//
// Usage: lb_workload [NAME [PORT]]   (defaults: $POD_NAME, $PORT); exits by itself after
// $LB_WORKLOAD_MAX_SECONDS (default 900), so a replica the benchmark failed to stop never lingers.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <httplib.h>

int main(int argc, char** argv) {
  const char* env_name = std::getenv("POD_NAME");
  const char* env_port = std::getenv("PORT");
  const std::string name = argc > 1 ? argv[1] : env_name ? env_name : "";
  const int port = std::atoi(argc > 2 ? argv[2] : env_port ? env_port : "0");
  if (name.empty() || port <= 0) {
    std::fprintf(stderr, "usage: lb_workload NAME PORT (or $POD_NAME and $PORT)\n");
    return 2;
  }
  const char* max_env = std::getenv("LB_WORKLOAD_MAX_SECONDS");
  const int max_seconds = max_env ? std::atoi(max_env) : 900;
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGPIPE, SIG_IGN);

  httplib::Server server;
  const std::string body = name + "\n";
  server.Get("/", [&](const httplib::Request&, httplib::Response& res) { res.set_content(body, "text/plain"); });
  server.Get("/health", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  // One thread per connection: HAProxy keeps a few idle server connections per client thread.
  server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  server.set_keep_alive_max_count(1000);
  server.set_tcp_nodelay(true);
  std::thread deadline([&] {
    std::this_thread::sleep_for(std::chrono::seconds(max_seconds > 0 ? max_seconds : 900));
    std::_Exit(0);
  });
  deadline.detach();
  if (!server.listen("127.0.0.1", port)) {
    std::fprintf(stderr, "lb_workload %s: cannot listen on 127.0.0.1:%d\n", name.c_str(), port);
    return 1;
  }
  return 0;
}
