#include "courier/requiretls.h"

#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>

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

TEST(RequireTlsTest, DaneOutcomes) {
  DanePolicy d;
  d.lookup = DaneResult::kVerified;
  d.records = {dns::TLSA{3, 1, 1, std::string(32, '\xab')},
               dns::TLSA{0, 0, 1, std::string("\x01\x02", 2)}};
  auto r = DaneOutcome("d.example", "mx.example", d, true,
                       tlsrpt::ResultType::kValidationFailure, "ignored");
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.policy_type, tlsrpt::PolicyType::kTlsa);
  ASSERT_EQ(r.policy_strings.size(), 2u);
  std::string hex;
  for (int i = 0; i < 32; i++) hex += "ab";
  EXPECT_EQ(r.policy_strings[0], std::string("3 1 1 ").append(hex));
  EXPECT_EQ(r.policy_strings[1], "0 0 1 0102");
  EXPECT_EQ(r.detail, "");
  r = DaneOutcome("d.example", "mx.example", d, false,
                  tlsrpt::ResultType::kTlsaInvalid, "no match");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.detail, "no match");
  EXPECT_EQ(r.mx_host, "mx.example");

  EXPECT_EQ(DaneFailureResult(X509_V_ERR_DANE_NO_MATCH),
            tlsrpt::ResultType::kTlsaInvalid);
  EXPECT_EQ(DaneFailureResult(X509_V_ERR_HOSTNAME_MISMATCH),
            tlsrpt::ResultType::kCertificateHostMismatch);
  EXPECT_EQ(DaneFailureResult(X509_V_ERR_CERT_HAS_EXPIRED),
            tlsrpt::ResultType::kCertificateExpired);
}

TEST(RequireTlsTest, StsFailureOutcomes) {
  using F = sts::PolicyLookup::Failure;
  auto r = StsFailureOutcome("d.example", "mx.example",
                             {std::nullopt, F::kFetch, "refused"});
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.policy_type, tlsrpt::PolicyType::kSts);
  EXPECT_TRUE(r.policy_strings.empty());
  EXPECT_EQ(r.result, tlsrpt::ResultType::kStsPolicyFetchError);
  EXPECT_EQ(r.detail, "refused");
  r = StsFailureOutcome("d.example", "mx.example",
                        {std::nullopt, F::kInvalid, "bad"});
  EXPECT_EQ(r.result, tlsrpt::ResultType::kStsPolicyInvalid);
  r = StsFailureOutcome("d.example", "mx.example",
                        {std::nullopt, F::kWebPki, "tls"});
  EXPECT_EQ(r.result, tlsrpt::ResultType::kStsWebpkiInvalid);
}

}  // namespace
}  // namespace chasquid::courier
