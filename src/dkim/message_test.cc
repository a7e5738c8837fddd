#include "dkim/message.h"

#include <gtest/gtest.h>

namespace chasquid::dkim {
namespace {

// RFC 6376 §3.4.5.
TEST(CanonTest, RFCExample) {
  auto m =
      ParseMessage("A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n");
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->headers.size(), 2u);
  EXPECT_EQ(RelaxedHeader(m->headers[0].name, m->headers[0].value), "a:X");
  EXPECT_EQ(RelaxedHeader(m->headers[1].name, m->headers[1].value), "b:Y Z");
  EXPECT_EQ(SimpleHeader(m->headers[1]), "B : Y\t\r\n\tZ  ");
  EXPECT_EQ(RelaxedBody(m->body), " C\r\nD E\r\n");
  EXPECT_EQ(SimpleBody(m->body), " C \r\nD \t E\r\n");
}

TEST(CanonTest, Bodies) {
  EXPECT_EQ(RelaxedBody(""), "");
  EXPECT_EQ(RelaxedBody("\r\n\r\n"), "");  // RFC, not chasquid's "\r\n".
  EXPECT_EQ(RelaxedBody("x"), "x\r\n");
  EXPECT_EQ(SimpleBody(""), "\r\n");
  EXPECT_EQ(SimpleBody("x\r\n\r\n"), "x\r\n");
}

// The streaming canonicalizer gives what the whole-body functions give,
// for every way of cutting the body in two and in single bytes.
TEST(CanonTest, StreamingMatchesWhole) {
  const char* bodies[] = {
      "",
      "\r\n",
      "\r\n\r\n",
      "x",
      "x\r\n\r\n",
      " C \r\nD \t E\r\n\r\n\r\n",
      "a \r",
      "a \r\r\n",
      "\r",
      " \t \r\n \r\n",
      "x\r\n \r\ny  \r\n\t\r\n",
      "\ra\rb\r\r\n",
      "a\r\n\r\n\r\nb",
  };
  for (const char* b : bodies) {
    std::string body = b;
    for (Canon c : {Canon::kRelaxed, Canon::kSimple}) {
      std::string want =
          c == Canon::kRelaxed ? RelaxedBody(body) : SimpleBody(body);
      for (size_t cut = 0; cut <= body.size(); ++cut) {
        std::string got;
        BodyCanonicalizer bc(c, [&](std::string_view p) { got += p; });
        bc.Write(std::string_view(body).substr(0, cut));
        bc.Write(std::string_view(body).substr(cut));
        bc.Finish();
        EXPECT_EQ(got, want)
            << "body " << testing::PrintToString(body) << " cut at " << cut;
      }
      std::string got;
      BodyCanonicalizer bc(c, [&](std::string_view p) { got += p; });
      for (char ch : body) bc.Write(std::string_view(&ch, 1));
      bc.Finish();
      EXPECT_EQ(got, want) << "body " << testing::PrintToString(body);
    }
  }
}

// A long run of empty lines is held as a count, never as bytes: the sink
// gets pieces of at most 64 KiB.
TEST(CanonTest, StreamingSinkPiecesAreBounded) {
  std::string body = "a\r\n";
  for (int i = 0; i < 100000; ++i) body += "\r\n";
  body += "b\r\n";
  size_t largest = 0, total = 0;
  BodyCanonicalizer bc(Canon::kRelaxed, [&](std::string_view p) {
    largest = std::max(largest, p.size());
    total += p.size();
  });
  bc.Write(body);
  bc.Finish();
  EXPECT_EQ(total, RelaxedBody(body).size());
  EXPECT_LE(largest, 64u * 1024 + 2);
}

TEST(MessageTest, ParseErrors) {
  EXPECT_EQ(ParseMessage(" x: y\r\n\r\n").status().message(),
            "invalid header: bad continuation");
  EXPECT_EQ(ParseMessage("xy\r\n\r\n").status().message(),
            "invalid header: no colon");
  auto m = ParseMessage("H: v\r\n\r\nbody\r\n");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->body, "body\r\n");
  EXPECT_EQ(ParseMessage("H: v\r\n")->body, "");
  EXPECT_EQ(ToCRLF("a\nb\r\nc\n"), "a\r\nb\r\nc\r\n");
}

TEST(Base64Test, RoundTripAndErrors) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\xff\x00\x10"}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(Base64Decode("ab$d").status().message(),
            "illegal base64 data at input byte 2");
  EXPECT_FALSE(Base64Decode("abc").ok());
  EXPECT_FALSE(Base64Decode("ab==cd==").ok());
}

TEST(TagsTest, Parse) {
  auto t = ParseTags(" a = 1 ;b=x\r\n\ty; c=;");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)["a"], "1");
  EXPECT_EQ((*t)["b"], "x\r\n\ty");
  EXPECT_EQ((*t)["c"], "");
  EXPECT_EQ(ParseTags("a=1; b").status().message(), "invalid tag: missing '='");
  EXPECT_EQ(ParseTags("=1").status().message(),
            "invalid tag: missing tag name");
  EXPECT_EQ(ParseTags("a=1; a=2").status().message(),
            "invalid tag: duplicate tag");
}

TEST(SignatureTest, ValidationErrors) {
  const std::string ok =
      "v=1; a=rsa-sha256; d=example.com; s=s; h=From:To; bh=YWJj; b=ZGVm";
  EXPECT_TRUE(ParseSignature(ok).ok());
  auto err = [](const std::string& v) {
    return ParseSignature(v).status().message();
  };
  EXPECT_EQ(err("v=2; a=rsa-sha256"), "invalid version");
  EXPECT_EQ(err("v=1; a=rsa"), "invalid a= tag");
  EXPECT_EQ(err("v=1; a=dsa-sha256"), "unsupported key type: dsa-sha256");
  EXPECT_EQ(err("v=1; a=rsa-sha1"), "unsupported hash: rsa-sha1");
  EXPECT_EQ(err("v=1; a=rsa-sha256; b=a$"),
            "invalid signature: failed to decode b: illegal base64 data at "
            "input byte 1");
  EXPECT_EQ(err(ok + "; c=relaxed/foo"),
            "invalid signature: failed to parse c: body: unknown "
            "canonicalization: foo");
  EXPECT_EQ(err(ok + "; q=http"),
            "invalid signature: no dns/txt query method in q");
  EXPECT_EQ(err(ok + "; t=-5"),
            "invalid signature: failed to parse t: negative timestamp");
  EXPECT_EQ(err("v=1; a=rsa-sha256; d=e; s=s; h=from; bh=YWJj; b="),
            "missing required tag: b=");
  EXPECT_EQ(err("v=1; a=rsa-sha256; d=e; s=s; h=to; bh=YWJj; b=YWJj"),
            "invalid tag: h= does not contain 'from'");
  EXPECT_EQ(err(ok + "; i=x@other.com"),
            "invalid tag: i= is not a subdomain of d=");
  EXPECT_TRUE(ParseSignature(ok + "; i=x@sub.example.com").ok());
}

TEST(KeyRecordTest, Parse) {
  auto k = ParseKeyRecord(
      "v=DKIM1; k=ed25519; t=s:y; "
      "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->key_type, "ed25519");
  EXPECT_TRUE(k->strict);
  EXPECT_EQ(k->p.size(), 32u);
  EXPECT_FALSE(ParseKeyRecord("v=DKIM2; p=YWJj").ok());
  EXPECT_FALSE(ParseKeyRecord("k=dsa; p=YWJj").ok());
  EXPECT_FALSE(ParseKeyRecord("v=DKIM1; p=").ok());  // Revoked.
}

TEST(RemoveBTest, OnlyTheBTag) {
  EXPECT_EQ(RemoveBValue(" a=1; bh=xyz; b=abc\r\n\t def; c=2"),
            " a=1; bh=xyz; b=; c=2");
  EXPECT_EQ(RemoveBValue("b =abc"), "b =");
}

}  // namespace
}  // namespace chasquid::dkim
