// In-process history for the overview page, for hosts with no Prometheus:
// how many deliveries were sent, deferred and failed, and how many AUTH
// attempts failed, per minute for the last hour and per hour for the last
// day.
//
// Nothing on the SMTP or delivery path writes here. A periodic sampler
// (and each render of the page) reads the cumulative counters the other
// components keep anyway, and Sample() adds the difference since the
// previous reading to the bucket of the current minute and hour. The
// buckets are two fixed rings (60 minutes, 24 hours) of a few integers:
// bounded, a couple of kilobytes in all, and nothing happens between
// samples. Counts that happened before the first sample are attributed to
// that sample's minute (the first reading is taken against zero, the
// counters' value at start-up). Thread-safe.
#pragma once

#ifndef CHASQUID_INSIDE_MONITORING
#error "monitoring/history.h is private to monitoring/"
#endif

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

namespace chasquid::monitoring {

// One reading (cumulative) or one bucket (a difference).
struct Counts {
  int64_t sent = 0;
  int64_t deferred = 0;  // Transient failures (retried later).
  int64_t failed = 0;    // Permanent failures and recipients given up.
  int64_t auth_failures = 0;

  Counts& operator+=(const Counts& o);
};

class History {
 public:
  using Clock = std::chrono::system_clock;
  static constexpr int kMinutes = 60;
  static constexpr int kHours = 24;

  // Adds `cumulative` minus the previous reading to now's buckets. A
  // counter that went down (it cannot, but a clock or a test might) adds 0.
  void Sample(Clock::time_point now, const Counts& cumulative);

  // The last kMinutes minutes (or kHours hours), oldest first, the current
  // (partial) one last; buckets with no sample are zero.
  std::vector<Counts> Minutes(Clock::time_point now) const;
  std::vector<Counts> Hours(Clock::time_point now) const;

 private:
  struct Bucket {
    int64_t index = -1;  // Minutes (or hours) since the epoch.
    Counts counts;
  };
  template <size_t N>
  static void AddTo(std::array<Bucket, N>& ring, int64_t index,
                    const Counts& c);
  template <size_t N>
  static std::vector<Counts> Read(const std::array<Bucket, N>& ring,
                                  int64_t index);

  mutable std::mutex mu_;
  Counts last_;
  std::array<Bucket, kMinutes> minutes_;
  std::array<Bucket, kHours> hours_;
};

// Sum of a run of buckets.
Counts Total(const std::vector<Counts>& buckets);

}  // namespace chasquid::monitoring
