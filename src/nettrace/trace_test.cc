#include "nettrace/trace.h"

#include <gtest/gtest.h>

#include "nettrace/store.h"

namespace chasquid::nettrace {
namespace {

TEST(TraceTest, ActiveThenFinishedIntoBucket) {
  Store& s = Store::Get();
  std::string id;
  {
    Trace t("Test.Fam1", "title");
    id = t.id();
    t.Printf("hello");
    EXPECT_EQ(s.Active("Test.Fam1").size(), 1u);
  }
  EXPECT_TRUE(s.Active("Test.Fam1").empty());
  auto b0 = s.Bucket("Test.Fam1", 0, true);
  ASSERT_EQ(b0.size(), 1u);
  EXPECT_EQ(b0[0]->id, id);
  EXPECT_EQ(s.Stats("Test.Fam1").total, 1);
  EXPECT_TRUE(s.Errors("Test.Fam1").empty());
}

TEST(TraceTest, ErrorsKeptApart) {
  {
    Trace t("Test.Fam2", "x");
    t.Error("boom");
  }
  auto errs = Store::Get().Errors("Test.Fam2");
  ASSERT_EQ(errs.size(), 1u);
  auto evs = errs[0]->Events();
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].msg, "error: boom");
}

TEST(TraceTest, EventCapKeepsFirstAndLast) {
  Trace t("Test.Fam3", "x");
  for (int i = 0; i < 250; i++) t.Event(std::to_string(i));
  auto d = Store::Get().Find(t.id());
  ASSERT_TRUE(d);
  auto evs = d->Events();
  ASSERT_EQ(evs.size(), 101u);  // 33 + marker + 67.
  EXPECT_EQ(evs[0].msg, "0");
  EXPECT_EQ(evs[32].msg, "32");
  EXPECT_TRUE(evs[33].dropped_marker);
  EXPECT_EQ(evs[34].msg, "183");
  EXPECT_EQ(evs.back().msg, "249");
}

TEST(TraceTest, BucketsAreBounded) {
  for (int i = 0; i < 50; i++) Trace t("Test.Fam4", std::to_string(i));
  EXPECT_EQ(Store::Get().Bucket("Test.Fam4", 0, false).size(), 10u);
  EXPECT_EQ(Store::Get().Stats("Test.Fam4").total, 50);
}

TEST(TraceTest, ChildrenAreLinked) {
  Trace p("Test.Fam5", "parent");
  Trace c = p.NewChild("Test.Child", "kid");
  auto pd = Store::Get().Find(p.id());
  auto cd = Store::Get().Find(c.id());
  ASSERT_TRUE(pd && cd);
  EXPECT_EQ(cd->parent_id, p.id());
  ASSERT_TRUE(pd->Events()[0].child);
  EXPECT_EQ(pd->Events()[0].child->id, c.id());
}

TEST(TaskTest, RegisteredWhileAlive) {
  size_t before = Task::Snapshot().size();
  {
    Task t("smtp", "1.2.3.4:5");
    t.SetState("reading command");
    auto snap = Task::Snapshot();
    ASSERT_EQ(snap.size(), before + 1);
    EXPECT_EQ(snap.back().state, "reading command");
  }
  EXPECT_EQ(Task::Snapshot().size(), before);
}

}  // namespace
}  // namespace chasquid::nettrace
