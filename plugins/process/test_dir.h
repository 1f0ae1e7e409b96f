// TestDir: a fresh temporary directory for one test, removed with everything in it at the end.
//
// Thread-safety: a value owned by one test.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace capstan::plugins::process {

class TestDir {
 public:
  TestDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "capstan-process-test.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TestDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;

  const std::string& path() const { return path_; }  // "" when it could not be made
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace capstan::plugins::process
