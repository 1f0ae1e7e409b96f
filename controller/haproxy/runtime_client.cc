#include "controller/haproxy/runtime_client.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <sstream>
#include <thread>

namespace capstan::controller::haproxy {
namespace {

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  size_t start = s.find_first_not_of("\n \r");
  return start == std::string::npos ? "" : s.substr(start);
}

const char* StateWord(AdminState s) {
  switch (s) {
    case AdminState::kReady: return "ready";
    case AdminState::kDrain: return "drain";
    case AdminState::kMaint: return "maint";
  }
  return "ready";
}

const char* HealthWord(Health h) {
  switch (h) {
    case Health::kUp: return "up";
    case Health::kStopping: return "stopping";
    case Health::kDown: return "down";
  }
  return "up";
}

// What `set server ... addr` answers when it worked.
constexpr const char* kAddrAnswers[] = {"IP changed from", "port changed from", "no need to change"};

}  // namespace

Result<ProcInfo> ParseShowProc(const std::string& text) {
  ProcInfo info;
  enum { kMaster, kWorkers, kOld, kPrograms } section = kMaster;
  bool master_seen = false;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# workers", 0) == 0) { section = kWorkers; continue; }
    if (line.rfind("# old workers", 0) == 0) { section = kOld; continue; }
    if (line.rfind("# programs", 0) == 0) { section = kPrograms; continue; }
    if (line.empty() || line[0] == '#') continue;
    const std::vector<std::string> w = Words(line);
    if (w.size() < 3) continue;
    char* end = nullptr;
    const long pid = std::strtol(w[0].c_str(), &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (w[1] == "master") {
      info.master_pid = static_cast<pid_t>(pid);
      info.reloads = std::atoi(w[2].c_str());
      // "5 [failed: 0]"
      for (size_t i = 3; i + 1 < w.size(); ++i) {
        if (w[i] == "[failed:") info.failed_reloads = std::atoi(w[i + 1].c_str());
      }
      master_seen = true;
    } else if (w[1] == "worker" && section == kWorkers) {
      info.workers.push_back(static_cast<pid_t>(pid));
    } else if (w[1] == "worker" && section == kOld) {
      info.old_workers.push_back(static_cast<pid_t>(pid));
    }
  }
  if (!master_seen) return Status::Invalid("show proc: no master line in \"" + text.substr(0, 200) + "\"");
  return info;
}

Result<std::vector<ServerStat>> ParseShowStat(const std::string& csv) {
  std::istringstream in(csv);
  std::string line;
  std::map<std::string, size_t> col;
  std::vector<ServerStat> out;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) {
      const std::vector<std::string> names = SplitCsv(line.substr(2));
      for (size_t i = 0; i < names.size(); ++i) col[names[i]] = i;
      continue;
    }
    if (line.empty()) continue;
    if (col.empty()) return Status::Invalid("show stat: no header line");
    const std::vector<std::string> f = SplitCsv(line);
    auto get = [&](const char* name) -> std::string {
      auto it = col.find(name);
      return it != col.end() && it->second < f.size() ? f[it->second] : "";
    };
    const std::string sv = get("svname");
    if (sv == "FRONTEND" || sv == "BACKEND") continue;
    ServerStat s;
    s.backend = get("pxname");
    s.server = sv;
    s.status = get("status");
    s.current_sessions = std::atoll(get("scur").c_str());
    s.weight = std::atoi(get("weight").c_str());
    s.check_status = get("check_status");
    // "* L7OK": a check is in progress; what follows is the last completed one's result.
    if (s.check_status.rfind("* ", 0) == 0) s.check_status.erase(0, 2);
    s.address = get("addr");
    s.check_code = std::atoi(get("check_code").c_str());
    s.last_check = get("last_chk");
    const std::string lastchg = get("lastchg");
    if (!lastchg.empty()) s.last_change_seconds = std::atoll(lastchg.c_str());
    out.push_back(std::move(s));
  }
  if (col.empty()) return Status::Invalid("show stat: no header line");
  return out;
}

HaproxyRuntimeClient::HaproxyRuntimeClient(std::string master_socket, std::chrono::milliseconds timeout,
                                           std::string stats_socket)
    : socket_(std::move(master_socket)), timeout_(timeout), stats_socket_(std::move(stats_socket)) {}

Result<std::string> HaproxyRuntimeClient::Exchange(const std::string& path, const std::string& text) const {
  const std::string what = path == socket_ ? "haproxy master CLI " + path : "haproxy stats socket " + path;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return Status::Invalid(what + ": path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Internal(std::string("socket: ") + ::strerror(errno));
  auto fail = [&](const std::string& step) {
    const int err = errno;
    ::close(fd);
    return Status::Unavailable(what + ": " + step + ": " + ::strerror(err));
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return fail("connect");
  const std::string line = text + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("send");
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  char buf[16384];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::close(fd);
      return Status(Code::kTimeout, what + ": no answer to \"" + text + "\"");
    }
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ECONNRESET) break;  // the master closes hard after some answers
    if (n < 0) return fail("recv");
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<std::string> HaproxyRuntimeClient::Master(const std::string& command) const { return Exchange(socket_, command); }

Result<std::string> HaproxyRuntimeClient::Worker(const std::string& command) const {
  return Master("@1 " + command);
}

Result<ProcInfo> HaproxyRuntimeClient::ShowProc() const {
  // A master that just started (or is re-executing for a reload) may accept the connection and
  // close it without an answer: try a few times before calling it an error.
  Status last;
  for (int attempt = 0; attempt < 10; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto text = Master("show proc");
    if (!text.ok()) {
      last = text.status();
      continue;
    }
    auto info = ParseShowProc(*text);
    if (info.ok()) return info;
    last = info.status();
  }
  return last;
}

Result<std::vector<ServerStat>> HaproxyRuntimeClient::ShowStat(pid_t worker, bool* direct) const {
  auto text = ToWorker({"show stat"}, worker, direct);
  if (!text.ok()) return text.status();
  return ParseShowStat(*text);
}

Result<std::vector<ServerStat>> HaproxyRuntimeClient::ShowServerStats(const std::string& backend) const {
  auto text = Worker("show stat " + backend + " 4 -1");
  if (!text.ok()) return text.status();
  if (Trim(*text) == "No such proxy.") return std::vector<ServerStat>{};
  return ParseShowStat(*text);
}

std::string ServerAddrCommand(const std::string& backend, const std::string& server, const std::string& address,
                              int port) {
  return "set server " + backend + "/" + server + " addr " + address + " port " + std::to_string(port);
}

std::string ServerStateCommand(const std::string& backend, const std::string& server, AdminState state) {
  return "set server " + backend + "/" + server + " state " + StateWord(state);
}

std::string ServerHealthCommand(const std::string& backend, const std::string& server, Health health) {
  return "set server " + backend + "/" + server + " health " + HealthWord(health);
}

Status CheckServerAnswers(const std::string& commands, const std::string& answers) {
  std::istringstream in(answers);
  std::string line;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty()) continue;
    bool ok = false;
    for (const char* prefix : kAddrAnswers) ok = ok || line.find(prefix) != std::string::npos;
    if (!ok) return Status::Invalid("haproxy: \"" + commands + "\": " + line);
  }
  return Status::Ok();
}

Result<std::string> HaproxyRuntimeClient::ToWorker(const std::vector<std::string>& commands, pid_t worker,
                                                   bool* direct) const {
  if (direct != nullptr) *direct = false;
  if (worker > 0 && !stats_socket_.empty()) {
    std::string joined = "show info";
    for (const std::string& c : commands) joined += "; " + c;
    auto answer = Exchange(stats_socket_, joined);
    if (answer.ok()) {
      // `show info` is "Name: value" lines, then the empty line that ends each answer.
      const size_t end = answer->find("\n\n");
      const std::string info = answer->substr(0, end);
      const size_t at = info.find("\nPid: ");
      const pid_t pid = at == std::string::npos ? 0 : static_cast<pid_t>(std::atol(info.c_str() + at + 6));
      if (pid == worker) {
        if (direct != nullptr) *direct = true;
        return end == std::string::npos ? std::string() : answer->substr(end);
      }
    }
  }
  std::string via_master;
  for (const std::string& c : commands) via_master += (via_master.empty() ? "@1 " : "; @1 ") + c;
  return Master(via_master);
}

Status HaproxyRuntimeClient::ServerCommands(const std::vector<std::string>& commands, pid_t worker,
                                            bool* direct) const {
  if (direct != nullptr) *direct = false;
  if (commands.empty()) return Status::Ok();
  auto answer = ToWorker(commands, worker, direct);
  if (!answer.ok()) return answer.status();
  std::string joined;
  for (const std::string& c : commands) joined += (joined.empty() ? "" : "; ") + c;
  return CheckServerAnswers(joined, *answer);
}

Status HaproxyRuntimeClient::SetServerAddr(const std::string& backend, const std::string& server,
                                           const std::string& address, int port) const {
  return ServerCommands({ServerAddrCommand(backend, server, address, port)});
}

Status HaproxyRuntimeClient::SetServerState(const std::string& backend, const std::string& server,
                                            AdminState state) const {
  return ServerCommands({ServerStateCommand(backend, server, state)});
}

Status HaproxyRuntimeClient::SetServerHealth(const std::string& backend, const std::string& server,
                                             Health health) const {
  return ServerCommands({ServerHealthCommand(backend, server, health)});
}

Status HaproxyRuntimeClient::SetWeight(const std::string& backend, const std::string& server, int weight) const {
  return ServerCommands({"set weight " + backend + "/" + server + " " + std::to_string(weight)});
}

Result<pid_t> HaproxyRuntimeClient::Reload(std::chrono::milliseconds timeout) const {
  auto before = ShowProc();
  if (!before.ok()) return before.status();
  auto sent = Master("reload");  // answers nothing; the connection closes
  if (!sent.ok() && sent.status().code() != Code::kTimeout) return sent.status();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto now = ShowProc();  // fails while the master re-executes itself
    if (!now.ok() || now->reloads <= before->reloads) continue;
    if (now->failed_reloads > 0) {
      return Status::Invalid("haproxy reload failed: the new configuration did not load; the previous one keeps serving");
    }
    for (pid_t w : now->workers) {
      if (std::find(before->workers.begin(), before->workers.end(), w) == before->workers.end()) return w;
    }
  }
  return Status(Code::kTimeout, "haproxy reload: no new worker within " + std::to_string(timeout.count()) + "ms");
}

}  // namespace capstan::controller::haproxy
