#include "config/config.h"
#include "config/abuse.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

namespace chasquid::config {
namespace {

std::string WriteTemp(const std::string& content) {
  char name[] = "/tmp/chasquid-config-test-XXXXXX";
  int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(name) << content;
  return name;
}

TEST(ConfigTest, DefaultsAndPrint) {
  std::string path = WriteTemp("hostname: 'myhost'\ndata_dir: \".data\"\n");
  auto c = Load(path, "");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(ToText(*c),
            "hostname: \"myhost\"\n"
            "max_data_size_mb: 50\n"
            "smtp_address: \"systemd\"\n"
            "submission_address: \"systemd\"\n"
            "submission_over_tls_address: \"systemd\"\n"
            "mail_delivery_agent_bin: \"maildrop\"\n"
            "mail_delivery_agent_args: \"-f\"\n"
            "mail_delivery_agent_args: \"%from%\"\n"
            "mail_delivery_agent_args: \"-d\"\n"
            "mail_delivery_agent_args: \"%to_user%\"\n"
            "data_dir: \".data\"\n"
            "suffix_separators: \"+\"\n"
            "drop_characters: \".\"\n"
            "mail_log_path: \"<syslog>\"\n"
            "max_queue_items: 200\n"
            "give_up_send_after: \"20h\"\n");
  unlink(path.c_str());
}

TEST(ConfigTest, MergeRules) {
  std::string path = WriteTemp(
      "# comment\n"
      "hostname: ''\n"
      "max_data_size_mb: -3\n"
      "smtp_address: ':1025'\nsmtp_address: ':2025'\n"
      "drop_characters: ''\n"
      "dovecot_auth: true\n");
  auto c = Load(path, "max_data_size_mb: 7 hostname: 'over'");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->hostname(), "over");
  EXPECT_EQ(c->max_data_size_mb(), 7);
  ASSERT_EQ(c->smtp_address_size(), 2);
  EXPECT_EQ(c->smtp_address(1), ":2025");
  EXPECT_TRUE(c->has_drop_characters());
  EXPECT_EQ(c->drop_characters(), "");
  EXPECT_EQ(c->suffix_separators(), "+");
  EXPECT_TRUE(c->dovecot_auth());
  unlink(path.c_str());
}

TEST(ConfigTest, Errors) {
  auto missing = Load("/nonexistent/chasquid.conf", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "failed to read config at \"/nonexistent/chasquid.conf\": open "
            "/nonexistent/chasquid.conf: no such file or directory");

  std::string path = WriteTemp("hostname: 'x'\n\nbogus_field: 3\n");
  auto bad = Load(path, "");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("parsing config: " + path + ":3:", 0),
            0u)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("bogus_field"), std::string::npos);
  unlink(path.c_str());

  path = WriteTemp("give_up_send_after: '10'\n");
  auto dur = Load(path, "");
  ASSERT_FALSE(dur.ok());
  EXPECT_EQ(dur.status().message(),
            "invalid give_up_send_after value \"10\": time: missing unit in "
            "duration \"10\"");
  unlink(path.c_str());

  path = WriteTemp("");
  auto over = Load(path, "nope: 1");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().message().rfind("parsing override: 1:", 0), 0u);
  unlink(path.c_str());
}

TEST(ConfigTest, AuthThrottleDefaultsMergeAndErrors) {
  std::string path = WriteTemp("");
  auto c = Load(path, "");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->has_auth_throttle());  // A chasquid config prints as is.
  auto o = AuthThrottleOptions(*c);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->enabled);
  EXPECT_EQ(o->ip_failures, 10u);
  EXPECT_EQ(o->user_failures, 30u);
  EXPECT_EQ(o->window, std::chrono::minutes(10));
  unlink(path.c_str());

  path = WriteTemp("auth_throttle: { ip_failures: 4 window: '1m' }\n");
  c = Load(path, "auth_throttle: { enabled: false }");
  ASSERT_TRUE(c.ok()) << c.status().message();
  o = AuthThrottleOptions(*c);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->enabled);
  EXPECT_EQ(o->ip_failures, 4u);
  EXPECT_EQ(o->window, std::chrono::minutes(1));
  EXPECT_EQ(o->block_time, std::chrono::minutes(15));
  unlink(path.c_str());

  path = WriteTemp("auth_throttle: { block_time: '15' }\n");
  c = Load(path, "");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "invalid auth_throttle.block_time value \"15\": time: missing "
            "unit in duration \"15\"");
  unlink(path.c_str());

  path = WriteTemp("auth_throttle: { ip_failures: 30 }\n");
  c = Load(path, "");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "invalid auth_throttle: user_failures must be above ip_failures");
  unlink(path.c_str());
}

TEST(ConfigTest, ClientLimitsDefaultsAndZeroTurnsOff) {
  Config c;
  auto cl = ClientLimitsOptions(c);
  EXPECT_EQ(cl.max_open, 15000u);
  EXPECT_EQ(cl.max_per_minute, 60000u);
  auto sb = SendBrakeOptions(c);
  EXPECT_EQ(sb.messages_per_hour, 1000u);
  EXPECT_EQ(sb.recipients_per_hour, 10000u);

  auto parsed = ParseText(
      "max_connections_per_client: 0 max_messages_per_user_hour: 5", "");
  ASSERT_TRUE(parsed.ok());
  Config merged = Defaults();
  Merge(*parsed, &merged);
  EXPECT_EQ(ClientLimitsOptions(merged).max_open, 0u);
  EXPECT_EQ(ClientLimitsOptions(merged).max_per_minute, 60000u);
  EXPECT_EQ(SendBrakeOptions(merged).messages_per_hour, 5u);
}

}  // namespace
}  // namespace chasquid::config
