#include "dkim/dkim.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "base/strings.h"
#include "dkim/internal.h"
#include "dkim/message.h"
#include "testlib/testlib.h"

namespace chasquid::dkim {
namespace {

namespace fs = std::filesystem;

using testlib::FakeResolver;

Result<VerifyResult> Verify(dns::Resolver& r, std::string msg) {
  return testlib::Await(
      VerifyMessage(r, std::move(msg), nullptr, std::string()));
}

std::shared_ptr<const Signer> NewSigner(const char* alg, const char* domain,
                                        const char* selector) {
  EVP_PKEY* k = std::string(alg) == "RSA"
                    ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                    : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  return std::make_shared<Signer>(domain, selector, k);
}

// "DKIM-Signature: <value>" as a CRLF header (continuations get a TAB).
std::string SigHeader(const std::string& value) {
  std::string lf = SignatureHeaderLF(value);
  return ToCRLF(lf);
}

const char kMsg[] =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.net\r\n"
    "Subject: a rather long subject line that\r\n"
    " is folded\r\n"
    "Date: Mon, 4 Mar 2024 10:00:00 +0000\r\n"
    "Message-ID: <x@example.com>\r\n"
    "\r\n"
    "Hello  there \r\n"
    "\r\n";

TEST(DKIMTest, SignatureFormat) {
  auto s = NewSigner("ED25519", "example.com", "sel");
  auto v = s->Sign(kMsg, 1709494311);
  ASSERT_TRUE(v.ok()) << v.status().message();
  std::vector<std::string> lines = Split(*v, "\r\n");
  ASSERT_EQ(lines.size(), 6u) << *v;
  EXPECT_EQ(lines[0], "v=1; a=ed25519-sha256; c=relaxed/relaxed;");
  EXPECT_EQ(lines[1], "d=example.com; s=sel; t=1709494311;");
  EXPECT_EQ(
      lines[2],
      "h=from:subject:date:to:message-id:from:subject:date:to:cc:message-id;");
  EXPECT_TRUE(HasPrefix(lines[3], "bh=")) << lines[3];
  EXPECT_EQ(lines[4].size(), 72u);          // "b=" + 70.
  EXPECT_EQ(lines[5].size(), 2u + 18 + 1);  // "  " + 18 + ";".
  EXPECT_EQ(SignatureHeaderLF("a;\r\nb;"), "DKIM-Signature: a;\n\tb;\n");
}

TEST(DKIMTest, SignVerifyBothAlgorithms) {
  for (const char* alg : {"RSA", "ED25519"}) {
    auto s = NewSigner(alg, "example.com", "sel");
    auto v = s->Sign(kMsg, 1709494311);
    ASSERT_TRUE(v.ok());
    FakeResolver r;
    r.Add("sel._domainkey.example.com", "TXT", "unrelated");
    r.Add("sel._domainkey.example.com", "TXT", *DNSRecord(s->key()));
    std::string signed_msg = SigHeader(*v) + kMsg;
    auto res = Verify(r, signed_msg);
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(res->found, 1);
    EXPECT_EQ(res->valid, 1) << alg << ": " << res->results[0].error;
    EXPECT_TRUE(
        HasPrefix(AuthenticationResultsDKIM(*res), ";dkim=pass  header.b="));

    // A changed body: body hash mismatch, reported as "fail".
    std::string body_changed = signed_msg + "more\r\n";
    res = Verify(r, body_changed);
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(res->valid, 0);
    EXPECT_TRUE(HasPrefix(res->results[0].error, "body hash mismatch (got "));
    EXPECT_TRUE(HasPrefix(AuthenticationResultsDKIM(*res),
                          ";dkim=fail  reason=\"body hash mismatch"));

    // A changed header: verification failed.
    std::string hdr_changed = signed_msg;
    hdr_changed.replace(hdr_changed.find("bob@"), 4, "eve@");
    res = Verify(r, hdr_changed);
    EXPECT_EQ(res->results[0].error, "verification failed");

    // An added From: header is covered by over-signing.
    res = Verify(r, "From: mallory@evil\r\n" + signed_msg);
    EXPECT_EQ(res->results[0].error, "verification failed");
  }
}

// The message in internal (LF) form: the head up to and including the
// empty line, the body in pieces of `piece` bytes.
Result<VerifyResult> VerifyStream(dns::Resolver& r, const std::string& lf,
                                  size_t piece, int* reads = nullptr,
                                  Status fail = Status::Ok()) {
  size_t split = lf.find("\n\n");
  split = split == std::string::npos ? lf.size() : split + 2;
  std::string head = lf.substr(0, split), body = lf.substr(split);
  ChunkReader rest = [body, piece, reads, fail](const auto& fn) -> Status {
    if (reads) ++*reads;
    if (!fail.ok()) return fail;
    for (size_t i = 0; i < body.size(); i += piece) {
      Status s = fn(std::string_view(body).substr(i, piece));
      if (!s.ok()) return s;
    }
    return Status::Ok();
  };
  return testlib::Await(
      VerifyMessageStream(r, head, std::move(rest), nullptr, std::string()));
}

std::string ToLF(std::string crlf) {
  std::string out;
  for (size_t i = 0; i < crlf.size(); ++i) {
    if (crlf[i] == '\r' && i + 1 < crlf.size() && crlf[i + 1] == '\n') continue;
    out += crlf[i];
  }
  return out;
}

// A body that streams in pieces verifies as the whole message does, with
// every canonicalization and l=, and is read once for all signatures.
TEST(DKIMTest, VerifyStreamMatchesWhole) {
  auto s = NewSigner("RSA", "example.com", "sel");
  auto e = NewSigner("ED25519", "example.com", "ed");
  std::string body;
  for (int i = 0; i < 3000; ++i) {
    body += "line " + std::to_string(i) + " \t with  spaces \r\n";
    if (i % 7 == 0) body += "\r\n";
  }
  body += "\r\n\r\n";
  std::string msg = std::string(kMsg) + body;
  auto v1 = s->Sign(msg, 1709494311);
  auto v2 = e->Sign(msg, 1709494311);
  ASSERT_TRUE(v1.ok() && v2.ok());
  FakeResolver r;
  r.Add("sel._domainkey.example.com", "TXT", *DNSRecord(s->key()));
  r.Add("ed._domainkey.example.com", "TXT", *DNSRecord(e->key()));
  // Ours are relaxed/relaxed; a hand-made simple/simple one with l= (its
  // hash is only checked) and one that does not parse complete the set.
  std::string simple_body = SimpleBody(ParseMessage(msg)->body);
  std::string bh = Base64Encode(
      internal::Sha256(std::string_view(simple_body).substr(0, 1000)));
  std::string simple_sig =
      "DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=example.com;\r\n"
      " s=sel; h=From; l=1000; bh=" +
      bh + "; b=AAAA\r\n";
  std::string signed_msg = SigHeader(*v1) + SigHeader(*v2) + simple_sig +
                           "DKIM-Signature: nonsense\r\n" + msg;
  auto whole = Verify(r, signed_msg);
  ASSERT_TRUE(whole.ok());
  ASSERT_EQ(whole->found, 4);
  EXPECT_EQ(whole->valid, 2);
  EXPECT_EQ(whole->results[2].error, "verification failed");  // Hash good.
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, size_t{1} << 20}) {
    int reads = 0;
    for (const std::string& form : {signed_msg, ToLF(signed_msg)}) {
      auto streamed = VerifyStream(r, form, piece, &reads);
      ASSERT_TRUE(streamed.ok());
      EXPECT_EQ(AuthenticationResultsDKIM(*streamed),
                AuthenticationResultsDKIM(*whole))
          << "piece " << piece;
    }
    EXPECT_EQ(reads, 2);
  }
  // A changed body fails the same way.
  std::string changed = signed_msg + "more\r\n";
  EXPECT_EQ(AuthenticationResultsDKIM(*VerifyStream(r, changed, 100)),
            AuthenticationResultsDKIM(*Verify(r, changed)));

  // A read error is an error, not a result.
  auto failed = VerifyStream(r, signed_msg, 100, nullptr,
                             Status::Transient("pread: input/output error"));
  EXPECT_EQ(failed.status().message(), "pread: input/output error");

  // No signature: the body is not read.
  int reads = 0;
  auto none = VerifyStream(r, "From: a@b\n\nbody\n", 1, &reads);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->found, 0);
  EXPECT_EQ(reads, 0);
}

// Signing a streamed body gives the very signatures Sign gives for the
// whole message (both algorithms are deterministic), read once.
TEST(DKIMTest, SignStreamMatchesSign) {
  std::vector<std::shared_ptr<const Signer>> signers = {
      NewSigner("RSA", "example.com", "sel"),
      NewSigner("ED25519", "example.com", "ed")};
  std::string body;
  for (int i = 0; i < 2000; ++i) body += "x \t y " + std::to_string(i) + "\n";
  std::string lf = ToLF(kMsg) + body + "\n\n";
  size_t split = lf.find("\n\n") + 2;
  int reads = 0;
  ChunkReader rest = [&](const auto& fn) -> Status {
    ++reads;
    for (size_t i = split; i < lf.size(); i += 333) {
      if (Status s = fn(std::string_view(lf).substr(i, 333)); !s.ok()) {
        return s;
      }
    }
    return Status::Ok();
  };
  auto streamed = SignStream(signers, lf.substr(0, split), rest, 1709494311);
  ASSERT_TRUE(streamed.ok()) << streamed.status().message();
  ASSERT_EQ(streamed->size(), 2u);
  EXPECT_EQ(reads, 1);
  for (size_t i = 0; i < signers.size(); ++i) {
    EXPECT_EQ((*streamed)[i], *signers[i]->Sign(ToCRLF(lf), 1709494311));
  }
  ChunkReader failing = [](const auto&) -> Status {
    return Status::Transient("pread: input/output error");
  };
  EXPECT_EQ(
      SignStream(signers, lf.substr(0, split), failing, 1).status().message(),
      "pread: input/output error");
}

TEST(DKIMTest, VerifyResults) {
  FakeResolver r;
  auto res = Verify(r, "From: a@b\r\n\r\nbody\r\n");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->found, 0);
  EXPECT_EQ(AuthenticationResultsDKIM(*res), ";dkim=none");

  auto s = NewSigner("ED25519", "example.com", "sel");
  std::string msg = SigHeader(*s->Sign(kMsg, 1)) + kMsg;
  // No key: permerror with the resolver's text. Temporary: temperror.
  r.Fail("sel._domainkey.example.com",
         Status::NotFound("lookup sel._domainkey.example.com: no such host"));
  res = Verify(r, msg);
  EXPECT_EQ(res->results[0].state, State::kPermFail);
  EXPECT_EQ(AuthenticationResultsDKIM(*res),
            ";dkim=permerror  reason=\"lookup sel._domainkey.example.com: no "
            "such host\"\r\n  header.b=" +
                res->results[0].b.substr(0, 12) + "  header.d=example.com");
  r.all_transient = true;
  res = Verify(r, msg);
  EXPECT_EQ(res->results[0].state, State::kTempFail);
  EXPECT_TRUE(HasPrefix(AuthenticationResultsDKIM(*res), ";dkim=temperror  "));

  res = Verify(
      r, "DKIM-Signature: v=1; a=rsa-sha256; d=x.org\r\n" + std::string(kMsg));
  EXPECT_EQ(AuthenticationResultsDKIM(*res),
            ";dkim=permerror  reason=\"missing required tag: b=\"\r\n"
            "  header.d=x.org");

  // Only the first 5 signatures are examined.
  std::string many;
  for (int i = 0; i < 7; ++i) many += "DKIM-Signature: v=1\r\n";
  res = Verify(r, many + kMsg);
  EXPECT_EQ(res->found, 5);
  EXPECT_FALSE(Verify(r, " bad\r\n\r\n").ok());
}

TEST(DKIMTest, AuthenticationResultsHeader) {
  VerifyResult vr;
  vr.found = vr.valid = 1;
  vr.results.push_back(
      {State::kSuccess, "", "srv-a", "s1", "JkROrF9he5gqMhWcU47h"});
  EXPECT_EQ(
      AuthenticationResultsHeaderLF("srv-b", "none (no DNS record found)", vr),
      "Authentication-Results: srv-b\n\t;spf=none (no DNS record "
      "found)\n\t;dkim=pass  header.b=JkROrF9he5gq  header.d=srv-a\n");
  EXPECT_EQ(AuthenticationResultsHeaderLF("h", std::nullopt, std::nullopt), "");
  EXPECT_EQ(
      AuthenticationResultsHeaderLF("h", "pass (matched mx)", std::nullopt),
      "Authentication-Results: h\n\t;spf=pass (matched mx)\n");
}

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dkimtest." + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content) {
    std::string p = (dir_ / name).string();
    std::ofstream(p) << content;
    return p;
  }
  std::string WriteKey(const std::string& name, EVP_PKEY* k) {
    std::string p = (dir_ / name).string();
    FILE* f = fopen(p.c_str(), "w");
    PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr);
    fclose(f);
    EVP_PKEY_free(k);
    return p;
  }
  fs::path dir_;
};

TEST_F(KeysTest, LoadErrors) {
  auto err = [](const std::string& p) {
    return LoadSigner("d", "s", p).status().message();
  };
  EXPECT_EQ(
      err((dir_ / "missing").string()),
      "open " + (dir_ / "missing").string() + ": no such file or directory");
  EXPECT_EQ(err(Write("a.pem", "junk")), "error decoding PEM block");
  EXPECT_EQ(err(Write("b.pem",
                      "-----BEGIN RSA PRIVATE KEY-----\nYWJj\n"
                      "-----END RSA PRIVATE KEY-----\n")),
            "unsupported block type: RSA PRIVATE KEY");
  EXPECT_EQ(err(Write("c.pem",
                      "-----BEGIN PRIVATE KEY-----\nYWJj\n"
                      "-----END PRIVATE KEY-----\n")),
            "x509: failed to parse private key");
  EXPECT_EQ(err(WriteKey("d.pem",
                         EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"))),
            "unsupported key type: *ecdsa.PrivateKey");
}

TEST_F(KeysTest, DomainDiscovery) {
  WriteKey("dkim:b.pem", EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  WriteKey("dkim:a.pem",
           EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024}));
  Write("users", "");
  auto s = LoadDomainSigners("example.com", dir_.string());
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0]->selector(), "a");
  EXPECT_EQ((*s)[0]->algorithm(), "rsa-sha256");
  EXPECT_EQ((*s)[1]->selector(), "b");
  EXPECT_EQ((*s)[1]->algorithm(), "ed25519-sha256");
  EXPECT_EQ((*s)[1]->domain(), "example.com");
  auto none = LoadDomainSigners("x", (dir_ / "nodir").string());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace chasquid::dkim
