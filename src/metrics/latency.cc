#include "metrics/latency.h"

namespace chasquid::metrics {

Histogram* SmtpSessionDuration() {
  // A session lasts at most 20 minutes (chasquid's connection deadline).
  static Histogram* h =
      NewHistogram("chasquid/smtpIn/sessionDuration",
                   "duration of incoming SMTP sessions, in seconds",
                   {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1200});
  return h;
}

HistogramMap* TimeToDelivery() {
  // Up to give_up_send_after (20h by default).
  static HistogramMap* h = NewHistogramMap(
      "chasquid/queue/timeToDelivery", "recipient_type",
      "time from accepting a message to delivering it, in seconds, by "
      "recipient type",
      {0.01, 0.1, 0.5, 1, 5, 10, 60, 300, 1800, 3600, 21600, 72000});
  return h;
}

HistogramMap* DeliveryAttemptDuration() {
  static HistogramMap* h = NewHistogramMap(
      "chasquid/queue/deliverAttemptDuration", "recipient_type",
      "duration of delivery attempts, in seconds, by recipient type",
      {0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300});
  return h;
}

Counter* LiveConnections() {
  static Counter* c = NewCounter("chasquid/smtpIn/liveConnections",
                                 "incoming SMTP connections open now");
  return c;
}

Counter* QueueLength() {
  static Counter* c =
      NewCounter("chasquid/queue/length", "items in the queue now");
  return c;
}

Counter* QueueBytes() {
  static Counter* c = NewCounter("chasquid/queue/sizeBytes",
                                 "bytes of message data in the queue now");
  return c;
}

Counter* QueueOldestItem() {
  static Counter* c = NewCounter(
      "chasquid/queue/oldestItemTimestamp",
      "creation time of the oldest queued item, in seconds since the epoch "
      "(0: the queue is empty)");
  return c;
}

void RegisterLatencyMetrics() {
  SmtpSessionDuration();
  TimeToDelivery();
  DeliveryAttemptDuration();
  LiveConnections();
  QueueLength();
  QueueBytes();
  QueueOldestItem();
}

}  // namespace chasquid::metrics
