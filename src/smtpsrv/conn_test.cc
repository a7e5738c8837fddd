// End-to-end tests of one connection over loopback: exact replies, error
// accounting, limits, TLS and AUTH, DATA and its pipeline.
#include "smtpsrv/conn.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "smtp/auth.h"
#include "smtpsrv/testutil.h"
#include "smtpsrv/vars.h"

namespace chasquid::smtpsrv {
namespace {

using testing::Client;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TestServer;

const char kEhlo[] =
    "250-testserver - Your hour of destiny has come.\r\n"
    "250-8BITMIME\r\n250-PIPELINING\r\n250-SMTPUTF8\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250-SIZE 1048576\r\n250-STARTTLS\r\n"
    "250 HELP";

// Polls `pred` for up to 5 s (for effects that follow a reply).
template <typename P>
bool Eventually(P pred) {
  for (int i = 0; i < 500; i++) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(ConnTest, GreetingEhloAndSmallCommands) {
  TestServer s;
  Client c(s.port(Mode::kSmtp));
  EXPECT_EQ(c.Reply(), "220 testserver ESMTP chasquid");
  EXPECT_EQ(c.Do("EHLO example.com"), kEhlo);
  EXPECT_THAT(c.Do("HELO example.com"),
              StartsWith("250 Hello my friend, welcome to chasqui's "));
  EXPECT_EQ(c.Do("HELP"), "214 2.0.0 Hoy por ti, mañana por mi");
  EXPECT_EQ(c.Do("NOOP"), "250 2.0.0 You hear a faint typing noise.");
  EXPECT_THAT(c.Do("RSET"), StartsWith("250 2.0.0 "));
  EXPECT_EQ(c.Do("EHLO"), "501 Invisible customers are not welcome!");
  EXPECT_EQ(c.Do("QUIT"), "221 2.0.0 Be seeing you...");
  EXPECT_TRUE(c.Closed());
}

TEST(ConnTest, TooManyErrorsAndCounters) {
  TestServer s;
  const Vars& v = GetVars();
  int64_t unknown = v.command_count->Value("unknown<\"WHATIS\">");
  int64_t c421 = v.response_code_count->Value("421");
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  EXPECT_EQ(c.Do("VRFY x"),
            "502 5.5.1 You have a strange feeling for a moment, then it "
            "passes.");
  EXPECT_EQ(c.Do("WHATISTHIS"), "500 5.5.1 Unknown command");
  EXPECT_EQ(c.Do("EXPN x"), "421 4.5.0 Too many errors, bye");
  EXPECT_TRUE(c.Closed());
  EXPECT_EQ(v.command_count->Value("unknown<\"WHATIS\">"), unknown + 1);
  EXPECT_EQ(v.response_code_count->Value("421"), c421 + 1);
}

TEST(ConnTest, PipelinedCommandsAnsweredInOrder) {
  TestServer s;
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  c.Send(
      "EHLO a\r\nMAIL FROM:<x@y>\r\nRCPT TO:<user@testserver>\r\n"
      "NOOP\r\n");
  EXPECT_EQ(c.Reply(), kEhlo);
  EXPECT_EQ(c.Reply(), "250 2.1.5 You feel like you are being watched");
  EXPECT_EQ(c.Reply(), "250 2.1.5 You have an eerie feeling...");
  EXPECT_EQ(c.Reply(), "250 2.0.0 You hear a faint typing noise.");
}

TEST(ConnTest, LineLengthLimit) {
  TestServer s;
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  EXPECT_EQ(c.Do("NOOP " + std::string(995, 'x')),  // Exactly 1000.
            "250 2.0.0 You hear a faint typing noise.");
  EXPECT_EQ(c.Do("NOOP " + std::string(5000, 'x')),
            "554 error reading command: line too long");
  EXPECT_TRUE(c.Closed());
}

TEST(ConnTest, HttpIsRefused) {
  TestServer s;
  int64_t before = GetVars().wrong_proto_count->Value("GET");
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  EXPECT_EQ(c.Do("GET / HTTP/1.1"),
            "502 5.7.0 You hear someone cursing shoplifters");
  EXPECT_TRUE(c.Closed());
  EXPECT_EQ(GetVars().wrong_proto_count->Value("GET"), before + 1);
}

TEST(ConnTest, MailErrors) {
  TestServer s;
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  EXPECT_EQ(c.Do("MAIL <a@b>"), "500 5.5.2 Unknown command");
  EXPECT_EQ(c.Do("MAIL FROM:"), "500 5.5.4 Malformed command: unexpected EOF");
  EXPECT_EQ(c.Do("NOOP"), "250 2.0.0 You hear a faint typing noise.");
  Client c2(s.port(Mode::kSmtp));
  c2.Reply();
  EXPECT_EQ(c2.Do("MAIL FROM:<pepe>"), "501 5.1.7 Sender address malformed");
  EXPECT_EQ(c2.Do("MAIL FROM:<" + std::string(250, 'a') + "@bbbbbbbbb>"),
            "501 5.1.7 Sender address too long");
  Client c3(s.port(Mode::kSubmission));
  c3.Reply();
  EXPECT_EQ(c3.Do("MAIL FROM:<a@b>"),
            "550 5.7.9 Mail to submission port must be authenticated");
}

TEST(ConnTest, RcptErrors) {
  TestServer s;
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  EXPECT_EQ(c.Do("RCPT TO:<user@testserver>"),
            "503 5.5.1 Sender not yet given");
  EXPECT_EQ(c.Do("MAIL FROM:<>"),
            "250 2.1.5 You feel like you are being watched");
  EXPECT_EQ(c.Do("RCPT <a@b>"), "500 5.5.2 Unknown command");
  Client c1(s.port(Mode::kSmtp));
  c1.Reply();
  c1.Do("MAIL FROM:<>");
  EXPECT_EQ(c1.Do("RCPT TO:<a@>"), "501 5.1.3 Malformed destination address");
  EXPECT_EQ(c1.Do("RCPT TO:"), "500 5.5.4 Malformed command: unexpected EOF");
  Client c2(s.port(Mode::kSmtp));
  c2.Reply();
  c2.Do("MAIL FROM:<a@b>");
  EXPECT_EQ(c2.Do("RCPT TO:<x@remote.example>"), "503 5.7.1 Relay not allowed");
  EXPECT_EQ(c2.Do("RCPT TO:<nobody@testserver>"),
            "550 5.1.1 Destination address is unknown (user does not exist)");
  Client c3(s.port(Mode::kSmtp));
  c3.Reply();
  c3.Do("MAIL FROM:<a@b>");
  EXPECT_EQ(c3.Do("RCPT TO:<broken@testserver>"),
            "451 4.4.3 Temporary error checking address");
  auto log = s.maillog();
  EXPECT_THAT(log, ::testing::Contains(HasSubstr(
                       "rejected from=a@b to=[x@remote.example] - relay not "
                       "allowed")));
  EXPECT_THAT(log, ::testing::Contains(HasSubstr(
                       "to=[nobody@testserver] - local user does not exist")));
}

TEST(ConnTest, TooManyRecipients) {
  TestServer s;
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  c.Do("MAIL FROM:<a@b>");
  for (int i = 0; i < 101; i++) {
    ASSERT_EQ(c.Do("RCPT TO:<user@testserver>"),
              "250 2.1.5 You have an eerie feeling...");
  }
  EXPECT_EQ(c.Do("RCPT TO:<user@testserver>"), "452 4.5.3 Too many recipients");
}

TEST(ConnTest, Utf8AndDropsAndSuffixes) {
  TestServer s;
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  EXPECT_EQ(c.Do("MAIL FROM:<ñoño@pingüino.example> SMTPUTF8"),
            "250 2.1.5 You feel like you are being watched");
  EXPECT_EQ(c.Do("RCPT TO:<ñandú@testserver>"),
            "250 2.1.5 You have an eerie feeling...");
  EXPECT_EQ(c.Do("RCPT TO:<u.s.e.r+tag@testserver>"),
            "250 2.1.5 You have an eerie feeling...");
}

std::string SendMessage(Client& c, const std::string& body) {
  c.Do("EHLO client.example");
  c.Do("MAIL FROM:<sender@example.org>");
  c.Do("RCPT TO:<user@testserver>");
  std::string r = c.Do("DATA");
  if (r != "354 You suddenly realize it is unnaturally quiet") return r;
  c.Send(body);
  return c.Reply();
}

TEST(ConnTest, DataIsQueuedWithReceivedHeader) {
  TestServer s;
  int64_t plain = GetVars().tls_count->Value("plain");
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  EXPECT_THAT(SendMessage(c, "Subject: hi\r\n\r\n..dot\r\nline\r\n.\r\n"),
              StartsWith("250 2.0.0 "));
  auto msgs = s.queue().Messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].from, "sender@example.org");
  EXPECT_EQ(msgs[0].to, std::vector<std::string>{"user@testserver"});
  EXPECT_THAT(msgs[0].data,
              StartsWith("Received: from client.example ([127.0.0.1])\n"
                         "\tby testserver (chasquid) with ESMTP\n"
                         "\t(over SMTP, plain text!, envelope from "
                         "\"sender@example.org\")\n\t; "));
  EXPECT_THAT(msgs[0].data, HasSubstr("\nSubject: hi\n\n.dot\nline\n"));
  EXPECT_EQ(GetVars().tls_count->Value("plain"), plain + 1);
  EXPECT_THAT(s.maillog().back(),
              ::testing::MatchesRegex("id1 from=sender@example.org queued "
                                      "ip=127.0.0.1:[0-9]+ "
                                      "to=\\[user@testserver\\]"));
  // The envelope was reset; a DATA now needs a new MAIL.
  EXPECT_EQ(c.Do("DATA"), "503 5.5.1 Sender not yet given");
}

TEST(ConnTest, DataErrors) {
  TestServer s;
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  c.Do("MAIL FROM:<a@b>");
  c.Do("RCPT TO:<user@testserver>");
  EXPECT_EQ(c.Do("DATA"), "503 5.5.1 Invisible customers are not welcome!");
  c.Do("HELO x");
  c.Do("RSET");
  c.Do("MAIL FROM:<a@b>");
  EXPECT_EQ(c.Do("DATA"), "503 5.5.1 Need an address to send to");
}

TEST(ConnTest, SmugglingAttemptsCloseTheConnection) {
  for (const char* body : {"Subject: x\r\n\r\nhi\n.\nMAIL FROM:<a@b>\r\n",
                           "Subject: x\r\n\r\nhi\r\n.\nRSET\r\n",
                           "Subject: x\r\n\r\nhi\n.\r\nRSET\r\n",
                           "Subject: x\r\n\r\nhi\r.\r\nRSET\r\n"}) {
    TestServer s;
    Client c(s.port(Mode::kSmtp));
    c.Reply();
    EXPECT_EQ(SendMessage(c, body),
              "521 5.5.2 Error reading DATA: invalid line ending");
    EXPECT_TRUE(c.Closed());
    EXPECT_EQ(s.queue().Len(), 0u);
  }
}

TEST(ConnTest, DisconnectMidDataQueuesNothing) {
  TestServer s;
  {
    Client c(s.port(Mode::kSmtp));
    c.Reply();
    c.Do("EHLO x");
    c.Do("MAIL FROM:<a@b>");
    c.Do("RCPT TO:<user@testserver>");
    EXPECT_EQ(c.Do("DATA"), "354 You suddenly realize it is unnaturally quiet");
    c.Send("Subject: half\r\n\r\nand then");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(s.queue().Len(), 0u);
}

TEST(ConnTest, MessageTooBigKeepsTheConnection) {
  TestServer s;
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  std::string big = "Subject: big\r\n\r\n";
  for (int i = 0; i < 20000; i++) big += std::string(98, 'x') + "\r\n";
  EXPECT_EQ(SendMessage(c, big + ".\r\n"), "552 5.3.4 Message too big");
  EXPECT_EQ(c.Do("NOOP"), "250 2.0.0 You hear a faint typing noise.");
  EXPECT_EQ(s.queue().Len(), 0u);
}

TEST(ConnTest, LoopDetectionAndParseErrors) {
  TestServer::DefaultOptions();
  Options o = TestServer::DefaultOptions();
  o.max_received_headers = 2;
  TestServer s(o);
  int64_t loops = GetVars().loops_detected->Value();
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  EXPECT_EQ(SendMessage(c,
                        "Received: a\r\nReceived: b\r\nReceived: c\r\n"
                        "\r\nx\r\n.\r\n"),
            "554 5.4.6 Loop detected (2 hops)");
  EXPECT_EQ(GetVars().loops_detected->Value(), loops + 1);
  EXPECT_EQ(c.Do("DATA"), "354 You suddenly realize it is unnaturally quiet");
  c.Send("Subject: x\r\nBad header\r\n\r\n.\r\n");
  EXPECT_EQ(c.Reply(),
            "554 5.6.0 Error parsing message: malformed header line: Bad "
            "header");
}

TEST(ConnTest, QueueErrorsAre451) {
  TestServer s;
  s.queue().fail = true;
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  EXPECT_EQ(SendMessage(c, "Subject: x\r\n\r\n.\r\n"),
            "451 4.3.0 Failed to queue message: Queue size too big, try "
            "again later");
}

TEST(ConnTest, StallingClientTimesOut) {
  Options o = TestServer::DefaultOptions();
  o.command_timeout = std::chrono::milliseconds(300);
  TestServer s(o);
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  auto start = std::chrono::steady_clock::now();
  // As in chasquid, the deadline covers the write too: the 554 cannot be
  // delivered, the client just sees the connection closed.
  EXPECT_EQ(c.Reply(), "");
  EXPECT_TRUE(c.Closed());
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(250));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ConnTest, ConnectionBound) {
  Options o = TestServer::DefaultOptions();
  o.max_connections = 1;
  TestServer s(o);
  Client c1(s.port(Mode::kSmtp));
  EXPECT_EQ(c1.Reply(), "220 testserver ESMTP chasquid");
  Client c2(s.port(Mode::kSmtp));
  EXPECT_EQ(c2.Reply(), "421 4.3.2 Too many connections, try again later");
  EXPECT_TRUE(c2.Closed());
  c1.Do("QUIT");
  EXPECT_TRUE(Eventually([&] { return s.server().active().load() == 0; }));
  Client c3(s.port(Mode::kSmtp));
  EXPECT_EQ(c3.Reply(), "220 testserver ESMTP chasquid");
}

TEST(ConnTest, AuthNeedsTls) {
  TestServer s;
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  EXPECT_EQ(c.Do("AUTH PLAIN dUBkAHVAZABwYXNz"),
            "503 5.7.10 You feel vulnerable");
}

TEST(ConnTest, StartTlsThenAuthPlain) {
  TestServer s;
  Client c(s.port(Mode::kSubmission));
  c.Reply();
  c.Do("EHLO x");
  EXPECT_EQ(c.Do("STARTTLS"),
            "220 2.0.0 You experience a strange sense of peace");
  ASSERT_TRUE(c.StartTls());
  EXPECT_THAT(c.Do("EHLO x"), HasSubstr("250-AUTH PLAIN LOGIN\r\n250 HELP"));
  std::string bad =
      smtp::EncodeBase64(std::string("\0user@testserver\0no", 19));
  EXPECT_EQ(c.Do("AUTH PLAIN " + bad), "535 5.7.8 Incorrect user or password");
  EXPECT_EQ(c.Do("AUTH PLAIN"), "334 ");
  EXPECT_EQ(
      c.Do(smtp::EncodeBase64(std::string("\0user@testserver\0secret", 23))),
      "235 2.7.0 Authentication successful");
  EXPECT_EQ(c.Do("AUTH PLAIN x"), "503 5.5.1 You are already wearing that!");
  // Authenticated: relaying allowed.
  EXPECT_EQ(c.Do("MAIL FROM:<user@testserver>"),
            "250 2.1.5 You feel like you are being watched");
  EXPECT_EQ(c.Do("RCPT TO:<someone@far.example>"),
            "250 2.1.5 You have an eerie feeling...");
  c.Do("DATA");
  c.Send("Subject: x\r\n\r\nhi\r\n.\r\n");
  EXPECT_THAT(c.Reply(), StartsWith("250 2.0.0 "));
  auto msgs = s.queue().Messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_THAT(msgs[0].data, StartsWith("Received: from x\n\tby testserver "
                                       "(chasquid) with ESMTPSA\n\ttls TLS_"));
  EXPECT_THAT(msgs[0].data, HasSubstr("(over submission, TLS-1.3, envelope"));
  EXPECT_THAT(
      s.maillog(),
      ::testing::Contains(HasSubstr("auth succeeded for user@testserver")));
}

// A failed handshake ends the connection at once, whether the client sent
// garbage or hung up (which used to leave the connection waiting for the
// command timeout: the handshake had already read the EOF).
TEST(ConnTest, FailedStartTlsHandshakeCloses) {
  TestServer s;
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  c.Do("EHLO x");
  EXPECT_EQ(c.Do("STARTTLS"),
            "220 2.0.0 You experience a strange sense of peace");
  c.Send("this is not a TLS ClientHello\r\n");
  EXPECT_THAT(c.Reply(), StartsWith("554 5.5.0 Error in TLS handshake: "));
  EXPECT_TRUE(c.Closed());

  Client c2(s.port(Mode::kSmtp));
  c2.Reply();
  c2.Cmd("EHLO x");
  c2.Cmd("STARTTLS");
  c2.HalfClose();
  EXPECT_EQ(c2.Reply().substr(0, 4), "250-");
  EXPECT_EQ(c2.Reply(), "220 2.0.0 You experience a strange sense of peace");
  EXPECT_THAT(c2.Reply(), StartsWith("554 5.5.0 Error in TLS handshake: "));
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c2.Closed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ConnTest, StartTlsTwiceAndUnknownMechanism) {
  TestServer s;
  int64_t tls = GetVars().tls_count->Value("tls");
  Client c(s.port(Mode::kSmtp));
  c.Reply();
  c.Do("EHLO x");
  c.Do("STARTTLS");
  ASSERT_TRUE(c.StartTls());
  EXPECT_EQ(c.Do("STARTTLS"), "503 5.5.1 You are already wearing that!");
  EXPECT_EQ(c.Do("AUTH CRAM-MD5"),
            "534 5.7.9 Asmodeus demands 534 zorkmids for safe passage");
  c.Do("EHLO x");
  c.Do("MAIL FROM:<a@b>");
  c.Do("RCPT TO:<user@testserver>");
  c.Do("DATA");
  c.Send("Subject: x\r\n\r\n.\r\n");
  EXPECT_THAT(c.Reply(), StartsWith("250 "));
  EXPECT_EQ(GetVars().tls_count->Value("tls"), tls + 1);
  auto msgs = s.queue().Messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_THAT(msgs[0].data, HasSubstr("by testserver (chasquid) with ESMTPS\n"
                                      "\ttls TLS_"));
}

TEST(ConnTest, AuthDecodingErrorsAndLogin) {
  TestServer s;
  Client c(s.port(Mode::kSubmissionTls));
  ASSERT_TRUE(c.HandshakeNow());
  EXPECT_EQ(c.Reply(), "220 testserver ESMTP chasquid");
  EXPECT_EQ(c.Do("AUTH PLAIN dQB1AHBhc3M"),
            "501 5.5.2 Error decoding AUTH response: illegal base64 data at "
            "input byte 8");
  EXPECT_EQ(c.Do("AUTH PLAIN " +
                 smtp::EncodeBase64(std::string("\0broken@testserver\0x", 20))),
            "454 4.7.0 Temporary authentication failure");
  // Third error: only the 421.
  EXPECT_EQ(c.Do("AUTH PLAIN *"), "421 4.5.0 Too many errors, bye");

  Client l(s.port(Mode::kSubmissionTls));
  ASSERT_TRUE(l.HandshakeNow());
  l.Reply();
  EXPECT_EQ(l.Do("AUTH LOGIN"), "334 VXNlcm5hbWU6");
  EXPECT_EQ(l.Do(smtp::EncodeBase64("user@testserver")), "334 UGFzc3dvcmQ6");
  EXPECT_EQ(l.Do(smtp::EncodeBase64("secret")),
            "235 2.7.0 Authentication successful");
}

TEST(ConnTest, HaproxyHeader) {
  Options o = TestServer::DefaultOptions();
  o.haproxy_incoming = true;
  TestServer s(o);
  Client c(s.port(Mode::kSmtp));
  c.Send("PROXY TCP4 192.0.2.7 198.51.100.1 4321 25\r\nEHLO x\r\n");
  EXPECT_EQ(c.Reply(), "220 testserver ESMTP chasquid");
  EXPECT_EQ(c.Reply(), kEhlo);
  c.Do("MAIL FROM:<a@b>");
  EXPECT_EQ(c.Do("RCPT TO:<x@far.example>"), "503 5.7.1 Relay not allowed");
  EXPECT_THAT(s.maillog().back(), StartsWith("192.0.2.7:4321 rejected"));

  Client bad(s.port(Mode::kSmtp));
  bad.Send("EHLO x\r\n");
  EXPECT_EQ(bad.Reply(), "");  // No greeting: closed silently.
}

}  // namespace
}  // namespace chasquid::smtpsrv

namespace chasquid::smtpsrv {
namespace {

using ::testing::Not;

// Ours, RFC 8689: REQUIRETLS is offered and taken only over TLS, and the
// queue gets the flag with the message.
TEST(ConnTest, RequireTlsOnlyOverTls) {
  TestServer s;
  Client plain(s.port(Mode::kSmtp));
  plain.Reply();
  EXPECT_THAT(plain.Do("EHLO x"), Not(HasSubstr("REQUIRETLS")));
  EXPECT_EQ(plain.Do("MAIL FROM:<someone@far.example> REQUIRETLS"),
            "530 5.7.10 REQUIRETLS needs a TLS session");
  Client c(s.port(Mode::kSubmission));
  c.Reply();
  c.Do("EHLO x");
  c.Do("STARTTLS");
  ASSERT_TRUE(c.StartTls());
  EXPECT_THAT(c.Do("EHLO x"), HasSubstr("250-REQUIRETLS\r\n"));
  c.Do("AUTH PLAIN " +
       smtp::EncodeBase64(std::string("\0user@testserver\0secret", 23)));
  for (const char* mail : {"MAIL FROM:<user@testserver> requiretls",
                           "MAIL FROM:<user@testserver> BODY=8BITMIME"}) {
    EXPECT_EQ(c.Do(mail), "250 2.1.5 You feel like you are being watched");
    c.Do("RCPT TO:<someone@far.example>");
    c.Do("DATA");
    c.Send("Subject: x\r\n\r\nhi\r\n.\r\n");
    EXPECT_THAT(c.Reply(), StartsWith("250 2.0.0 "));
  }
  auto msgs = s.queue().Messages();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_TRUE(msgs[0].require_tls);
  EXPECT_FALSE(msgs[1].require_tls);
}

}  // namespace
}  // namespace chasquid::smtpsrv
