// /debug/overview: health at a glance, for hosts that run no Prometheus.
//
// One page answers "is mail flowing?": the queue (length, oldest item,
// bytes); deliveries sent, deferred and failed per minute for the last hour
// and per hour for the last day, as charts; live connections and the share
// of TLS in and out; each certificate's days left; the last delivery
// errors with their recipients' domains; AUTH failures in the last hour.
//
// Everything shown comes from the variables in /debug/vars (so the two
// always agree) plus two small bounded stores: the History rings
// (history.h), fed by a sampler every kSampleEvery and on each render, and
// the recent delivery errors (metrics/delivery_errors.h). The sampler is a
// task on the tasks page; each minute it closes is a Monitoring.Overview
// trace; its samples are counted in chasquid/monitoring/overviewSamples.
// The page refreshes itself every minute (a meta refresh, no script).
#pragma once

#ifndef CHASQUID_INSIDE_MONITORING
#error "monitoring/overview.h is private to monitoring/"
#endif

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "metrics/delivery_errors.h"
#include "monitoring/history.h"
#include "monitoring/server.h"

namespace chasquid::monitoring {

inline constexpr std::chrono::seconds kSampleEvery{10};

// What the page shows, read from the variables at one moment.
struct OverviewData {
  std::string hostname;
  std::chrono::system_clock::time_point now;
  int64_t queue_length = 0, queue_bytes = 0;
  int64_t queue_oldest = 0;  // Seconds since the epoch; 0: empty queue.
  std::vector<Counts> minutes, hours;  // History, oldest first.
  Counts since_start;                  // The counters' sums now.
  int64_t live_connections = 0;
  int64_t tls_in = 0, plain_in = 0, tls_out = 0, plain_out = 0;
  std::map<std::string, int64_t> cert_not_after;  // Seconds since the epoch.
  std::vector<metrics::DeliveryError> errors;     // Newest first.
};

// The counters the history samples, summed over their keys: sent is
// chasquid/queue/deliveriesSent, deferred deliveriesTransientFailed, failed
// deliveriesPermanentFailed plus deliveriesGivenUp, auth_failures
// chasquid/smtpIn/authFailure.
Counts ReadCounts();

std::string RenderOverview(const OverviewData& d);

// Serves /debug/overview (linked first from the index) and starts the
// sampler on `io`; it runs until the io_context stops.
void RegisterOverviewPage(Server& s, net::io_context& io, std::string hostname);

}  // namespace chasquid::monitoring
