#include "cli/server_command.h"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <cstdlib>
#include <string>

#include "api/api_server.h"
#include "cli/flags.h"
#include "client/in_process_api_client.h"
#include "client/informer_factory.h"
#include "controller/manager/control_plane.h"
#include "controller/haproxy/haproxy_controller.h"
#include "controller/haproxy/lb_status.h"
#include "controller/haproxy/settings.h"
#include "controller/manager/controller_manager.h"
#include "controller/registry/managed_registry.h"
#include "node/driver_factory.h"
#include "node/node_agent.h"
#include "node/node_pod_streams.h"
#include "base/host_address.h"
#include "base/log.h"
#include "client/kubeconfig.h"

namespace capstan::cli {
namespace {


void ServerUsage() {
  std::fputs(
      "Usage: capstan server [flags]\n"
      "Runs the Capstan API server on the embedded store until SIGTERM or SIGINT.\n\n"
      "Flags:\n"
      "  --data-dir DIR              store, admin token and kubeconfig (default $XDG_DATA_HOME/capstan\n"
      "                              or ~/.local/share/capstan)\n"
      "  --listen HOST:PORT          address to serve on (default 127.0.0.1:7420; [::1]:7420 for IPv6)\n"
      "  --token-file FILE           extra tokens, one \"token,user,role\" per line (role admin|view)\n"
      "  --tls=false                 serve plain HTTP instead of HTTPS (benchmarks only: kubectl sends\n"
      "                              tokens over TLS only)\n"
      "  --log-level LEVEL           debug|info|warn|error (default info; debug logs every request)\n"
      "  --log-format FORMAT         text|json (default text)\n"
      "  --handler-threads N         requests handled at once; a write holds its thread until its\n"
      "                              fsync (default 64)\n"
      "  --event-log-max-events N    events kept for watches to resume from (default 100000)\n"
      "  --event-log-max-age SECS    and at most this old (default 3600)\n"
      "  --controllers=false         serve the API only: no ReplicaSet, Deployment or other control\n"
      "                              loops (default: run them)\n"
      "  --driver NAME               run this host's Pods through driver NAME, registering it as a\n"
      "                              Node: docker, containerd, process (host processes), fake (a\n"
      "                              hollow node for tests and benchmarks), or none (no local Node).\n"
      "                              Default: docker when /var/run/docker.sock answers, else process\n"
      "  --driver-config JSON        the driver's config (fake: {\"startLatencyMs\":0,\"failureRate\":0})\n"
      "  --node-name NAME            the local Node's name (default: the host name)\n"
      "  --port-range FIRST-LAST     host ports the node gives to Pods' containerPorts (default\n"
      "                              20000-29999); each container learns its own from $PORT\n"
      "  --plugin-dir DIR            where driver plugins (capstan-driver-NAME.so) are loaded from;\n"
      "                              repeatable (default: ../lib/capstan/plugins and ../lib beside\n"
      "                              the capstan binary)\n"
      "  --node-monitor-grace-period DURATION\n"
      "                              a Node whose agent posted no heartbeat (Lease renewal) for this\n"
      "                              long becomes Ready=Unknown and is tainted unreachable\n"
      "                              (default 40s)\n"
      "  --pod-eviction-timeout DURATION\n"
      "                              how long Pods stay on a not-ready or unreachable Node before\n"
      "                              they are deleted and replaced elsewhere, unless they tolerate the\n"
      "                              taint themselves (default 5m)\n"
      "  --node-eviction-rate RATE   Nodes per second whose Pods may start being evicted (default 0.1)\n"
      "  --image-gc-high-threshold PERCENT\n"
      "                              the node removes unused images once its image filesystem is this\n"
      "                              full (default 85; 100 turns image garbage collection off)\n"
      "  --image-gc-low-threshold PERCENT\n"
      "                              ... until it is down to this (default 80; below the high one)\n"
      "  --image-minimum-gc-age DURATION\n"
      "                              never an image first seen less than this ago (default 2m)\n"
      "  --image-gc-period DURATION  how often the node looks (default 5m)\n"
      "  --leader-elect=false        run the controllers without holding the Lease\n"
      "                              kube-system/capstan-controller-manager (default: hold it, so two\n"
      "                              servers on one store never both reconcile)\n"
      "  --registry HOST:PORT        run the cluster's private registry (Debian's docker-registry,\n"
      "                              supervised, deletion enabled) on this address, e.g.\n"
      "                              127.0.0.1:5000 (default: none). Cleanup policies for it end\n"
      "                              with a short read-only garbage collection (docs/registry-cleanup.md)\n"
      "  --registry-storage DIR      its storage (default DATA_DIR/registry/storage)\n"
      "  --registry-htpasswd FILE    bcrypt htpasswd file for Basic auth (htpasswd -B); default: none,\n"
      "                              whoever reaches the address may push and delete\n"
      "  --lb haproxy|none            serve Services and Ingresses through a supervised HAProxy\n"
      "                              (default: haproxy when the haproxy binary is installed)\n"
      "  --lb-service-address ADDR   where Service ports listen (default 127.0.0.1)\n"
      "  --lb-public-address ADDR    where NodePort/LoadBalancer ports and Ingresses listen\n"
      "                              (default 0.0.0.0)\n"
      "  --lb-advertise-address ADDR what LoadBalancer Services and Ingresses report in\n"
      "                              status.loadBalancer (default: the public address; for\n"
      "                              0.0.0.0 the address of the default route's interface)\n"
      "  --lb-http-port N            the Ingress HTTP port (default 80)\n"
      "  --lb-https-port N           the Ingress HTTPS port (default 443)\n"
      "  --lb-threads N              HAProxy's threads, 1..64 (default: half the CPUs this server\n"
      "                              may run on, at least 1; the defaults ConfigMap's `threads`\n"
      "                              overrides it)\n",
      stdout);
}

bool ParseListen(const std::string& v, std::string* host, uint16_t* port) {
  auto colon = v.rfind(':');
  if (colon == std::string::npos) return false;
  std::string h = v.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  char* end = nullptr;
  long p = std::strtol(v.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || p < 0 || p > 65535 || h.empty()) return false;
  *host = h;
  *port = static_cast<uint16_t>(p);
  return true;
}

// Flag values given as "--flag value" or "--flag=value".
bool TakeValue(int argc, char** argv, int* i, const std::string& name, std::string* out) {
  std::string a = argv[*i];
  if (a == name) {
    if (*i + 1 >= argc) return false;
    *out = argv[++*i];
    return true;
  }
  if (a.rfind(name + "=", 0) == 0) {
    *out = a.substr(name.size() + 1);
    return true;
  }
  return false;
}

}  // namespace

int RunServerCommand(int argc, char** argv) {
  api::ApiServerOptions opts;
  bool controllers = true;
  bool leader_elect = true;
  std::string driver_name, driver_config = "{}", node_name;
  std::vector<std::string> plugin_dirs;
  controller::nodelifecycle::NodeLifecycleControllerOptions lifecycle;
  node::PortRange port_range;
  std::string lb_mode;  // haproxy | none; empty: haproxy when installed
  controller::haproxy::HaproxyControllerOptions lb_options;
  lb_options.threads = controller::haproxy::DefaultHaproxyThreads(controller::haproxy::UsableCpus());
  node::ImageGcPolicy image_gc;  // the kubelet's defaults
  registry::ManagedRegistryOptions registry_options;  // address empty: no managed registry
  opts.data_dir = api::DefaultDataDir();
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i], v;
    if (a == "-h" || a == "--help") {
      ServerUsage();
      return 0;
    } else if (TakeValue(argc, argv, &i, "--data-dir", &v)) {
      opts.data_dir = v;
    } else if (TakeValue(argc, argv, &i, "--listen", &v)) {
      if (!ParseListen(v, &opts.host, &opts.port)) {
        std::fprintf(stderr, "error: --listen: expected HOST:PORT, got \"%s\"\n", v.c_str());
        return 1;
      }
    } else if (TakeValue(argc, argv, &i, "--token-file", &v)) {
      opts.token_file = v;
    } else if (a == "--tls=false" || a == "--tls=true" || a == "--tls") {
      opts.tls = a != "--tls=false";
    } else if (TakeValue(argc, argv, &i, "--log-level", &v)) {
      log::Level level;
      if (!log::ParseLevel(v, &level)) {
        std::fprintf(stderr, "error: --log-level: expected debug|info|warn|error, got \"%s\"\n", v.c_str());
        return 1;
      }
      log::SetLevel(level);
    } else if (TakeValue(argc, argv, &i, "--log-format", &v)) {
      if (v != "json" && v != "text") {
        std::fprintf(stderr, "error: --log-format: expected text|json, got \"%s\"\n", v.c_str());
        return 1;
      }
      log::SetFormat(v == "json" ? log::Format::kJson : log::Format::kText);
    } else if (TakeValue(argc, argv, &i, "--handler-threads", &v)) {
      opts.handler_threads = std::atoi(v.c_str());
      if (opts.handler_threads < 1 || opts.handler_threads > 1024) {
        std::fprintf(stderr, "error: --handler-threads: expected 1..1024, got \"%s\"\n", v.c_str());
        return 1;
      }
    } else if (a == "--controllers=false" || a == "--controllers=true" || a == "--controllers") {
      controllers = a != "--controllers=false";
    } else if (TakeValue(argc, argv, &i, "--driver", &v)) {
      driver_name = v;
    } else if (TakeValue(argc, argv, &i, "--driver-config", &v)) {
      driver_config = v;
    } else if (TakeValue(argc, argv, &i, "--node-name", &v)) {
      node_name = v;
    } else if (TakeValue(argc, argv, &i, "--port-range", &v)) {
      auto range = node::PortRange::Parse(v);
      if (!range.ok()) {
        std::fprintf(stderr, "error: --port-range: %s\n", range.status().message().c_str());
        return 1;
      }
      port_range = *range;
    } else if (TakeValue(argc, argv, &i, "--plugin-dir", &v)) {
      plugin_dirs.push_back(v);
    } else if (TakeValue(argc, argv, &i, "--node-monitor-grace-period", &v)) {
      auto d = ParseDuration(v);
      if (!d.ok() || d->count() <= 0) {
        std::fprintf(stderr, "error: --node-monitor-grace-period: expected a positive duration (40s, 1m), got \"%s\"\n",
                     v.c_str());
        return 1;
      }
      lifecycle.node_monitor_grace_period = *d;
    } else if (TakeValue(argc, argv, &i, "--pod-eviction-timeout", &v)) {
      auto d = ParseDuration(v);
      if (!d.ok()) {
        std::fprintf(stderr, "error: --pod-eviction-timeout: expected a duration (300s, 5m), got \"%s\"\n", v.c_str());
        return 1;
      }
      lifecycle.pod_eviction_timeout = *d;
    } else if (TakeValue(argc, argv, &i, "--node-eviction-rate", &v)) {
      char* end = nullptr;
      const double rate = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(rate > 0)) {
        std::fprintf(stderr, "error: --node-eviction-rate: expected a positive number, got \"%s\"\n", v.c_str());
        return 1;
      }
      lifecycle.eviction_rate = rate;
    } else if (TakeValue(argc, argv, &i, "--image-gc-high-threshold", &v) ||
               TakeValue(argc, argv, &i, "--image-gc-low-threshold", &v)) {
      const bool high = a.rfind("--image-gc-high-threshold", 0) == 0;
      auto n = ParseIntFlag(high ? "image-gc-high-threshold" : "image-gc-low-threshold", v);
      if (!n.ok()) {
        std::fprintf(stderr, "error: %s\n", n.status().message().c_str());
        return 1;
      }
      // Out of 0..100 either way (Validate says so), without wrapping around.
      (high ? image_gc.high_threshold_percent : image_gc.low_threshold_percent) =
          static_cast<int>(std::clamp<int64_t>(*n, -1, 101));
    } else if (TakeValue(argc, argv, &i, "--image-minimum-gc-age", &v) ||
               TakeValue(argc, argv, &i, "--image-gc-period", &v)) {
      const bool age = a.rfind("--image-minimum-gc-age", 0) == 0;
      auto d = ParseDuration(v);
      if (!d.ok()) {
        std::fprintf(stderr, "error: %s: expected a duration (2m, 30s), got \"%s\"\n",
                     age ? "--image-minimum-gc-age" : "--image-gc-period", v.c_str());
        return 1;
      }
      (age ? image_gc.minimum_age : image_gc.period) = *d;
    } else if (a == "--leader-elect=false" || a == "--leader-elect=true" || a == "--leader-elect") {
      leader_elect = a != "--leader-elect=false";
    } else if (TakeValue(argc, argv, &i, "--lb", &v)) {
      if (v != "haproxy" && v != "none") {
        std::fprintf(stderr, "error: --lb: expected haproxy|none, got \"%s\"\n", v.c_str());
        return 1;
      }
      lb_mode = v;
    } else if (TakeValue(argc, argv, &i, "--lb-service-address", &v)) {
      lb_options.service_address = v;
    } else if (TakeValue(argc, argv, &i, "--lb-public-address", &v)) {
      lb_options.public_address = v;
    } else if (TakeValue(argc, argv, &i, "--lb-advertise-address", &v)) {
      lb_options.advertise_address = v;
    } else if (TakeValue(argc, argv, &i, "--lb-http-port", &v) || TakeValue(argc, argv, &i, "--lb-https-port", &v)) {
      char* end = nullptr;
      const long port = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || port < 0 || port > 65535) {
        std::fprintf(stderr, "error: %s: expected a port 0..65535 (0: none), got \"%s\"\n", a.c_str(), v.c_str());
        return 1;
      }
      (a.rfind("--lb-http-port", 0) == 0 ? lb_options.http_port : lb_options.https_port) = static_cast<int>(port);
    } else if (TakeValue(argc, argv, &i, "--lb-threads", &v)) {
      auto n = ParseIntFlag("lb-threads", v);
      if (n.ok() && (*n < 1 || *n > controller::haproxy::kMaxHaproxyThreads)) {
        n = Status::BadRequest("--lb-threads: expected 1.." + std::to_string(controller::haproxy::kMaxHaproxyThreads) +
                               " threads, got " + v);
      }
      if (!n.ok()) {
        std::fprintf(stderr, "error: %s\n", n.status().message().c_str());
        return 1;
      }
      lb_options.threads = static_cast<int>(*n);
    } else if (TakeValue(argc, argv, &i, "--registry", &v)) {
      registry_options.address = v;
    } else if (TakeValue(argc, argv, &i, "--registry-storage", &v)) {
      registry_options.storage_dir = v;
    } else if (TakeValue(argc, argv, &i, "--registry-htpasswd", &v)) {
      registry_options.htpasswd_path = v;
    } else if (TakeValue(argc, argv, &i, "--event-log-max-events", &v)) {
      opts.store.log_max_events = std::atoll(v.c_str());
    } else if (TakeValue(argc, argv, &i, "--event-log-max-age", &v)) {
      opts.store.log_max_age = std::chrono::seconds(std::atoll(v.c_str()));
    } else {
      std::fprintf(stderr, "error: unknown flag \"%s\" for capstan server (see capstan server --help)\n", a.c_str());
      return 1;
    }
  }

  if (Status st = image_gc.Validate(); !st.ok()) {
    std::fprintf(stderr, "error: %s\n", st.message().c_str());
    return 1;
  }

  // Admission (clusterIP, listener conflicts) and the HAProxy serve the same addresses and ports.
  opts.services.service_address = lb_options.service_address;
  opts.services.public_address = lb_options.public_address;
  if (lb_options.advertise_address.empty()) lb_options.advertise_address = base::AdvertisedAddress(lb_options.public_address);
  opts.services.advertise_address = lb_options.advertise_address;
  opts.services.ingress_http_port = lb_options.http_port;
  opts.services.ingress_https_port = lb_options.https_port;

  // glibc gives busy threads their own malloc arenas (up to 8 per core), and each keeps what its
  // thread freed; with 64 handler threads that is most of the server's RSS after a burst of
  // large LIST responses. Four arenas keep allocation concurrent enough on small hosts.
  mallopt(M_ARENA_MAX, 4);

  // Block the stop signals before any thread starts, so that only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  log::Info("starting", {{"version", CAPSTAN_VERSION}, {"data_dir", opts.data_dir}});
  auto server = api::ApiServer::Start(opts);
  if (!server.ok()) {
    log::Error("cannot start", {{"error", server.status().ToString()}});
    return 1;
  }
  const std::string url = (*server)->url();
  const std::string own = opts.data_dir + "/kubeconfig.yaml";
  if (Status st = client::WriteKubeconfig(own, url, (*server)->admin_token(), (*server)->ca_pem()); !st.ok()) {
    log::Warn("cannot write kubeconfig", {{"path", own}, {"error", st.ToString()}});
  }
  const std::string user = client::DefaultKubeconfigPath();
  if (::access(user.c_str(), F_OK) != 0) {
    if (Status st = client::WriteKubeconfig(user, url, (*server)->admin_token(), (*server)->ca_pem()); st.ok()) {
      log::Info("wrote kubeconfig", {{"path", user}});
    }
  }
  // The private registry, before the controllers that garbage-collect it and stopped after them.
  std::unique_ptr<registry::ManagedRegistry> managed_registry;
  if (!registry_options.address.empty()) {
    registry_options.config_dir = opts.data_dir + "/registry";
    if (registry_options.storage_dir.empty()) registry_options.storage_dir = opts.data_dir + "/registry/storage";
    auto started = registry::ManagedRegistry::Start(registry_options);
    if (!started.ok()) {
      log::Error("cannot start the registry", {{"error", started.status().ToString()}});
      (*server)->Stop(std::chrono::milliseconds(10000));
      return 1;
    }
    managed_registry = std::move(started).value();
    log::Info("registry serving", {{"url", managed_registry->url()}, {"storage", registry_options.storage_dir}});
  }
  // The informers of what every server runs, leader or not: the node agent and the load balancer
  // share one watch and cache of all Pods (and Services), where each had its own. (The control
  // plane keeps its own: one informer thread feeding every handler measured slower than two.)
  // Each takes its handlers out when it stops.
  api::ApiServer* const api_server = server->get();
  client::InProcessApiClient informer_api(
      [api_server](const api::HttpRequest& req) { return api_server->Handle(req); }, (*server)->admin_token(),
      "capstan-informers");
  client::SharedInformerFactory informers(&informer_api);
  std::unique_ptr<controller::ControlPlane> plane;
  if (controllers) {
    controller::ControlPlaneOptions copts;
    api::ApiServer* raw = server->get();
    copts.handler = [raw](const api::HttpRequest& req) { return raw->Handle(req); };
    copts.token = (*server)->admin_token();
    copts.leader_election = leader_elect;
    copts.node_lifecycle = lifecycle;
    copts.data_dir = opts.data_dir;
    copts.managed_registry = managed_registry.get();
    // Stable per host and data directory: a server restarted after a crash is still the holder
    // and leads at once instead of waiting out its own lease. (Two servers never share a data
    // directory: the store is locked.)
    char host[256] = {0};
    if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "capstan");
    char suffix[24];
    std::snprintf(suffix, sizeof(suffix), "%08zx", std::hash<std::string>{}(opts.data_dir) & 0xffffffffu);
    copts.election.identity = std::string(host) + "_" + suffix;
    auto started = controller::ControlPlane::Start(std::move(copts));
    if (!started.ok()) {
      log::Error("cannot start the controllers", {{"error", started.status().ToString()}});
      (*server)->Stop(std::chrono::milliseconds(10000));
      return 1;
    }
    plane = std::move(started).value();
  }
  // The local node agent: every server may run Pods, leader or not.
  std::unique_ptr<client::ApiClient> node_api;
  std::unique_ptr<node::RuntimeDriver> driver;
  std::unique_ptr<node::NodeAgent> agent;
  std::shared_ptr<node::NodePodStreams> streams;  // pods/log and pods/exec of the local node
  std::unique_ptr<client::ApiClient> lb_api;
  std::unique_ptr<controller::ControllerManager> lb;
  auto stop_all = [&] {
    if (plane) plane->Stop();
    (*server)->Stop(std::chrono::milliseconds(10000));
  };
  nlohmann::json config;  // the driver's, from --driver-config
  if (driver_name.empty()) {
    driver_name = node::DefaultDriverName();
    log::Info("no --driver given: using the default", {{"driver", driver_name}});
  }
  if (driver_name != "none") {
    config = nlohmann::json::parse(driver_config, nullptr, false);
    if (config.is_discarded() || !config.is_object()) {
      log::Error("cannot start the node agent", {{"error", "--driver-config: not a JSON object"}});
      stop_all();
      return 1;
    }
    config = node::CompleteDriverConfig(driver_name, std::move(config), opts.data_dir);
    if (node_name.empty()) node_name = node::DefaultNodeName();
    node::DriverFactoryOptions dopts;
    dopts.plugin_dirs = plugin_dirs.empty() ? node::DefaultPluginDirs() : plugin_dirs;
    dopts.node_name = node_name;
    auto made = node::MakeDriver(driver_name, config, dopts);
    if (made.ok()) driver = std::move(made).value();
    else {
      // A driver that does not load costs this node its Pods, not the server its API and
      // controllers: say why (the message names the plugin file) and serve on.
      log::Error("driver plugin not loaded; this server runs no Pods",
                 {{"driver", driver_name}, {"error", made.status().ToString()}});
    }
  }
  if (driver) {
    api::ApiServer* raw = server->get();
    node_api = std::make_unique<client::InProcessApiClient>(
        [raw](const api::HttpRequest& req) { return raw->Handle(req); }, (*server)->admin_token(), "capstan-node");
    node::NodeAgentOptions nopts;
    nopts.node_name = node_name;
    nopts.driver = driver.get();
    nopts.driver_config = config;
    nopts.port_range = port_range;
    nopts.image_gc = image_gc;
    nopts.informers = &informers;
    agent = std::make_unique<node::NodeAgent>(node_api.get(), nopts);
    if (Status st = agent->Start(); !st.ok()) {
      log::Error("cannot start the node agent", {{"error", st.ToString()}});
      agent.reset();
      stop_all();
      return 1;
    }
    streams = std::make_shared<node::NodePodStreams>(agent->node_name(), driver.get());
    (*server)->SetPodStreams(streams);
  }
  // The load balancer: on every server, leader or not, like the node agent (docs/haproxy.md).
  if (lb_mode.empty()) {
    lb_mode = ::access(lb_options.haproxy_bin.c_str(), X_OK) == 0 ? "haproxy" : "none";
    if (lb_mode == "none") log::Info("no haproxy installed: no load balancer", {{"haproxy", lb_options.haproxy_bin}});
  }
  if (lb_mode == "haproxy") {
    api::ApiServer* raw = server->get();
    lb_api = std::make_unique<client::InProcessApiClient>(
        [raw](const api::HttpRequest& req) { return raw->Handle(req); }, (*server)->admin_token(), "capstan-haproxy");
    if (!lb_api->List("/api/v1/services", {{"limit", "1"}}).ok()) {
      log::Warn("this API serves no Services: no load balancer");
    } else {
      lb_options.data_dir = opts.data_dir;
      controller::ControllerManagerOptions lb_manager;
      lb_manager.informers = &informers;
      lb = std::make_unique<controller::ControllerManager>(lb_api.get(), lb_manager);
      auto haproxy = std::make_unique<controller::haproxy::HaproxyController>(lb_options);
      controller::haproxy::HaproxyController* haproxy_raw = haproxy.get();
      lb->Add(std::move(haproxy));
      if (Status st = lb->Start(); !st.ok()) {
        log::Error("cannot start the load balancer", {{"error", st.ToString()}});
        lb.reset();
      } else {
        // `capstan describe service` reads HAProxy's server states through the API.
        (*server)->SetLoadBalancerStatus(
            std::make_shared<controller::haproxy::HaproxyLoadBalancerStatus>(haproxy_raw->runtime().socket_path()));
      }
    }
  }
  log::Info("ready", {{"url", url}, {"kubeconfig", own}});

  int sig = 0;
  sigwait(&stop_signals, &sig);
  log::Info("signal received", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // The node agent and the controllers first: their last writes go through the API, which must
  // still be up.
  (*server)->SetLoadBalancerStatus(nullptr);
  if (lb) lb->Stop();
  if (agent) agent->Stop();
  informers.StopAll();
  if (plane) plane->Stop();
  (*server)->Stop(std::chrono::milliseconds(10000));
  if (managed_registry) managed_registry->Stop();
  if (streams) streams->Shutdown();  // log follows end before the driver goes
  return 0;
}

}  // namespace capstan::cli
