#include "base/goflag.h"

#include <gtest/gtest.h>

namespace chasquid::goflag {
namespace {

const std::vector<Flag> kFlags = {
    {"v", Kind::kInt, "verbosity level (1 = debug)", "0"},
    {"config_dir", Kind::kString, "configuration directory", "/etc/chasquid"},
    {"logtime", Kind::kBool, "include the time", "false"},
    {"reload", Kind::kDuration, "how often to reload", "30s"},
    {"x", Kind::kBool, "one letter", "false"},
    {"addr", Kind::kString, "`host:port` to listen on\nsecond line", ""},
};

Outcome Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "prog");
  return Check(static_cast<int>(args.size()), args.data(), kFlags);
}

TEST(GoFlagTest, UsageIsGoPrintDefaults) {
  EXPECT_EQ(Usage("./chasquid", kFlags),
            "Usage of ./chasquid:\n"
            "  -addr host:port\n"
            "    \thost:port to listen on\n"
            "    \tsecond line\n"
            "  -config_dir string\n"
            "    \tconfiguration directory (default \"/etc/chasquid\")\n"
            "  -logtime\n"
            "    \tinclude the time\n"
            "  -reload duration\n"
            "    \thow often to reload (default 30s)\n"
            "  -v int\n"
            "    \tverbosity level (1 = debug)\n"
            "  -x\tone letter\n");
}

TEST(GoFlagTest, AcceptsGoSyntax) {
  Outcome o = Parse({"-v=2", "--config_dir", "/x", "-logtime", "-x=false",
                     "--reload=1m30s", "-v", "-3", "rest", "-bogus"});
  EXPECT_EQ(o.what, Outcome::kOk) << o.error;
  EXPECT_EQ(o.next, 9);
  EXPECT_EQ(Parse({"--", "-bogus"}).next, 2);
  EXPECT_EQ(Parse({"-", "-bogus"}).next, 1);
  EXPECT_EQ(Parse({"-v", "0x1F", "-reload", "0"}).what, Outcome::kOk);
  EXPECT_EQ(Parse({"-reload=1.5h", "-reload=300ms", "-reload=-2us"}).what,
            Outcome::kOk);
}

TEST(GoFlagTest, ValuesLastOneWinsAndHiddenFlagsUnlisted) {
  Outcome o = Parse(
      {"-v=2", "-x", "-logtime=F", "--config_dir", "/a", "-config_dir=/b"});
  EXPECT_EQ(o.values,
            (std::map<std::string, std::string>{{"v", "2"},
                                                {"x", "true"},
                                                {"logtime", "false"},
                                                {"config_dir", "/b"}}));
  std::vector<Flag> flags = {{"t", Kind::kString, "secret", "", true}};
  std::vector<const char*> args = {"prog", "-t=1"};
  EXPECT_EQ(Check(2, args.data(), flags).values.at("t"), "1");
  EXPECT_EQ(Usage("p", flags), "Usage of p:\n");
}

TEST(GoFlagTest, ErrorsAsGoWordsThem) {
  EXPECT_EQ(Parse({"-bogus"}).error, "flag provided but not defined: -bogus");
  EXPECT_EQ(Parse({"--bogus=1"}).error,
            "flag provided but not defined: -bogus");
  EXPECT_EQ(Parse({"-config_dir"}).error,
            "flag needs an argument: -config_dir");
  EXPECT_EQ(Parse({"-logtime=yes"}).error,
            "invalid boolean value \"yes\" for -logtime: parse error");
  EXPECT_EQ(Parse({"-v=abc"}).error,
            "invalid value \"abc\" for flag -v: parse error");
  EXPECT_EQ(Parse({"-v=99999999999999999999"}).error,
            "invalid value \"99999999999999999999\" for flag -v: value out "
            "of range");
  EXPECT_EQ(Parse({"-reload=10"}).error,
            "invalid value \"10\" for flag -reload: parse error");
  EXPECT_EQ(Parse({"---x"}).error, "bad flag syntax: ---x");
  EXPECT_EQ(Parse({"-=x"}).error, "bad flag syntax: -=x");
  EXPECT_EQ(Parse({"-h"}).what, Outcome::kHelp);
  EXPECT_EQ(Parse({"--help"}).what, Outcome::kHelp);
}

}  // namespace
}  // namespace chasquid::goflag
