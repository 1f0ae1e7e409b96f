#include "plugins/process/state_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "plugins/process/unique_fd.h"

namespace capstan::plugins::process {
namespace {

std::string Errno(int e) { return std::strerror(e); }

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

sdk::Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    const int e = errno;
    if (e == ENOENT) return sdk::NotFound(path + ": no such file");
    return sdk::Internal("cannot read " + path + ": " + Errno(e));
  }
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sdk::Internal("cannot read " + path + ": " + Errno(errno));
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

int MakeDirs(const std::string& dir) {
  if (dir.empty()) return ENOENT;
  std::string path;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    path = dir.substr(0, pos);
    if (path.empty()) continue;
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return errno;
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return errno;
  return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

sdk::Result<void> WriteFileAtomic(const std::string& path, const std::string& data) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  // A dot file, never taken for a record; StateStore's mutex keeps one writer per name.
  const std::string tmp = dir + "/." + base + ".tmp";
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return sdk::Internal("cannot create " + tmp + ": " + Errno(errno));
    if (!WriteAll(fd.get(), data) || ::fsync(fd.get()) != 0) {
      const int e = errno;
      ::unlink(tmp.c_str());
      return sdk::Internal("cannot write " + tmp + ": " + Errno(e));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return sdk::Internal("cannot rename " + tmp + " to " + path + ": " + Errno(e));
  }
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid() || ::fsync(dfd.get()) != 0) return sdk::Internal("cannot sync " + dir + ": " + Errno(errno));
  return sdk::Ok();
}

sdk::Result<std::shared_ptr<StateStore>> StateStore::Open(const std::string& state_dir) {
  const std::string runs = state_dir + "/runs";
  if (int e = MakeDirs(runs); e != 0) {
    return sdk::InvalidConfig("stateDir: cannot create " + runs + ": " + Errno(e));
  }
  if (::access(runs.c_str(), R_OK | W_OK | X_OK) != 0) {
    return sdk::InvalidConfig("stateDir: " + runs + " is not writable: " + Errno(errno));
  }
  // Keyed by the real path, so that two spellings of one directory share one store.
  std::string key = runs;
  if (char* real = ::realpath(runs.c_str(), nullptr)) {
    key = real;
    std::free(real);
  }
  // One store per directory for the life of the library; the map holds weak references so a
  // directory no instance uses any more costs only its key.
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<StateStore>> stores;
  std::lock_guard<std::mutex> lock(mu);
  std::shared_ptr<StateStore> store = stores[key].lock();
  if (store == nullptr) {
    store = std::make_shared<StateStore>(key);
    stores[key] = store;
  }
  return store;
}

sdk::Result<void> StateStore::WriteLocked(const RunRecord& run) {
  if (!ValidRunId(run.id)) return sdk::Internal("driver bug: invalid run id \"" + run.id + "\"");
  return WriteFileAtomic(PathOf(run.id), ToJson(run).dump(2) + "\n");
}

sdk::Result<void> StateStore::Write(const RunRecord& run) {
  std::lock_guard<std::mutex> lock(mu_);
  return WriteLocked(run);
}

sdk::Result<RunRecord> StateStore::LoadLocked(const std::string& id) {
  if (!ValidRunId(id)) return sdk::NotFound("no run " + id);
  sdk::Result<std::string> text = ReadFile(PathOf(id));
  if (!text.ok()) return text.error();
  const nlohmann::json j = nlohmann::json::parse(text.value(), nullptr, /*allow_exceptions=*/false);
  RunRecord run;
  std::string error;
  if (j.is_discarded()) return sdk::Internal(PathOf(id) + ": not valid JSON");
  if (!FromJson(j, &run, &error)) return sdk::Internal(PathOf(id) + ": " + error);
  if (run.id != id) return sdk::Internal(PathOf(id) + ": records run " + run.id);
  return run;
}

sdk::Result<RunRecord> StateStore::Load(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  return LoadLocked(id);
}

sdk::Result<void> StateStore::Update(const std::string& id, const std::function<bool(RunRecord*)>& update) {
  std::lock_guard<std::mutex> lock(mu_);
  sdk::Result<RunRecord> run = LoadLocked(id);
  if (!run.ok()) return run.error();
  if (!update(&run.value())) return sdk::Ok();
  return WriteLocked(run.value());
}

std::vector<RunRecord> StateStore::LoadAll(std::vector<std::string>* problems) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RunRecord> out;
  DIR* d = ::opendir(runs_dir_.c_str());
  if (d == nullptr) {
    if (problems != nullptr) problems->push_back("cannot list " + runs_dir_ + ": " + Errno(errno));
    return out;
  }
  std::vector<std::string> ids;
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.empty() || name[0] == '.' || !EndsWith(name, ".json")) continue;
    const std::string id = name.substr(0, name.size() - 5);
    if (ValidRunId(id)) ids.push_back(id);
  }
  ::closedir(d);
  for (const std::string& id : ids) {
    sdk::Result<RunRecord> run = LoadLocked(id);
    if (run.ok()) {
      out.push_back(std::move(run.value()));
    } else if (run.error().code != CAPSTAN_ERR_NOT_FOUND && problems != nullptr) {
      problems->push_back(run.error().message);
    }
  }
  return out;
}

sdk::Result<void> StateStore::Remove(const std::string& id) {
  if (!ValidRunId(id)) return sdk::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  if (::unlink(PathOf(id).c_str()) != 0) {
    if (errno == ENOENT) return sdk::Ok();
    return sdk::Internal("cannot delete " + PathOf(id) + ": " + Errno(errno));
  }
  UniqueFd dfd(::open(runs_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid() || ::fsync(dfd.get()) != 0) return sdk::Internal("cannot sync " + runs_dir_ + ": " + Errno(errno));
  return sdk::Ok();
}

}  // namespace capstan::plugins::process
