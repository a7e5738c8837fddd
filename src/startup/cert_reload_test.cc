#include "startup/cert_reload.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>

#include "metrics/metrics.h"

namespace chasquid::startup {
namespace {

class CertReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cert_reload_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    ASSERT_EQ(system(("rm -rf '" + dir_ + "'").c_str()), 0);
  }
  void Sh(const std::string& cmd) { ASSERT_EQ(system(cmd.c_str()), 0) << cmd; }
  // A pair in <dir_>/<d>; `days` sets its expiry.
  void MakeCert(const std::string& d, int days = 2) {
    std::string p = dir_ + "/" + d;
    Sh("mkdir -p " + p +
       " && openssl req -x509 -newkey ec -pkeyopt "
       "ec_paramgen_curve:P-256 -nodes -days " +
       std::to_string(days) + " -subj /CN=" + d.substr(d.rfind('/') + 1) +
       " -keyout " + p + "/privkey.pem -out " + p +
       "/fullchain.pem 2>/dev/null");
  }
  CertPair Pair(const std::string& name) {
    std::string p = dir_ + "/certs/" + name;
    return {name, p + "/fullchain.pem", p + "/privkey.pem"};
  }
  static int64_t Reloads(const std::string& result) {
    return metrics::NewMap("chasquid/tls/certReloads", "", "")->Value(result);
  }
  static int64_t NotAfter(const std::string& cert) {
    return metrics::NewMap("chasquid/tls/certNotAfter", "", "")->Value(cert);
  }
  std::string dir_;
};

TEST_F(CertReloadTest, ReloadsChangedPairsOnly) {
  MakeCert("certs/a");
  smtpsrv::TlsStore store;
  CertReloader r(dir_ + "/certs", &store);
  ASSERT_TRUE(r.Init({Pair("a")}).ok());
  auto first = store.Get();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->size(), 1u);
  int64_t a_expiry = NotAfter("a");
  EXPECT_GT(a_expiry, time(nullptr));

  // Nothing changed: the same snapshot.
  int64_t ok = Reloads("ok"), err = Reloads("error");
  r.Check();
  EXPECT_EQ(store.Get(), first);
  EXPECT_EQ(Reloads("ok"), ok);

  // A renewal (new files, new inodes): a new snapshot, a later expiry.
  MakeCert("new", 40);
  Sh("mv " + dir_ + "/new/fullchain.pem " + dir_ + "/new/privkey.pem " + dir_ +
     "/certs/a/");
  r.Check();
  auto second = store.Get();
  EXPECT_NE(second, first);
  EXPECT_EQ(Reloads("ok"), ok + 1);
  EXPECT_GT(NotAfter("a"), a_expiry + 30 * 86400);

  // A broken key: refused once, the renewed pair keeps serving.
  Sh("echo garbage > " + dir_ + "/certs/a/privkey.pem");
  r.Check();
  r.Check();
  EXPECT_EQ(store.Get(), second);
  EXPECT_EQ(Reloads("error"), err + 1);

  // A new directory: served beside the old one.
  MakeCert("certs/b");
  r.Check();
  ASSERT_NE(store.Get(), second);
  EXPECT_EQ(store.Get()->size(), 2u);
  EXPECT_GT(NotAfter("b"), 0);

  // certs/ unreadable: the old pairs keep serving, reported once.
  Sh("mv " + dir_ + "/certs " + dir_ + "/certs.off");
  err = Reloads("error");
  auto before = store.Get();
  r.Check();
  r.Check();
  EXPECT_EQ(store.Get(), before);
  EXPECT_EQ(Reloads("error"), err + 1);
  Sh("mv " + dir_ + "/certs.off " + dir_ + "/certs");
  r.Check();
  EXPECT_EQ(store.Get(), before);

  // Removed: no longer served, its expiry gone.
  Sh("rm -r " + dir_ + "/certs/b");
  r.Check();
  EXPECT_EQ(store.Get()->size(), 1u);
  EXPECT_EQ(NotAfter("b"), 0);
  EXPECT_EQ(metrics::NewMap("chasquid/tls/certNotAfter", "", "")
                ->Snapshot()
                .count("b"),
            0u);
}

}  // namespace
}  // namespace chasquid::startup
