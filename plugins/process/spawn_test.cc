#include "plugins/process/spawn.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "plugins/process/container_start.h"
#include "plugins/process/test_dir.h"

namespace capstan::plugins::process {
namespace {

void MakeFile(const std::string& path, mode_t mode) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << "#!/bin/sh\nexit 0\n";
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

TEST(ProcessCommandResolution, SearchesTheContainersPathInOrder) {
  TestDir dir;
  MakeFile(dir / "a/tool", 0755);
  MakeFile(dir / "b/tool", 0755);
  MakeFile(dir / "b/other", 0755);
  const std::string path = dir / "a" + ":" + dir / "b";
  EXPECT_EQ(ResolveCommand("tool", path, "/").path, dir / "a/tool");
  EXPECT_EQ(ResolveCommand("other", path, "/").path, dir / "b/other");
  const Resolved missing = ResolveCommand("nope", path, "/");
  EXPECT_EQ(missing.error, ENOENT);
  EXPECT_NE(missing.message.find("nope"), std::string::npos) << missing.message;
}

TEST(ProcessCommandResolution, SkipsWhatIsNotExecutable) {
  TestDir dir;
  MakeFile(dir / "a/tool", 0644);
  MakeFile(dir / "b/tool", 0755);
  std::filesystem::create_directories(dir / "c/dir");
  EXPECT_EQ(ResolveCommand("tool", dir / "a" + ":" + dir / "b", "/").path, dir / "b/tool");
  if (::geteuid() != 0) {  // root may execute anything with an x bit, but not a file without one
    EXPECT_EQ(ResolveCommand("tool", dir / "a", "/").error, EACCES);
  }
  EXPECT_NE(ResolveCommand("tool", dir / "a", "/").error, 0);
  EXPECT_NE(ResolveCommand("dir", dir / "c", "/").error, 0) << "a directory is not a command";
}

TEST(ProcessCommandResolution, PathsAndRelativeEntries) {
  TestDir dir;
  MakeFile(dir / "bin/run.sh", 0755);
  EXPECT_EQ(ResolveCommand(dir / "bin/run.sh", "", "/").path, dir / "bin/run.sh");
  EXPECT_EQ(ResolveCommand("./bin/run.sh", "/nonexistent", dir.path()).path, dir.path() + "/./bin/run.sh");
  EXPECT_EQ(ResolveCommand("bin/run.sh", "", dir.path()).path, dir / "bin/run.sh")
      << "a name with a slash is a path, not searched";
  // An empty PATH entry, and a relative one, are relative to the working directory.
  EXPECT_EQ(ResolveCommand("run.sh", "/nonexistent:", dir / "bin").path, dir / "bin/run.sh");
  EXPECT_EQ(ResolveCommand("run.sh", "bin", dir.path()).path, dir / "bin/run.sh");
  EXPECT_EQ(ResolveCommand("", "/bin", "/").error, ENOENT);
}

TEST(ProcessEnvironment, DefaultsThenTheSpecInOrder) {
  const std::vector<std::string> env =
      BuildEnv({{"A", "1"}, {"PATH", "/opt/bin"}, {"A", "2"}, {"", "x"}, {"B=C", "y"}, {"PORT", "8080"}});
  EXPECT_EQ(EnvValue(env, "PATH"), "/opt/bin");
  EXPECT_EQ(EnvValue(env, "A"), "2");
  EXPECT_EQ(EnvValue(env, "PORT"), "8080");
  EXPECT_FALSE(EnvValue(env, "HOME").empty());
  size_t a_count = 0;
  for (const std::string& e : env) {
    a_count += e.rfind("A=", 0) == 0;
    EXPECT_NE(e.rfind("B=C", 0), 0u) << "a name holding '=' is skipped";
    EXPECT_NE(e.front(), '=') << "an empty name is skipped";
  }
  EXPECT_EQ(a_count, 1u);
  EXPECT_EQ(EnvValue(BuildEnv({}), "PATH"), kDefaultPath);
  EXPECT_EQ(EnvValue(env, "NOPE"), "");
}

TEST(ProcessImage, DirectoryOrIgnored) {
  TestDir dir;
  std::filesystem::create_directories(dir / "app");
  std::ofstream(dir / "file") << "x";
  EXPECT_EQ(ImageDirectory(dir / "app"), dir / "app");
  EXPECT_EQ(ImageDirectory(dir / "app/"), dir / "app");
  EXPECT_EQ(ImageDirectory(dir / "file"), "") << "not a directory: ignored";
  EXPECT_EQ(ImageDirectory("busybox:1.36"), "") << "a registry reference: ignored";
  EXPECT_EQ(ImageDirectory("app"), "") << "relative: ignored";
  EXPECT_EQ(WorkingDirectory("", ""), "/");
  EXPECT_EQ(WorkingDirectory("", "/srv/app"), "/srv/app");
  EXPECT_EQ(WorkingDirectory("data", "/srv/app"), "/srv/app/data");
  EXPECT_EQ(WorkingDirectory("data", ""), "/data");
  EXPECT_EQ(WorkingDirectory("/tmp/x/", "/srv/app"), "/tmp/x");
}

}  // namespace
}  // namespace capstan::plugins::process
