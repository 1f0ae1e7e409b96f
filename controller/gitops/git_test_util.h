// Test helpers: real git repositories made with the git CLI in a temporary directory, a
// `git daemon` and an OpenSSH sshd on 127.0.0.1. Skips (via Available()) when git is not installed.
#pragma once

#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace capstan::controller::gitops::testing {

inline bool GitAvailable() { return std::system("git --version >/dev/null 2>&1") == 0; }

inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Whether something accepts connections on 127.0.0.1:port within 5 s.
inline bool WaitForPort(int port) {
  for (int i = 0; i < 100; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    if (ok) return true;
    ::usleep(50000);
  }
  return false;
}

// A working clone (`work`) pushing to a bare repository (`bare`), both under `root`.
class GitFixtureRepo {
 public:
  explicit GitFixtureRepo(std::string root) : root_(std::move(root)) {
    std::filesystem::create_directories(root_);
    Sh("git init -q --bare -b main " + Bare());
    Sh("git init -q -b main " + Work());
    Git("remote add origin " + Bare());
  }
  std::string Bare() const { return root_ + "/remote.git"; }
  std::string Work() const { return root_ + "/work"; }
  std::string Url() const { return "file://" + Bare(); }

  void Write(const std::string& path, const std::string& text) {
    std::filesystem::path p = Work() + "/" + path;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  void Remove(const std::string& path) { Git("rm -q -r " + path); }
  // Commits everything and pushes (forced when `force`); returns the new commit's sha1.
  std::string Commit(const std::string& message, bool force = false) {
    Git("add -A");
    Git("commit -q --allow-empty -m '" + message + "'");
    Git(std::string("push -q ") + (force ? "-f " : "") + "origin HEAD:main 2>/dev/null");
    return Head();
  }
  // Commits everything signed with `email`'s key from the GnuPG home `gnupg_home`, and pushes.
  std::string CommitSigned(const std::string& message, const std::string& email, const std::string& gnupg_home) {
    Git("add -A");
    ::setenv("GNUPGHOME", gnupg_home.c_str(), 1);
    Git("-c gpg.program=gpg -c user.signingkey=" + email + " commit -q -S --allow-empty -m '" + message + "'");
    ::unsetenv("GNUPGHOME");
    Git("push -q origin HEAD:main 2>/dev/null");
    return Head();
  }
  std::string Head() const { return Output("git -C " + Work() + " rev-parse HEAD"); }
  int Git(const std::string& args) const {
    return Sh("git -C " + Work() + " -c user.name=t -c user.email=t@example.com -c commit.gpgsign=false " + args);
  }

  static int Sh(const std::string& command) { return std::system(command.c_str()); }
  static std::string Output(const std::string& command) {
    std::string out;
    if (FILE* f = ::popen(command.c_str(), "r")) {
      char buf[256];
      while (std::fgets(buf, sizeof(buf), f) != nullptr) out += buf;
      ::pclose(f);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }

 private:
  std::string root_;
};

inline bool GpgAvailable() { return std::system("gpg --version >/dev/null 2>&1 && gpgv --version >/dev/null 2>&1") == 0; }

// Makes an ed25519 signing key for "<who>@example.com" in the GnuPG home `home` (created) and
// returns its ASCII-armored public key. Stop the agent with StopGpgAgent(home) afterwards.
inline std::string MakeGpgKey(const std::string& home, const std::string& who) {
  std::filesystem::create_directories(home);
  std::filesystem::permissions(home, std::filesystem::perms::owner_all);
  const std::string gpg = "GNUPGHOME=" + home + " gpg --batch --quiet ";
  GitFixtureRepo::Sh(gpg + "--passphrase '' --quick-gen-key '" + who + " <" + who + "@example.com>' ed25519 sign never 2>/dev/null");
  return GitFixtureRepo::Output(gpg + "--armor --export " + who + "@example.com") + "\n";
}
inline void StopGpgAgent(const std::string& home) { GitFixtureRepo::Sh("gpgconf --homedir " + home + " --kill gpg-agent 2>/dev/null"); }

// `git daemon` serving `base` on 127.0.0.1:port (--export-all), detached; stopped on Stop or
// destruction.
class GitDaemon {
 public:
  GitDaemon(std::string base, int port) : base_(std::move(base)), port_(port) {}
  ~GitDaemon() { Stop(); }
  bool Start() {
    pid_file_ = base_ + "/daemon-" + std::to_string(port_) + ".pid";
    std::string cmd = "git daemon --detach --reuseaddr --export-all --listen=127.0.0.1 --port=" + std::to_string(port_) +
                      " --base-path=" + base_ + " --pid-file=" + pid_file_ + " " + base_;
    if (std::system(cmd.c_str()) != 0) return false;
    return WaitForPort(port_);
  }
  void Stop() {
    if (pid_file_.empty()) return;
    std::string pid = GitFixtureRepo::Output("cat " + pid_file_ + " 2>/dev/null");
    if (!pid.empty()) std::system(("kill " + pid + " 2>/dev/null").c_str());
    std::filesystem::remove(pid_file_);
    pid_file_.clear();
    ::usleep(100000);
  }
  int port() const { return port_; }

 private:
  std::string base_;
  int port_;
  std::string pid_file_;
};

inline bool SshdAvailable() {
  return ::access("/usr/sbin/sshd", X_OK) == 0 &&
         std::system("command -v ssh-keygen >/dev/null 2>&1 && command -v git-shell >/dev/null 2>&1") == 0;
}

// OpenSSH's sshd (`sshd -D -f <config>`) on 127.0.0.1:port, serving git over ssh:// for the user
// running the test: a host key and a client key made with ssh-keygen under `dir`, an
// authorized_keys whose forced command is git-shell (git-upload-pack of any path, nothing else),
// no password logins. Stopped on Stop or destruction.
class SshGitServer {
 public:
  explicit SshGitServer(std::string dir) : dir_(std::move(dir)), port_(FreePort()) {}
  ~SshGitServer() { Stop(); }
  bool Start() {
    std::filesystem::create_directories(dir_);
    GitFixtureRepo::Sh("rm -f " + dir_ + "/host_key* " + dir_ + "/client_key*");
    if (GitFixtureRepo::Sh("ssh-keygen -q -t ed25519 -N '' -f " + dir_ + "/host_key && ssh-keygen -q -t ed25519 -N '' -f " +
                           dir_ + "/client_key") != 0) {
      return false;
    }
    std::ofstream(dir_ + "/authorized_keys")
        << "command=\"git-shell -c \\\"$SSH_ORIGINAL_COMMAND\\\"\",no-port-forwarding,no-pty,no-agent-forwarding,"
           "no-X11-forwarding "
        << GitFixtureRepo::Output("cat " + dir_ + "/client_key.pub") << "\n";
    std::ofstream(dir_ + "/sshd_config") << "Port " << port_ << "\nListenAddress 127.0.0.1\nHostKey " << dir_
                                         << "/host_key\nAuthorizedKeysFile " << dir_
                                         << "/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                                            "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nStrictModes no\n"
                                            "UsePAM no\nPidFile " << dir_ << "/sshd.pid\n";
    // sshd run as root needs its privilege-separation directory (the ssh service makes it at boot).
    if (::geteuid() == 0) GitFixtureRepo::Sh("mkdir -p /run/sshd && chmod 0755 /run/sshd");
    if (GitFixtureRepo::Sh("/usr/sbin/sshd -D -e -f " + dir_ + "/sshd_config >" + dir_ + "/sshd.log 2>&1 & echo $! >" + dir_ +
                           "/sshd.pid.shell") != 0) {
      return false;
    }
    pid_ = GitFixtureRepo::Output("cat " + dir_ + "/sshd.pid.shell");
    return WaitForPort(port_);
  }
  // Returns once sshd has exited (bounded): it removes its PidFile as it goes, which would race
  // with the caller removing the directory.
  void Stop() {
    if (pid_.empty()) return;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_));
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 500 && ::kill(pid, 0) == 0 && !Zombie(pid); ++i) ::usleep(10000);
    pid_.clear();
  }
  // ssh://<user>@127.0.0.1:<port><absolute path of a bare repository>
  std::string Url(const std::string& bare) const {
    const passwd* pw = ::getpwuid(::geteuid());
    return "ssh://" + std::string(pw != nullptr ? pw->pw_name : "root") + "@127.0.0.1:" + std::to_string(port_) + bare;
  }
  std::string ClientKey() const { return GitFixtureRepo::Output("cat " + dir_ + "/client_key") + "\n"; }
  // The known_hosts line that trusts this server's host key.
  std::string KnownHosts() const {
    return "[127.0.0.1]:" + std::to_string(port_) + " " + GitFixtureRepo::Output("cut -d' ' -f1,2 " + dir_ + "/host_key.pub") + "\n";
  }
  // A known_hosts line naming this server with another (freshly made) key.
  std::string WrongKnownHosts() const {
    GitFixtureRepo::Sh("rm -f " + dir_ + "/other_key* && ssh-keygen -q -t ed25519 -N '' -f " + dir_ + "/other_key");
    return "[127.0.0.1]:" + std::to_string(port_) + " " + GitFixtureRepo::Output("cut -d' ' -f1,2 " + dir_ + "/other_key.pub") + "\n";
  }
  std::string log() const { return GitFixtureRepo::Output("cat " + dir_ + "/sshd.log"); }

 private:
  static bool Zombie(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto paren = line.rfind(')');
    return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
  }

  std::string dir_;
  int port_;
  std::string pid_;
};

}  // namespace capstan::controller::gitops::testing
