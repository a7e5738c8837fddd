#include "limits/lru_table.h"

#include <gtest/gtest.h>

namespace chasquid::limits {
namespace {

TEST(LruTableTest, EvictsLeastRecentlyUsed) {
  LruTable<int> t(2);
  *t.GetOrInsert("a") = 1;
  *t.GetOrInsert("b") = 2;
  ASSERT_NE(t.Get("a"), nullptr);  // "a" is now the most recent.
  *t.GetOrInsert("c") = 3;         // Evicts "b".
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.Peek("b"), nullptr);
  EXPECT_EQ(*t.Peek("a"), 1);
  EXPECT_EQ(*t.Peek("c"), 3);
  EXPECT_EQ(t.evictions(), 1u);
}

TEST(LruTableTest, NeverGrowsPastCapacity) {
  LruTable<int> t(100);
  for (int i = 0; i < 100000; i++) *t.GetOrInsert(std::to_string(i)) = i;
  EXPECT_EQ(t.size(), 100u);
  EXPECT_EQ(t.evictions(), 100000u - 100u);
  EXPECT_EQ(*t.Peek("99999"), 99999);
  EXPECT_EQ(t.Peek("0"), nullptr);
}

}  // namespace
}  // namespace chasquid::limits
