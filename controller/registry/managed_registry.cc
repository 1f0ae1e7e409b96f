#include "controller/registry/managed_registry.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>
#include <utility>

#include <httplib.h>

#include "base/log.h"
#include "controller/registry/in_use_images.h"
#include "controller/supervisor/run_command.h"

namespace capstan::registry {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// {host, port} of "host:port" / "[v6]:port"; host may be empty (all addresses).
bool SplitAddress(const std::string& address, std::string* host, int* port) {
  static const std::regex kAddress(R"(^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-]*):([0-9]{1,5})$)");
  std::smatch m;
  if (!std::regex_match(address, m, kAddress)) return false;
  *host = m[1].str();
  *port = std::stoi(m[2].str());
  return *port > 0 && *port < 65536;
}

bool IsWildcard(const std::string& host) { return host.empty() || host == "0.0.0.0" || host == "[::]"; }

// 32 random bytes as hex, kept in `path` so that upload sessions survive the window's restarts
// (distribution signs upload state with http.secret; a new random one per start would break them).
Result<std::string> StableSecret(const std::string& path) {
  std::ifstream in(path);
  std::string secret;
  if (in && std::getline(in, secret) && secret.size() >= 32) return secret;
  std::ifstream random("/dev/urandom", std::ios::binary);
  unsigned char bytes[32];
  if (!random.read(reinterpret_cast<char*>(bytes), sizeof bytes)) return Status::Internal("reading /dev/urandom");
  static const char* kHex = "0123456789abcdef";
  secret.clear();
  for (unsigned char b : bytes) {
    secret.push_back(kHex[b >> 4]);
    secret.push_back(kHex[b & 15]);
  }
  std::ofstream out(path, std::ios::trunc);
  out << secret << "\n";
  if (!out) return Status::Internal("cannot write " + path);
  ::chmod(path.c_str(), 0600);
  return secret;
}

std::string Tail(const std::string& path, size_t bytes = 2000) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

// du's accounting, through nftw (FTW_PHYS: symlinks are not followed).
std::set<std::pair<dev_t, ino_t>>* g_seen = nullptr;  // guarded by g_du_mu
int64_t g_total = 0;                                  // guarded by g_du_mu
std::mutex g_du_mu;
int AddEntry(const char*, const struct stat* st, int, struct FTW*) {
  if (st->st_nlink > 1 && !S_ISDIR(st->st_mode) && !g_seen->insert({st->st_dev, st->st_ino}).second) return 0;
  g_total += static_cast<int64_t>(st->st_blocks) * 512;
  return 0;
}

}  // namespace

int64_t DiskUsageBytes(const std::string& dir) {
  std::lock_guard<std::mutex> lock(g_du_mu);
  std::set<std::pair<dev_t, ino_t>> seen;
  g_seen = &seen;
  g_total = 0;
  int rc = ::nftw(dir.c_str(), AddEntry, 32, FTW_PHYS);
  g_seen = nullptr;
  return rc == 0 ? g_total : 0;
}

Result<std::unique_ptr<ManagedRegistry>> ManagedRegistry::Start(ManagedRegistryOptions options) {
  std::string host;
  int port = 0;
  if (!SplitAddress(options.address, &host, &port)) {
    return Status::Invalid("--registry: expected HOST:PORT (127.0.0.1:5000), got \"" + options.address + "\"");
  }
  if (options.storage_dir.empty() || options.config_dir.empty()) {
    return Status::Invalid("managed registry: storage and config directories are required");
  }
  if (::access(options.binary.c_str(), X_OK) != 0) {
    return Status::NotFound("managed registry: " + options.binary +
                            " is not installed (Debian package docker-registry)");
  }
  if (!options.htpasswd_path.empty() && ::access(options.htpasswd_path.c_str(), R_OK) != 0) {
    return Status::Invalid("--registry-htpasswd: cannot read " + options.htpasswd_path);
  }
  std::unique_ptr<ManagedRegistry> registry(new ManagedRegistry(std::move(options)));
  registry->url_ = "http://" + (IsWildcard(host) ? std::string(host == "[::]" ? "[::1]" : "127.0.0.1") : host) +
                   ":" + std::to_string(port);
  CAPSTAN_RETURN_IF_ERROR(registry->WriteConfigs());
  std::lock_guard<std::mutex> lock(registry->mu_);
  CAPSTAN_RETURN_IF_ERROR(registry->Launch(/*read_only=*/false, /*keep_trying=*/false));
  return registry;
}

ManagedRegistry::~ManagedRegistry() { Stop(); }

void ManagedRegistry::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  if (supervisor_) supervisor_->Stop();
  supervisor_.reset();
}

Status ManagedRegistry::WriteConfigs() {
  std::error_code ec;
  std::filesystem::create_directories(options_.storage_dir, ec);
  if (ec) return Status::Internal("cannot create " + options_.storage_dir + ": " + ec.message());
  std::filesystem::create_directories(options_.config_dir, ec);
  if (ec) return Status::Internal("cannot create " + options_.config_dir + ": " + ec.message());
  Result<std::string> secret = StableSecret(options_.config_dir + "/http-secret");
  if (!secret.ok()) return secret.status();
  config_path_ = options_.config_dir + "/config.yml";
  readonly_config_path_ = options_.config_dir + "/config-readonly.yml";
  for (bool read_only : {false, true}) {
    std::ofstream out(read_only ? readonly_config_path_ : config_path_, std::ios::trunc);
    out << "# Written by capstan server (--registry); rewritten at every start.\n"
        << "version: 0.1\n"
        << "log: {level: info, formatter: text}\n"
        << "storage:\n"
        << "  filesystem: {rootdirectory: \"" << options_.storage_dir << "\"}\n"
        << "  delete: {enabled: true}\n"
        << "  cache: {blobdescriptor: inmemory}\n"
        << "  maintenance:\n"
        << "    readonly: {enabled: " << (read_only ? "true" : "false") << "}\n"
        << "http:\n"
        << "  addr: \"" << options_.address << "\"\n"
        << "  secret: \"" << *secret << "\"\n"
        // On SIGTERM requests in flight (a layer being pushed) may finish before the restart.
        << "  draintimeout: 5s\n"
        << "  headers: {X-Content-Type-Options: [nosniff]}\n";
    if (!options_.htpasswd_path.empty()) {
      out << "auth:\n  htpasswd: {realm: capstan-registry, path: \"" << options_.htpasswd_path << "\"}\n";
    }
    if (!out) return Status::Internal("cannot write the registry's config in " + options_.config_dir);
  }
  return Status::Ok();
}

Status ManagedRegistry::Launch(bool read_only, bool keep_trying) {
  supervisor::ChildSpec spec;
  spec.name = read_only ? "docker-registry (read-only)" : "docker-registry";
  spec.argv = {options_.binary, "serve", read_only ? readonly_config_path_ : config_path_};
  spec.log_path = options_.config_dir + "/registry.log";
  spec.stop_timeout = std::chrono::seconds(8);  // draintimeout is 5 s
  spec.on_exit = [](pid_t pid, int status) {
    log::Warn("managed registry exited; restarting", {{"pid", std::to_string(pid)}, {"status", std::to_string(status)}});
  };
  auto started = supervisor::ChildSupervisor::Start(std::move(spec));
  if (!started.ok()) return started.status();
  supervisor_ = std::move(started).value();
  Status ready = WaitReady();
  if (!ready.ok() && !keep_trying) {
    supervisor_->Stop();
    supervisor_.reset();
  }
  return ready;
}

Status ManagedRegistry::WaitReady() const {
  httplib::Client client(url_);
  client.set_connection_timeout(std::chrono::milliseconds(200));
  client.set_read_timeout(std::chrono::seconds(2));
  auto deadline = Clock::now() + options_.ready_timeout;
  while (Clock::now() < deadline) {
    if (auto r = client.Get("/v2/"); r && (r->status == 200 || r->status == 401)) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Unavailable("managed registry at " + url_ + " did not answer within " +
                             std::to_string(options_.ready_timeout.count()) + " ms; its log ends:\n" +
                             Tail(options_.config_dir + "/registry.log"));
}

bool ManagedRegistry::Serves(const std::string& registry_url) const {
  std::string scheme = registry_url.substr(0, registry_url.find("://"));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return scheme == "http" && RegistryHostOf(registry_url) == RegistryHostOf(url_);
}

pid_t ManagedRegistry::pid() {
  std::lock_guard<std::mutex> lock(mu_);
  return supervisor_ ? supervisor_->pid() : -1;
}

int64_t ManagedRegistry::StorageBytes() const { return DiskUsageBytes(options_.storage_dir); }

Result<GarbageCollectionResult> ManagedRegistry::CollectGarbage() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return Status::Unavailable("managed registry stopped");
  GarbageCollectionResult result;
  result.storage_bytes_before = StorageBytes();
  auto window_start = Clock::now();
  if (supervisor_) supervisor_->Stop();
  supervisor_.reset();
  auto restart_read_write = [&](Status why) -> Status {
    if (supervisor_) supervisor_->Stop();
    supervisor_.reset();
    Status relaunched = Launch(/*read_only=*/false, /*keep_trying=*/true);
    result.read_only_window = Since(window_start);
    if (!relaunched.ok()) {
      log::Error("managed registry did not come back read-write", {{"error", relaunched.ToString()}});
      return why.ok() ? relaunched : why.Annotate("and restarting read-write failed: " + relaunched.message());
    }
    return why;
  };
  if (Status ro = Launch(/*read_only=*/true, /*keep_trying=*/false); !ro.ok()) {
    return restart_read_write(ro.Annotate("restarting the registry read-only"));
  }
  auto collect_start = Clock::now();
  Result<supervisor::CommandResult> gc =
      supervisor::RunCommand({options_.binary, "garbage-collect", config_path_}, options_.gc_timeout);
  result.collect_time = Since(collect_start);
  Status collected = Status::Ok();
  if (!gc.ok()) {
    collected = gc.status();
  } else if (gc->exit_code != 0) {
    std::string out = gc->output.size() > 2000 ? gc->output.substr(gc->output.size() - 2000) : gc->output;
    collected = Status::Internal("docker-registry garbage-collect " +
                                 std::string(gc->timed_out ? "timed out" : "failed") + ": " + out);
  }
  CAPSTAN_RETURN_IF_ERROR(restart_read_write(collected));
  result.storage_bytes_after = StorageBytes();
  log::Info("managed registry garbage-collected",
            {{"window_ms", std::to_string(result.read_only_window.count())},
             {"bytes_before", std::to_string(result.storage_bytes_before)},
             {"bytes_after", std::to_string(result.storage_bytes_after)}});
  return result;
}

}  // namespace capstan::registry
