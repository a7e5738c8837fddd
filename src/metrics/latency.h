// chasquid-cpp's own latency histograms and gauges: additions over
// chasquid's variables (the README's variables table lists both; these are
// clearly ours and never clash with them). They answer what counters
// cannot: how long sessions last, how long mail waits between our 250 and
// its delivery, how long one delivery attempt takes, how many connections
// and queue items are live right now.
//
// Usage, at the one place each event happens:
//
//   metrics::SmtpSessionDuration()->Observe(seconds);        // smtpsrv
//   metrics::TimeToDelivery()->Observe("email:remote", s);  // queue
//   metrics::DeliveryAttemptDuration()->Observe("pipe", s); // queue
//   metrics::LiveConnections()->Add(1); ... ->Add(-1);     // smtpsrv
//   metrics::QueueLength()->Set(n);                         // queue
//
// Keys of the maps are chasquid's recipient types, as in
// chasquid/queue/deliverAttempts: "email:local", "email:remote", "pipe",
// "forward". Durations are in seconds. The returned pointers live for the
// whole process; everything is thread-safe.
#pragma once

#include "metrics/metrics.h"

namespace chasquid::metrics {

// chasquid/smtpIn/sessionDuration: from accept to close, per connection.
Histogram* SmtpSessionDuration();
// chasquid/queue/timeToDelivery{recipient_type}: from the item's creation
// (our 250 to DATA) to the successful delivery of one recipient.
HistogramMap* TimeToDelivery();
// chasquid/queue/deliverAttemptDuration{recipient_type}: one courier call.
HistogramMap* DeliveryAttemptDuration();
// chasquid/smtpIn/liveConnections: incoming connections open now (gauge).
Counter* LiveConnections();
// chasquid/queue/length: items in the queue now (gauge).
Counter* QueueLength();
// chasquid/queue/sizeBytes: bytes of message data in the queue now (gauge).
Counter* QueueBytes();
// chasquid/queue/oldestItemTimestamp: creation time of the oldest queued
// item, in seconds since the epoch; 0 when the queue is empty. Its age is
// time() minus this, computed where it is read (an alert, a page), so the
// value need not be refreshed while nothing changes.
Counter* QueueOldestItem();

// Registers all of the above, so they are exported (at zero) from start-up
// on, before their first event. Call once from main.
void RegisterLatencyMetrics();

// Adds 1 to a gauge now and subtracts it when destroyed. Move-only.
class GaugeGuard {
 public:
  explicit GaugeGuard(Counter* c) : c_(c) { c_->Add(1); }
  GaugeGuard(GaugeGuard&& o) noexcept : c_(o.c_) { o.c_ = nullptr; }
  GaugeGuard& operator=(GaugeGuard&&) = delete;
  ~GaugeGuard() {
    if (c_) c_->Add(-1);
  }

 private:
  Counter* c_;
};

}  // namespace chasquid::metrics
