#include "checks/checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "metrics/metrics.h"
#include "nettrace/trace.h"
#include "safeio/spool.h"
#include "testlib/testlib.h"

namespace chasquid::checks {
namespace {

using testlib::Await;
using testlib::FakeResolver;

int64_t Count(const char* name) {
  return metrics::NewCounter(std::string("chasquid/smtpIn/") + name, "")
      ->Value();
}

std::string TempDir() {
  char tmpl[] = "/tmp/policy_test.XXXXXX";
  const char* d = mkdtemp(tmpl);
  EXPECT_NE(d, nullptr);
  return d ? d : "";
}

// An Ed25519 key as domains/<d>/dkim:<selector>.pem; returns its TXT.
std::string WriteKey(const std::string& dir, const std::string& selector) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  std::string path = dir + "/dkim:" + selector + ".pem";
  FILE* f = fopen(path.c_str(), "w");
  EXPECT_NE(f, nullptr);
  EXPECT_EQ(
      PEM_write_PKCS8PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr),
      1);
  fclose(f);
  auto txt = dkim::DNSRecord(key);
  EVP_PKEY_free(key);
  return txt.ok() ? *txt : "";
}

TEST(CheckerTest, SpfEvaluatesTheWholeSender) {
  // %{l} is the local part: the seam must pass the address, not only its
  // domain (chasquid calls check_host with the MAIL FROM as given).
  FakeResolver r;
  r.Add("d.example", "TXT", "v=spf1 exists:%{l}.allow.example -all");
  r.Add("alice.allow.example", "A", "127.0.0.2");
  Checker p(&r);
  nettrace::Trace tr("SMTP.Conn", "test");
  auto ok = Await(p.Spf("192.0.2.1", "alice@d.example", &tr));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result, "pass");
  EXPECT_EQ(ok->explanation, "matched exists");
  auto no = Await(p.Spf("192.0.2.1", "bob@d.example", nullptr));
  ASSERT_TRUE(no);
  EXPECT_EQ(no->result, "fail");
  EXPECT_EQ(no->explanation, "matched all");
  auto none = Await(p.Spf("192.0.2.1", "x@nothing.example", &tr));
  EXPECT_EQ(none->result, "none");
  EXPECT_EQ(none->explanation, "no DNS record found");
}

TEST(CheckerTest, SignThenVerify) {
  std::string dir = TempDir();
  std::string txt = WriteKey(dir, "sel");
  ASSERT_FALSE(txt.empty());
  FakeResolver r;
  r.Add("sel._domainkey.example.com", "TXT", txt);
  Checker p(&r);
  auto n = p.LoadDKIM("example.com", dir);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 1);

  std::string msg = "From: a@example.com\nSubject: hi\n\nbody\n";
  std::string data = msg;
  auto signed_n = Await(p.DkimSign("other.example", &data, nullptr));
  ASSERT_TRUE(signed_n.ok());
  EXPECT_EQ(*signed_n, 0);
  EXPECT_EQ(data, msg);

  nettrace::Trace tr("SMTP.Conn", "test");
  signed_n = Await(p.DkimSign("Example.COM", &data, &tr));
  ASSERT_TRUE(signed_n.ok()) << signed_n.status().message();
  EXPECT_EQ(*signed_n, 1);
  EXPECT_EQ(data.rfind("DKIM-Signature: v=1; a=ed25519-sha256; "
                       "c=relaxed/relaxed;\n\td=example.com; s=sel; t=",
                       0),
            0u)
      << data;
  EXPECT_EQ(data.find('\r'), std::string::npos);

  int64_t found = Count("dkimVerifyFound");
  int64_t valid = Count("dkimVerifyValid");
  auto ar = Await(p.DkimVerify(std::make_shared<const std::string>(data), &tr));
  ASSERT_TRUE(ar);
  EXPECT_EQ(ar->rfind(";dkim=pass  header.b=", 0), 0u) << *ar;
  EXPECT_NE(ar->find("  header.d=example.com\r\n"), std::string::npos);
  EXPECT_EQ(Count("dkimVerifyFound"), found + 1);
  EXPECT_EQ(Count("dkimVerifyValid"), valid + 1);

  // A changed body: found, not valid.
  std::string changed = data.substr(0, data.size() - 5) + "BODY\n";
  ar = Await(
      p.DkimVerify(std::make_shared<const std::string>(changed), nullptr));
  ASSERT_TRUE(ar);
  EXPECT_EQ(ar->rfind(";dkim=fail  reason=\"body hash mismatch (got ", 0), 0u)
      << *ar;
  EXPECT_EQ(Count("dkimVerifyFound"), found + 2);
  EXPECT_EQ(Count("dkimVerifyValid"), valid + 1);

  unlink((dir + "/dkim:sel.pem").c_str());
  rmdir(dir.c_str());
}

TEST(CheckerTest, VerifyNoneAndErrors) {
  FakeResolver r;
  Checker p(&r);
  int64_t not_found = Count("dkimVerifyNotFound");
  int64_t errors = Count("dkimVerifyErrors");
  auto ar = Await(p.DkimVerify(
      std::make_shared<const std::string>("Subject: x\n\nbody\n"), nullptr));
  ASSERT_TRUE(ar);
  EXPECT_EQ(*ar, ";dkim=none\r\n");
  EXPECT_EQ(Count("dkimVerifyNotFound"), not_found + 1);

  ar = Await(p.DkimVerify(
      std::make_shared<const std::string>("Subject: x\nNo colon\n\nbody\n"),
      nullptr));
  EXPECT_FALSE(ar);
  EXPECT_EQ(Count("dkimVerifyErrors"), errors + 1);

  // Signing a message DKIM cannot parse is an error (451 upstream).
  std::string dir = TempDir();
  WriteKey(dir, "s");
  ASSERT_TRUE(p.LoadDKIM("example.com", dir).ok());
  std::string data = "Subject: x\nNo colon\n\nbody\n";
  auto n = Await(p.DkimSign("example.com", &data, nullptr));
  EXPECT_FALSE(n.ok());
  unlink((dir + "/dkim:s.pem").c_str());
  rmdir(dir.c_str());
}

TEST(CheckerTest, IncomingSecurityLevel) {
  FakeResolver r;
  Checker p(&r);
  // Without a DB every check passes.
  EXPECT_TRUE(Await(p.IncomingSecLevelOk("d.example", false, nullptr)));

  std::string dir = TempDir();
  auto db = domaininfo::DB::Open(dir + "/domaininfo");
  ASSERT_TRUE(db.ok());
  net::thread_pool pool(1);
  p.SetDomainInfo(db->get(), &pool);
  nettrace::Trace tr("SMTP.Conn", "test");
  EXPECT_TRUE(Await(p.IncomingSecLevelOk("d.example", true, &tr)));
  EXPECT_FALSE(Await(p.IncomingSecLevelOk("d.example", false, &tr)));
  EXPECT_TRUE(Await(p.IncomingSecLevelOk("d.example", true, &tr)));
  EXPECT_TRUE(Await(p.IncomingSecLevelOk("other.example", false, &tr)));
  pool.join();
  std::string rm = "rm -rf " + dir;
  EXPECT_EQ(system(rm.c_str()), 0);
}

TEST(CheckerTest, StreamedDkimReadsRunOnTheBlockingPool) {
  // A spooled body is read from its file while it is signed or verified:
  // those reads (and the hashing) must run on the blocking pool, never on
  // the network thread that awaits them (here, the one Await runs on).
  std::string dir = TempDir();
  std::string txt = WriteKey(dir, "sel");
  ASSERT_FALSE(txt.empty());
  FakeResolver r;
  r.Add("sel._domainkey.example.com", "TXT", txt);
  auto db = domaininfo::DB::Open(dir + "/domaininfo");
  ASSERT_TRUE(db.ok());
  net::thread_pool pool(1);
  std::promise<std::thread::id> id;
  net::post(pool, [&id] { id.set_value(std::this_thread::get_id()); });
  const std::thread::id pool_thread = id.get_future().get();
  const std::thread::id this_thread = std::this_thread::get_id();

  // A body on disk, several 64 KiB pieces.
  auto sp = safeio::Spool::Create(dir, ".m:spool-");
  ASSERT_TRUE(sp.ok());
  std::string body;
  for (int i = 0; body.size() < 300 * 1024; i++) {
    body += "line " + std::to_string(i) + " of the body\n";
  }
  ASSERT_TRUE((*sp)->Append(body).ok());
  ASSERT_FALSE((*sp)->in_memory());
  std::shared_ptr<const safeio::Spool> spool = std::move(*sp);
  std::mutex mu;
  std::multiset<std::thread::id> readers;
  auto reader = [spool, &mu, &readers](const auto& fn) -> Status {
    std::string piece;
    for (uint64_t off = 0; off < spool->size(); off += piece.size()) {
      {
        std::lock_guard<std::mutex> l(mu);
        readers.insert(std::this_thread::get_id());
      }
      if (Status s = spool->ReadAt(off, 64 * 1024, &piece); !s.ok()) return s;
      if (Status s = fn(piece); !s.ok()) return s;
    }
    return Status::Ok();
  };
  auto only = [&readers](std::thread::id t) {
    return !readers.empty() && readers.count(t) == readers.size();
  };
  std::string head = "From: a@example.com\nSubject: big\n\n";

  // Without a pool (SetDomainInfo not called) they run where awaited:
  // the check below can tell the threads apart.
  Checker plain(&r);
  ASSERT_TRUE(plain.LoadDKIM("example.com", dir).ok());
  auto added =
      Await(plain.DkimSignStream("example.com", head, reader, nullptr));
  ASSERT_TRUE(added.ok()) << added.status().message();
  EXPECT_TRUE(only(this_thread));

  Checker p(&r);
  ASSERT_TRUE(p.LoadDKIM("example.com", dir).ok());
  p.SetDomainInfo(db->get(), &pool);
  nettrace::Trace tr("SMTP.Conn", "test");
  readers.clear();
  added = Await(p.DkimSignStream("example.com", head, reader, &tr));
  ASSERT_TRUE(added.ok()) << added.status().message();
  EXPECT_EQ(added->rfind("DKIM-Signature: ", 0), 0u) << *added;
  EXPECT_TRUE(only(pool_thread)) << readers.size() << " reads";
  EXPECT_GE(readers.size(), 5u);

  // The signed message verifies, its body read on the pool too; a
  // changed body does not.
  readers.clear();
  int64_t valid = Count("dkimVerifyValid");
  auto ar = Await(p.DkimVerifyStream(*added + head, reader, true, &tr));
  ASSERT_TRUE(ar);
  EXPECT_EQ(ar->rfind(";dkim=pass  header.b=", 0), 0u) << *ar;
  EXPECT_EQ(Count("dkimVerifyValid"), valid + 1);
  EXPECT_TRUE(only(pool_thread)) << readers.size() << " reads";
  EXPECT_GE(readers.size(), 5u);
  ar = Await(p.DkimVerifyStream(*added + "Subject: changed\n\n", reader, true,
                                nullptr));
  ASSERT_TRUE(ar);
  EXPECT_EQ(ar->rfind(";dkim=fail", 0), 0u) << *ar;

  // A body in memory (a small message) is hashed where it is: a hop to
  // the pool and back would cost more than the hashing.
  readers.clear();
  valid = Count("dkimVerifyValid");
  ar = Await(p.DkimVerifyStream(*added + head, reader, false, &tr));
  ASSERT_TRUE(ar);
  EXPECT_EQ(ar->rfind(";dkim=pass  header.b=", 0), 0u) << *ar;
  EXPECT_EQ(Count("dkimVerifyValid"), valid + 1);
  EXPECT_TRUE(only(this_thread)) << readers.size() << " reads";

  pool.join();
  spool.reset();
  std::string rm = "rm -rf " + dir;
  EXPECT_EQ(system(rm.c_str()), 0);
}

}  // namespace
}  // namespace chasquid::checks
