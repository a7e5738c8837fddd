#include "monitoring/server.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include "monitoring/pprof.h"
#include "monitoring/tasks_page.h"
#include "monitoring/traces_page.h"
#include "nettrace/trace.h"

namespace chasquid::monitoring {
namespace {

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : server_(io_, Info{"testhost", "", {"chasquid", "-v=1"}, {}}) {
    RegisterTracesPage(server_);
    RegisterTasksPage(server_);
    RegisterPprof(server_);
  }

  Response Do(std::string method, std::string target) {
    Request r;
    r.method = std::move(method);
    r.target = target;
    size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) {
      // Tests use plain values only.
      for (const auto& kv : Split(target.substr(q + 1), "&")) {
        size_t eq = kv.find('=');
        r.query.emplace(kv.substr(0, eq),
                        eq == std::string::npos ? "" : kv.substr(eq + 1));
      }
    }
    auto f =
        net::co_spawn(io_, server_.Dispatch(std::move(r)), net::use_future);
    io_.restart();
    io_.run();
    return f.get();
  }

  static std::vector<std::string> Split(const std::string& s,
                                        const std::string& sep) {
    std::vector<std::string> out;
    size_t i = 0;
    for (;;) {
      size_t j = s.find(sep, i);
      out.push_back(s.substr(i, j - i));
      if (j == std::string::npos) return out;
      i = j + sep.size();
    }
  }

  net::io_context io_;
  Server server_;
};

TEST_F(ServerTest, OnlyGetAndHeadExceptExit) {
  EXPECT_EQ(Do("GET", "/debug/traces").status, 200);
  EXPECT_EQ(Do("HEAD", "/debug/traces").status, 200);
  for (const char* m : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    Response r = Do(m, "/debug/traces");
    EXPECT_EQ(r.status, 405) << m;
    EXPECT_EQ(r.body, "Method Not Allowed\n");
    EXPECT_EQ(Do(m, "/").status, 405) << m;
    EXPECT_EQ(Do(m, "/debug/pprof/profile").status, 405) << m;
  }
  // Go's behaviour, which chasquid's tests check.
  EXPECT_EQ(Do("POST", "/debug/vars").status, 404);
  EXPECT_EQ(Do("GET", "/exit").status, 405);
  EXPECT_EQ(Do("GET", "/exit").body, "Use POST method for exiting\n");
}

TEST_F(ServerTest, TasksPageListsTasks) {
  nettrace::Task t("test-kind", "a <task>");
  t.SetState("waiting & <seeing>");
  Response r = Do("GET", "/debug/tasks");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("a &lt;task&gt;"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("waiting &amp; &lt;seeing&gt;"), std::string::npos);
  EXPECT_NE(r.body.find("<h2>Threads</h2>"), std::string::npos);
  r = Do("GET", "/debug/pprof/goroutine?debug=2");
  EXPECT_NE(r.body.find("[test-kind] \"a <task>\""), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("state \"waiting & <seeing>\" for "),
            std::string::npos);
  EXPECT_NE(r.body.find("threads: "), std::string::npos);
}

TEST_F(ServerTest, PprofIndexAndUnknown) {
  Response r = Do("GET", "/debug/pprof/");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("goroutine?debug=2"), std::string::npos);
  r = Do("GET", "/debug/pprof/nosuch");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "Unknown profile\n");
  r = Do("GET", "/debug/pprof");
  EXPECT_EQ(r.status, 301);
  // Unit tests do not link gperftools: the profiles say so.
  EXPECT_FALSE(HaveCpuProfiler());
  EXPECT_EQ(Do("GET", "/debug/pprof/profile?seconds=1").status, 501);
  EXPECT_EQ(Do("GET", "/debug/pprof/heap").status, 501);
}

TEST_F(ServerTest, RequestsAreTraced) {
  Do("GET", "/debug/flags");
  Response r = Do("GET", "/debug/traces?fam=Monitoring.HTTP&b=0");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("GET /debug/flags"), std::string::npos);
}

}  // namespace
}  // namespace chasquid::monitoring
