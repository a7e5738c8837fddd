#include "monitoring/overview.h"

#include <memory>
#include <mutex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/strings.h"
#include "metrics/latency.h"
#include "metrics/metrics.h"
#include "monitoring/pages.h"
#include "nettrace/trace.h"

namespace chasquid::monitoring {

namespace {

using Clock = std::chrono::system_clock;

metrics::Counter* Samples() {
  static metrics::Counter* c = metrics::NewCounter(
      "chasquid/monitoring/overviewSamples",
      "readings of the delivery and AUTH counters taken into the overview "
      "page's per-minute and per-hour history");
  return c;
}

int64_t Sum(const char* map_name) {
  const metrics::CounterMap* m = metrics::FindMap(map_name);
  if (!m) return 0;
  int64_t total = 0;
  for (const auto& [k, v] : m->Snapshot()) total += v;
  return total;
}

int64_t Key(const char* map_name, const char* key) {
  const metrics::CounterMap* m = metrics::FindMap(map_name);
  return m ? m->Value(key) : 0;
}

// The history and the bookkeeping of the sampler, shared by the page's
// handler and the sampler coroutine.
class Overview {
 public:
  explicit Overview(std::string hostname) : hostname_(std::move(hostname)) {}

  // Takes a reading; when it is the first of a new minute, the minute just
  // closed becomes a trace, so the traces page shows the recent flow too.
  void Sample() { SampleWith(Clock::now(), ReadCounts()); }

  void SampleWith(Clock::time_point now, const Counts& counts) {
    history_.Sample(now, counts);
    Samples()->Add();
    int64_t minute =
        std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch())
            .count();
    int64_t closed;
    {
      std::lock_guard<std::mutex> l(mu_);
      closed = last_minute_;
      last_minute_ = minute;
    }
    if (closed < 0 || closed == minute) return;
    std::vector<Counts> mins = history_.Minutes(now);
    // The closed minute is the one before the current (last) bucket when
    // samples are a minute apart or less; otherwise it fell off already.
    if (minute - closed > History::kMinutes - 1) return;
    const Counts& c = mins[mins.size() - 1 - (minute - closed)];
    nettrace::Trace tr("Monitoring.Overview",
                       "minute " + FormatTime(Clock::time_point(
                                       std::chrono::minutes(closed))));
    tr.Event(std::to_string(c.sent) + " sent, " + std::to_string(c.deferred) +
             " deferred, " + std::to_string(c.failed) + " failed, " +
             std::to_string(c.auth_failures) + " AUTH failures");
  }

  OverviewData Data() {
    OverviewData d;
    d.hostname = hostname_;
    d.now = Clock::now();
    // One reading for the history and the totals, so that they agree.
    d.since_start = ReadCounts();
    SampleWith(d.now, d.since_start);
    d.queue_length = metrics::QueueLength()->Value();
    d.queue_bytes = metrics::QueueBytes()->Value();
    d.queue_oldest = metrics::QueueOldestItem()->Value();
    d.minutes = history_.Minutes(d.now);
    d.hours = history_.Hours(d.now);
    d.live_connections = metrics::LiveConnections()->Value();
    d.tls_in = Key("chasquid/smtpIn/tlsCount", "tls");
    d.plain_in = Key("chasquid/smtpIn/tlsCount", "plain");
    d.tls_out = Key("chasquid/smtpOut/tlsCount", "tls:secure") +
                Key("chasquid/smtpOut/tlsCount", "tls:insecure");
    d.plain_out = Key("chasquid/smtpOut/tlsCount", "plain") +
                  Key("chasquid/smtpOut/tlsCount", "tls:failed");
    if (const auto* m = metrics::FindMap("chasquid/tls/certNotAfter")) {
      d.cert_not_after = m->Snapshot();
    }
    d.errors = metrics::RecentDeliveryErrors();
    return d;
  }

 private:
  const std::string hostname_;
  History history_;
  std::mutex mu_;
  int64_t last_minute_ = -1;
};

net::awaitable<void> SampleLoop(std::shared_ptr<Overview> ov) {
  nettrace::Task task("monitoring", "overview sampler");
  auto ex = co_await net::this_coro::executor;
  net::steady_timer timer(ex);
  for (;;) {
    ov->Sample();
    task.SetState("sampled at " + FormatTime(Clock::now()) + ", every " +
                  FormatGoDuration(kSampleEvery));
    timer.expires_after(kSampleEvery);
    auto wait = timer.async_wait(net::as_tuple(net::use_awaitable));
    auto [ec] = co_await std::move(wait);
    if (ec) co_return;
  }
}

}  // namespace

Counts ReadCounts() {
  Counts c;
  c.sent = Sum("chasquid/queue/deliveriesSent");
  c.deferred = Sum("chasquid/queue/deliveriesTransientFailed");
  c.failed = Sum("chasquid/queue/deliveriesPermanentFailed") +
             Sum("chasquid/queue/deliveriesGivenUp");
  c.auth_failures = Sum("chasquid/smtpIn/authFailure");
  return c;
}

void RegisterOverviewPage(Server& s, net::io_context& io,
                          std::string hostname) {
  Samples();
  metrics::RecentDeliveryErrors();  // Registers its counter from start-up.
  auto ov = std::make_shared<Overview>(std::move(hostname));
  s.Handle("/debug/overview", [ov](const Request&) {
    Response r = Response::Html(RenderOverview(ov->Data()));
    // Nothing but the page's own inline styles: no script, no fetch.
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; style-src 'unsafe-inline'");
    return r;
  });
  net::co_spawn(io, SampleLoop(ov), net::detached);
}

}  // namespace chasquid::monitoring
