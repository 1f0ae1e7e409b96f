#include "cli/flags.h"

#include <gtest/gtest.h>

namespace capstan::cli {
namespace {

TEST(FlagSetTest, ParsesLongShortAttachedAndRepeatedForms) {
  std::string output;
  std::string selector;
  std::vector<std::string> files;
  bool watch = false;
  bool all = false;
  FlagSet flags("capstan get");
  flags.AddString("output", 'o', &output, "");
  flags.AddString("selector", 'l', &selector, "");
  flags.AddStringList("filename", 'f', &files, "");
  flags.AddBool("watch", 'w', &watch, "");
  flags.AddBool("all-namespaces", 'A', &all, "");
  std::vector<std::string> positional;
  Status status = flags.Parse({"pods", "-oyaml", "--selector=app=web", "-f", "a.yaml", "--filename", "-", "web", "-wA"},
                              &positional);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(output, "yaml");
  EXPECT_EQ(selector, "app=web");
  EXPECT_EQ(files, (std::vector<std::string>{"a.yaml", "-"}));
  EXPECT_TRUE(watch);
  EXPECT_TRUE(all);
  EXPECT_EQ(positional, (std::vector<std::string>{"pods", "web"}));
  EXPECT_TRUE(flags.Seen("output"));
  EXPECT_FALSE(flags.help_requested());
}

TEST(FlagSetTest, BooleanValuesAndDoubleDash) {
  bool wait = true;
  FlagSet flags("capstan delete");
  flags.AddBool("wait", 0, &wait, "");
  std::vector<std::string> positional;
  ASSERT_TRUE(flags.Parse({"--wait=false", "--", "--not-a-flag"}, &positional).ok());
  EXPECT_FALSE(wait);
  EXPECT_EQ(positional, (std::vector<std::string>{"--not-a-flag"}));
  Status bad = flags.Parse({"--wait=maybe"}, &positional);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("maybe"), std::string::npos);
}

TEST(FlagSetTest, UnknownFlagsAndMissingValuesAreErrors) {
  std::string output;
  FlagSet flags("capstan get");
  flags.AddString("output", 'o', &output, "");
  std::vector<std::string> positional;
  EXPECT_EQ(flags.Parse({"--bogus"}, &positional).message(), "unknown flag: --bogus");
  EXPECT_EQ(flags.Parse({"-z"}, &positional).message(), "unknown shorthand flag: 'z' in -z");
  EXPECT_FALSE(flags.Parse({"--output"}, &positional).ok());
  FlagSet help("capstan get");
  ASSERT_TRUE(help.Parse({"-h"}, &positional).ok());
  EXPECT_TRUE(help.help_requested());
}

TEST(GlobalFlagsTest, ExtractedAnywhereOnTheLine) {
  std::vector<std::string> args = {"-n", "prod", "get", "pods", "--kubeconfig=/tmp/k", "-owide", "--server",
                                   "http://x:1", "--token=t", "-v=6", "--request-timeout", "5s", "--context", "c"};
  GlobalOptions options;
  ASSERT_TRUE(ExtractGlobalFlags(&args, &options).ok());
  EXPECT_EQ(args, (std::vector<std::string>{"get", "pods", "-owide"}));
  EXPECT_EQ(options.namespace_name, "prod");
  EXPECT_EQ(options.connection.kubeconfig, "/tmp/k");
  EXPECT_EQ(options.connection.server, "http://x:1");
  EXPECT_EQ(options.connection.token, "t");
  EXPECT_EQ(options.connection.context, "c");
  EXPECT_EQ(options.verbosity, 6);
  EXPECT_TRUE(options.request_timeout_set);
  EXPECT_EQ(options.request_timeout, std::chrono::milliseconds(5000));
}

TEST(GlobalFlagsTest, AttachedNamespaceAndStopAtDoubleDash) {
  std::vector<std::string> args = {"get", "-nkube-system", "pods", "--", "-n", "x"};
  GlobalOptions options;
  ASSERT_TRUE(ExtractGlobalFlags(&args, &options).ok());
  EXPECT_EQ(options.namespace_name, "kube-system");
  EXPECT_EQ(args, (std::vector<std::string>{"get", "pods", "--", "-n", "x"}));
}

TEST(GlobalFlagsTest, BadValuesAreErrors) {
  GlobalOptions options;
  std::vector<std::string> timeout = {"--request-timeout=soon"};
  EXPECT_FALSE(ExtractGlobalFlags(&timeout, &options).ok());
  std::vector<std::string> level = {"-v", "loud"};
  EXPECT_FALSE(ExtractGlobalFlags(&level, &options).ok());
  std::vector<std::string> missing = {"get", "-n"};
  EXPECT_FALSE(ExtractGlobalFlags(&missing, &options).ok());
}

TEST(DurationTest, ParsesKubectlForms) {
  EXPECT_EQ(*ParseDuration("0"), std::chrono::milliseconds(0));
  EXPECT_EQ(*ParseDuration("30"), std::chrono::milliseconds(30000));
  EXPECT_EQ(*ParseDuration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(*ParseDuration("1m30s"), std::chrono::milliseconds(90000));
  EXPECT_EQ(*ParseDuration("2h"), std::chrono::milliseconds(7200000));
  EXPECT_FALSE(ParseDuration("5 minutes").ok());
  EXPECT_FALSE(ParseDuration("").ok());
}

}  // namespace
}  // namespace capstan::cli
