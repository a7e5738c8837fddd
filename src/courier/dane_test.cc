// What a TLSA answer asks of a delivery (RFC 7672 §2.2, §3.1).
#include <gtest/gtest.h>

#include "courier/dane.h"

namespace chasquid::courier {
namespace {

dns::TLSA Rec(int u, int s, int m, size_t len) {
  return dns::TLSA{static_cast<uint8_t>(u), static_cast<uint8_t>(s),
                   static_cast<uint8_t>(m), std::string(len, 'x')};
}

TEST(Dane, UsableForSmtp) {
  EXPECT_TRUE(UsableForSmtp(Rec(3, 1, 1, 32)));
  EXPECT_TRUE(UsableForSmtp(Rec(3, 0, 2, 64)));
  EXPECT_TRUE(UsableForSmtp(Rec(2, 0, 0, 300)));
  EXPECT_TRUE(UsableForSmtp(Rec(2, 1, 1, 32)));
  // PKIX-TA and PKIX-EE are not for SMTP (§3.1.3).
  EXPECT_FALSE(UsableForSmtp(Rec(0, 0, 1, 32)));
  EXPECT_FALSE(UsableForSmtp(Rec(1, 1, 1, 32)));
  EXPECT_FALSE(UsableForSmtp(Rec(4, 1, 1, 32)));
  EXPECT_FALSE(UsableForSmtp(Rec(3, 2, 1, 32)));
  EXPECT_FALSE(UsableForSmtp(Rec(3, 1, 3, 32)));
  // Digests of the wrong length, and empty data.
  EXPECT_FALSE(UsableForSmtp(Rec(3, 1, 1, 31)));
  EXPECT_FALSE(UsableForSmtp(Rec(3, 1, 2, 32)));
  EXPECT_FALSE(UsableForSmtp(Rec(3, 1, 0, 0)));
}

TEST(Dane, PolicyFrom) {
  dns::TLSAAnswer a;
  a.kind = dns::TLSAAnswer::Kind::kInsecure;
  a.records = {Rec(3, 1, 1, 32)};  // Not believed.
  DanePolicy p = PolicyFrom(a);
  EXPECT_EQ(p.lookup, DaneResult::kInsecure);
  EXPECT_FALSE(p.RequiresTLS());
  EXPECT_FALSE(p.Defers());

  a.kind = dns::TLSAAnswer::Kind::kSecure;
  a.records = {Rec(1, 1, 1, 32), Rec(3, 1, 1, 32), Rec(2, 0, 1, 32)};
  p = PolicyFrom(a);
  EXPECT_EQ(p.lookup, DaneResult::kVerified);
  EXPECT_EQ(p.usable.size(), 2u);
  EXPECT_TRUE(p.RequiresTLS());

  a.records = {Rec(1, 1, 1, 32)};
  p = PolicyFrom(a);
  EXPECT_EQ(p.lookup, DaneResult::kUnusable);
  EXPECT_TRUE(p.RequiresTLS());
  EXPECT_TRUE(p.usable.empty());

  a.records.clear();
  EXPECT_EQ(PolicyFrom(a).lookup, DaneResult::kNoRecords);

  a.kind = dns::TLSAAnswer::Kind::kBogus;
  a.error = "bad";
  p = PolicyFrom(a);
  EXPECT_EQ(p.lookup, DaneResult::kBogus);
  EXPECT_TRUE(p.Defers());
  EXPECT_EQ(p.error, "bad");

  a.kind = dns::TLSAAnswer::Kind::kError;
  EXPECT_EQ(PolicyFrom(a).lookup, DaneResult::kLookupError);
  EXPECT_TRUE(PolicyFrom(a).Defers());
}

TEST(Dane, ResultNames) {
  EXPECT_STREQ(DaneResultName(DaneResult::kVerified), "verified");
  EXPECT_STREQ(DaneResultName(DaneResult::kMismatch), "mismatch");
  EXPECT_STREQ(DaneResultName(DaneResult::kInsecure), "insecure");
  EXPECT_STREQ(DaneResultName(DaneResult::kBogus), "bogus");
  EXPECT_STREQ(DaneResultName(DaneResult::kLookupError), "lookuperror");
  EXPECT_STREQ(DaneResultName(DaneResult::kNoRecords), "none");
  EXPECT_STREQ(DaneResultName(DaneResult::kNoStartTLS), "nostarttls");
  EXPECT_STREQ(DaneResultName(DaneResult::kUnusable), "unusable");
}

}  // namespace
}  // namespace chasquid::courier
