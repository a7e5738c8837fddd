#include "base/status.h"

#include <gtest/gtest.h>

namespace chasquid {
namespace {

TEST(StatusTest, NotFoundIsPermanentAndSurvivesPrefix) {
  Status s = Status::NotFound("no such host");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.permanent());
  EXPECT_TRUE(s.not_found());
  Status p = s.Prefixed("lookup x: ");
  EXPECT_TRUE(p.not_found());
  EXPECT_EQ(p.message(), "lookup x: no such host");
}

TEST(StatusTest, OtherErrorsAreNotNotFound) {
  // The text alone never makes an error "not found": only its origin does.
  EXPECT_FALSE(Status::Permanent("no such host").not_found());
  EXPECT_FALSE(Status::Transient("i/o timeout").not_found());
  EXPECT_FALSE(Status::Ok().not_found());
  Result<int> r = Status::NotFound("gone");
  EXPECT_TRUE(r.status().not_found());
}

}  // namespace
}  // namespace chasquid
