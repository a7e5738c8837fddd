#include "courier/requiretls.h"

#include <gtest/gtest.h>

namespace chasquid::courier {
namespace {

TEST(RequireTlsTest, TlsRequiredNoHeader) {
  EXPECT_TRUE(HasTlsRequiredNo("Subject: x\nTLS-Required: No\n\nbody\n"));
  EXPECT_TRUE(HasTlsRequiredNo("tls-required:   no  \r\n\r\n"));
  EXPECT_TRUE(HasTlsRequiredNo("TLS-Required:\n No\n\n"));  // Folded.
  EXPECT_FALSE(HasTlsRequiredNo("TLS-Required: Yes\n\n"));
  EXPECT_FALSE(HasTlsRequiredNo("X-TLS-Required: No\n\n"));
  // Only the header block counts.
  EXPECT_FALSE(HasTlsRequiredNo("Subject: x\n\nTLS-Required: No\n"));
}

TEST(RequireTlsTest, BounceIs5730AndPermanent) {
  Status s = RequireTlsBounce("why");
  EXPECT_TRUE(s.permanent());
  EXPECT_EQ(s.message(), "5.7.30 REQUIRETLS support required (why)");
}

TEST(RequireTlsTest, TlsOutcomes) {
  sts::Policy p;
  p.version = "STSv1";
  p.mode = "enforce";
  p.mxs = {"mx.example"};
  p.max_age = std::chrono::hours(1);
  auto r = TlsOutcome("d.example", "mx.example", p, false, nullptr, false);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.result, tlsrpt::ResultType::kStarttlsNotSupported);
  EXPECT_EQ(r.policy_type, tlsrpt::PolicyType::kSts);
  EXPECT_EQ(r.policy_strings,
            (std::vector<std::string>{"version: STSv1", "mode: enforce",
                                      "mx: mx.example", "max_age: 3600"}));
  r = TlsOutcome("d.example", "mx.example", p, true, nullptr, false);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.result, tlsrpt::ResultType::kValidationFailure);
  // Without a policy, plain text is a success: nothing was promised.
  r = TlsOutcome("d.example", "mx.example", std::nullopt, false, nullptr,
                 false);
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.policy_type, tlsrpt::PolicyType::kNoPolicyFound);
  // A "none" policy is no policy.
  p.mode = "none";
  r = TlsOutcome("d.example", "mx.example", p, false, nullptr, false);
  EXPECT_EQ(r.policy_type, tlsrpt::PolicyType::kNoPolicyFound);
}

}  // namespace
}  // namespace chasquid::courier
