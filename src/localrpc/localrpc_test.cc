#include "localrpc/localrpc.h"

#include <unistd.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "metrics/metrics.h"

namespace chasquid::localrpc {
namespace {

TEST(ValuesTest, EncodeLikeGo) {
  EXPECT_EQ(EncodeValues({{"(pipe)", "cmd args"},
                          {"(email)", "r1@r1.com"},
                          {"(email)", "r2@x"}}),
            "%28email%29=r1%40r1.com&%28email%29=r2%40x&%28pipe%29=cmd+args");
  auto v = DecodeValues("%28email%29=r1%40r1.com&%28pipe%29=cmd%20args");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, (Values{{"(email)", "r1@r1.com"}, {"(pipe)", "cmd args"}}));
  EXPECT_EQ(*DecodeValues("a=b+c"), (Values{{"a", "b c"}}));
  EXPECT_FALSE(DecodeValues("a=%zz").ok());
  EXPECT_FALSE(DecodeValues("a=1;b=2").ok());
}

TEST(ServerTest, RoundTrip) {
  char tmpl[] = "/tmp/rpctestXXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string path = dir + "/localrpc-v1";
  net::io_context io;
  net::thread_pool pool(1);
  Server srv(io.get_executor(), &pool);
  srv.Register("Echo", [](const Values& args) -> Result<Values> {
    if (Get(args, "Fail") == "yes") return Status::Error("does not exist");
    if (!Get(args, "Quote").empty()) {
      return Status::Error("no item " + Get(args, "Quote"));
    }
    return Values{{"Got", Get(args, "Address")}, {"Got", "second"}};
  });
  srv.Register("Big", [](const Values&) -> Result<Values> {
    return Values{{"X", std::string(3 << 20, 'x')}};
  });
  ASSERT_TRUE(srv.Listen(path).ok());
  srv.Start();
  auto work = net::make_work_guard(io);
  std::thread t([&] { io.run(); });

  auto* calls = metrics::NewMap("chasquid/localrpc/calls", "", "");
  auto r = Call(path, "Echo", {{"Address", "a b@c"}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (Values{{"Got", "a b@c"}, {"Got", "second"}}));
  r = Call(path, "Echo", {{"Fail", "yes"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "does not exist");
  // An error that quotes the request stays one reply line (the request's
  // values are decoded: CR and LF can be in them).
  r = Call(path, "Echo", {{"Quote", "x\r\n200 Got=forged"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "no item x  200 Got=forged");
  r = Call(path, "Nope", {});
  EXPECT_EQ(r.status().message(), "unknown method");
  r = Call(dir + "/missing", "Echo", {});
  EXPECT_EQ(r.status().message(), "dial unix " + dir +
                                      "/missing: connect: no such file or "
                                      "directory");
  EXPECT_EQ(calls->Value("Echo:ok"), 1);
  EXPECT_EQ(calls->Value("Echo:error"), 2);
  EXPECT_EQ(calls->Value("unknown:error"), 1);

  // A reply far longer than a request line still arrives whole.
  r = Call(path, "Big", {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Get(*r, "X").size(), 3u << 20);

  work.reset();
  io.stop();
  t.join();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chasquid::localrpc
