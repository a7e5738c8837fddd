#include "queue/item.h"

#include <stdlib.h>

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

namespace chasquid::queue {
namespace {

TEST(ItemTest, MarshalGoLayout) {
  Item it;
  it.id = "Yf3kQ0b_x1A";
  it.from = "user@example.com";
  it.to = {"friend@example.net"};
  it.data = std::make_shared<const std::string>(
      "Subject: hi\n\nbody \"q\" \\ \x01\x7f\t\r\xc2\x85 \xc3\xb1 \xff\n");
  it.created_at = std::chrono::system_clock::time_point(
      std::chrono::seconds(1717700000) + std::chrono::nanoseconds(123456789));
  Recipient r;
  r.address = "friend@example.net";
  r.status = Recipient::Status::kFailed;
  r.last_failure_message = "MAIL+RCPT 550 \"5.7.1 rejected\"";
  r.original_address = "friend@example.net";
  Recipient p;
  p.address = "cat > x";
  p.type = Recipient::Type::kPipe;
  p.original_address = "tubo@x";
  Recipient f;
  f.address = "a@b";
  f.type = Recipient::Type::kForward;
  f.via = {"mx1", "mx2"};
  EXPECT_EQ(Marshal(it, {r, p, f}),
            "ID: \"Yf3kQ0b_x1A\"\n"
            "from: \"user@example.com\"\n"
            "To: \"friend@example.net\"\n"
            "rcpt: {\n"
            "  address: \"friend@example.net\"\n"
            "  status: FAILED\n"
            "  last_failure_message: \"MAIL+RCPT 550 \\\"5.7.1 rejected\\\"\"\n"
            "  original_address: \"friend@example.net\"\n"
            "}\n"
            "rcpt: {\n"
            "  address: \"cat > x\"\n"
            "  type: PIPE\n"
            "  original_address: \"tubo@x\"\n"
            "}\n"
            "rcpt: {\n"
            "  address: \"a@b\"\n"
            "  type: FORWARD\n"
            "  via: \"mx1\"\n"
            "  via: \"mx2\"\n"
            "}\n"
            "data: \"Subject: hi\\n\\nbody \\\"q\\\" \\\\ \\x01\\x7f\\t\\r"
            "\\u0085 \xc3\xb1 \\xff\\n\"\n"
            "created_at_ts: {\n"
            "  seconds: 1717700000\n"
            "  nanos: 123456789\n"
            "}\n");
}

// Ours: the REQUIRETLS flag is field 150, written last and only when set,
// so an item without it is chasquid's byte for byte.
TEST(ItemTest, RequireTlsFlag) {
  Item it;
  it.id = "abc";
  it.from = "a@b";
  it.data = std::make_shared<const std::string>("x");
  std::string plain = Marshal(it, {});
  EXPECT_EQ(plain, "ID: \"abc\"\nfrom: \"a@b\"\ndata: \"x\"\n");
  it.require_tls = true;
  std::string flagged = Marshal(it, {});
  EXPECT_EQ(flagged, plain + "require_tls: true\n");
  auto back = Unmarshal(flagged);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE((*back)->require_tls);
  back = Unmarshal(plain);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE((*back)->require_tls);
}

TEST(ItemTest, EscapeTextRunsAndEdges) {
  EXPECT_EQ(EscapeText(""), "");
  EXPECT_EQ(EscapeText("plain text only"), "plain text only");
  EXPECT_EQ(EscapeText("\"start"), "\\\"start");
  EXPECT_EQ(EscapeText("end\\"), "end\\\\");
  EXPECT_EQ(EscapeText("a\nb\n"), "a\\nb\\n");
  EXPECT_EQ(EscapeText("\xc3\xb1x\xff"), "\xc3\xb1x\\xff");
  std::string big(100000, 'x');
  EXPECT_EQ(EscapeText(big + "\n"), big + "\\n");
}

TEST(ItemTest, RoundTrip) {
  Item it;
  it.id = "abc";
  it.from = "<>";
  it.to = {"a@b", "c@d"};
  std::string data;
  for (int i = 0; i < 256; i++) data += static_cast<char>(i);
  it.data = std::make_shared<const std::string>(data);
  it.created_at = std::chrono::system_clock::now();
  Recipient r;
  r.address = "a@b";
  r.original_address = "a@b";
  r.status = Recipient::Status::kSent;
  auto back = Unmarshal(Marshal(it, {r}));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ((*back)->id, "abc");
  EXPECT_EQ((*back)->from, "<>");
  EXPECT_EQ((*back)->to, it.to);
  EXPECT_EQ(*(*back)->data, data);
  EXPECT_EQ((*back)->created_at, it.created_at);
  ASSERT_EQ((*back)->rcpt.size(), 1u);
  EXPECT_EQ((*back)->rcpt[0].status, Recipient::Status::kSent);
}

TEST(ItemTest, ParsesWhatGoWrites) {
  // Two spaces after ':' (Go's randomised output), single quotes, octal
  // and \u escapes, comments, enum numbers, list syntax.
  auto it = Unmarshal(
      "# a comment\n"
      "ID:  \"mid1234\"\n"
      "from:  'x@y'\n"
      "To:  [\"a@testserver\", \"b@testserver\"]\n"
      "rcpt:  {\n  address:  \"a@testserver\"\n  type: 1\n"
      "  status:  FAILED\n}\n"
      "rcpt < address: \"b@testserver\" >\n"
      "data:  \"\\101\\u00f1 \" \"more\"\n"
      "created_at_ts:  {\n  seconds:  5\n}\n");
  ASSERT_TRUE(it.ok()) << it.status().message();
  EXPECT_EQ((*it)->id, "mid1234");
  EXPECT_EQ((*it)->from, "x@y");
  EXPECT_EQ((*it)->to.size(), 2u);
  EXPECT_EQ((*it)->rcpt[0].type, Recipient::Type::kPipe);
  EXPECT_EQ((*it)->rcpt[0].status, Recipient::Status::kFailed);
  EXPECT_EQ((*it)->rcpt[1].status, Recipient::Status::kPending);
  EXPECT_EQ(*(*it)->data, "A\xc3\xb1 more");
  EXPECT_EQ((*it)->created_at,
            std::chrono::system_clock::time_point(std::chrono::seconds(5)));
}

TEST(ItemTest, RejectsGarbage) {
  EXPECT_FALSE(Unmarshal("ID: \"x\"\nunknown_field: 3\n").ok());
  EXPECT_FALSE(Unmarshal("rcpt: {").ok());
}

// Every byte class the escaper treats apart, multi-byte runes of each
// length, invalid and cut sequences: what a piece boundary may split.
std::string TrickyText(size_t n, uint32_t seed) {
  static const std::vector<std::string> kBits = {"plain ascii text ",
                                                 "\n",
                                                 "\r\n",
                                                 "\"",
                                                 "\\",
                                                 "\t",
                                                 "\x01",
                                                 "\x7f",
                                                 "\xc2\x85",
                                                 "\xc3\xb1",
                                                 "\xe2\x82\xac",
                                                 "\xf0\x9f\x98\x80",
                                                 "\xff",
                                                 "\xe2\x82",
                                                 "\xc3",
                                                 "\xf0\x9f\x98"};
  std::mt19937 rng(seed);
  std::string out;
  while (out.size() < n) out += kBits[rng() % kBits.size()];
  return out;
}

TEST(ItemTest, TextEscaperMatchesEscapeTextWhateverThePieces) {
  for (uint32_t seed = 1; seed <= 20; seed++) {
    std::string text = TrickyText(5000, seed);
    std::mt19937 rng(seed);
    TextEscaper esc;
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      size_t n = std::min<size_t>(rng() % 7, text.size() - i);
      esc.Feed(std::string_view(text).substr(i, n), false, &out);
      i += n;
    }
    esc.Feed("", true, &out);
    ASSERT_EQ(out, EscapeText(text)) << "seed " << seed;
  }
}

TEST(ItemTest, SpooledItemMarshalsToTheSameBytes) {
  char tmpl[] = "/tmp/itemtestXXXXXX";
  std::string dir = mkdtemp(tmpl);
  // Larger than a few of the 64 KiB chunks the spool is read in, so
  // runes are cut at chunk boundaries too.
  std::string body = TrickyText(300 * 1024, 7);
  std::string head = "Received: from x\n\tby y\xc3";  // A rune cut here.
  Item whole;
  whole.id = "abc";
  whole.from = "a@b";
  whole.to = {"c@d"};
  whole.created_at =
      std::chrono::system_clock::time_point(std::chrono::seconds(1717700000));
  whole.data = std::make_shared<const std::string>(head + body);
  Recipient r;
  r.address = "c@d";
  r.original_address = "c@d";
  Item spooled;
  spooled.id = whole.id;
  spooled.from = whole.from;
  spooled.to = whole.to;
  spooled.created_at = whole.created_at;
  spooled.data = std::make_shared<const std::string>(head);
  auto sp = safeio::Spool::Create(dir, ".m:spool-");
  ASSERT_TRUE(sp.ok());
  ASSERT_TRUE((*sp)->Append(body).ok());
  spooled.spool = std::move(*sp);
  EXPECT_EQ(spooled.DataSize(), whole.DataSize());
  std::string streamed = MarshalHead(spooled, {r});
  size_t pieces = 0;
  ASSERT_TRUE(MarshalData(spooled, [&](std::string_view c) {
                pieces++;
                streamed.append(c);
                return Status::Ok();
              }).ok());
  streamed += MarshalTail(spooled);
  EXPECT_GT(pieces, 4u);  // Streamed, not built whole.
  EXPECT_EQ(streamed, Marshal(whole, {r}));
  EXPECT_EQ(Marshal(spooled, {r}), Marshal(whole, {r}));
  // And it reads back as the same message.
  auto back = Unmarshal(streamed);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*(*back)->data, head + body);
  EXPECT_EQ(**spooled.LoadData(), head + body);
  EXPECT_EQ(spooled.Prefix(10), (head + body).substr(0, 10));
  EXPECT_EQ(spooled.Prefix(100000), (head + body).substr(0, 100000));
  spooled.spool.reset();
  std::filesystem::remove_all(dir);
}

// Found by item_fuzz: numbers outside the enums load as what Marshal
// writes for them, so the item means the same after its next write.
TEST(ItemTest, UnknownEnumNumbersLoadAsEmailAndPending) {
  auto it = Unmarshal(
      "ID: \"x\"\nrcpt: { address: \"a@b\" type: 123456789 status: 7 }\n");
  ASSERT_TRUE(it.ok()) << it.status().message();
  ASSERT_EQ((*it)->rcpt.size(), 1u);
  EXPECT_EQ((*it)->rcpt[0].type, Recipient::Type::kEmail);
  EXPECT_EQ((*it)->rcpt[0].status, Recipient::Status::kPending);
  std::string out = Marshal(**it, (*it)->rcpt);
  auto again = Unmarshal(out);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Marshal(**again, (*again)->rcpt), out);
}

}  // namespace
}  // namespace chasquid::queue
