// The trace store behind Trace: families, active traces, latency buckets and
// error rings. Read by the traces pages (pages.cc); written only through
// Trace. Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace chasquid::nettrace {

using Clock = std::chrono::system_clock;

// The other end of a "new child" or link event.
struct TraceRef {
  std::string id, title;
};

// Kept small (64 bytes): every live connection holds a few of these.
struct TraceEvent {
  Clock::time_point when;
  std::string msg;
  std::shared_ptr<const TraceRef> child;  // Only on child and link events.
  bool dropped_marker = false;
};

constexpr int kMaxEvents = 100;
constexpr int kNumBuckets = 8;
constexpr int kPerBucket = 10;
extern const std::array<std::chrono::microseconds, kNumBuckets> kBuckets;

struct TraceData {
  std::string id, family, title, parent_id;
  Clock::time_point start;
  mutable std::mutex mu;
  Clock::time_point end;  // Valid when finished.
  bool finished = false;
  bool error = false;
  std::vector<TraceEvent> first;  // The first kMaxEvents/3 events.
  // The latest ones; created only once `first` is full, so the many
  // short-lived or idle traces never pay for a deque (~600 bytes).
  std::unique_ptr<std::deque<TraceEvent>> ring;
  int64_t dropped = 0;
  Clock::time_point first_dropped;
  std::vector<std::weak_ptr<TraceData>> children;

  void Add(TraceEvent ev);
  std::vector<TraceEvent> Events() const;  // With the drop marker.
};

struct FamilyStats {
  std::array<int64_t, kNumBuckets> counts{};
  int64_t total = 0;
  std::chrono::nanoseconds min{0}, max{0}, sum{0};
};

struct Family {
  std::set<std::shared_ptr<TraceData>> active;
  std::array<std::deque<std::shared_ptr<TraceData>>, kNumBuckets> buckets;
  std::deque<std::shared_ptr<TraceData>> errors;
  FamilyStats stats;
};

// How many traces each view of a family holds now (for the index table).
struct FamilySummary {
  size_t active = 0;
  std::array<size_t, kNumBuckets> buckets{};
  size_t errors = 0;
};

class Store {
 public:
  static Store& Get();
  void Started(const std::shared_ptr<TraceData>& t);
  void Finished(const std::shared_ptr<TraceData>& t);

  std::vector<std::string> FamilyNames() const;
  bool HasFamily(const std::string& f) const;
  // Copies (of pointers) under the lock, for rendering afterwards.
  std::vector<std::shared_ptr<TraceData>> Active(const std::string& f) const;
  std::vector<std::shared_ptr<TraceData>> Bucket(const std::string& f, int b,
                                                 bool and_above) const;
  std::vector<std::shared_ptr<TraceData>> Errors(const std::string& f) const;
  FamilyStats Stats(const std::string& f) const;
  std::shared_ptr<TraceData> Find(const std::string& id) const;
  // Every family's summary, by name, taken under one lock.
  std::map<std::string, FamilySummary> Summaries() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  // Every trace still referenced, for ?trace= lookups.
  std::map<std::string, std::weak_ptr<TraceData>> by_id_;
  // by_id_ is swept of expired entries when it reaches this size.
  static constexpr size_t kMinSweep = 1024;
  size_t sweep_at_ = kMinSweep;
};

}  // namespace chasquid::nettrace
