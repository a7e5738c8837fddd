#include "monitoring/history.h"

#include <algorithm>

namespace chasquid::monitoring {

namespace {

int64_t Delta(int64_t now, int64_t before) {
  return std::max<int64_t>(0, now - before);
}

int64_t Since(History::Clock::time_point t, std::chrono::seconds unit) {
  auto s =
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch());
  // Floor, so that a time before the epoch (a broken clock) still maps to
  // a bucket instead of a negative modulo.
  return std::max<int64_t>(0, s.count() / unit.count());
}

}  // namespace

Counts& Counts::operator+=(const Counts& o) {
  sent += o.sent;
  deferred += o.deferred;
  failed += o.failed;
  auth_failures += o.auth_failures;
  return *this;
}

template <size_t N>
void History::AddTo(std::array<Bucket, N>& ring, int64_t index,
                    const Counts& c) {
  Bucket& b = ring[index % N];
  if (b.index != index) {
    // A clock that stepped back lands in a newer bucket: keep that one,
    // counting there, rather than wiping recent data.
    if (b.index > index) {
      b.counts += c;
      return;
    }
    b = Bucket{index, {}};
  }
  b.counts += c;
}

template <size_t N>
std::vector<Counts> History::Read(const std::array<Bucket, N>& ring,
                                  int64_t index) {
  std::vector<Counts> out;
  out.reserve(N);
  for (int64_t i = index - static_cast<int64_t>(N) + 1; i <= index; i++) {
    const Bucket& b = ring[(i < 0 ? 0 : i) % N];
    out.push_back(i >= 0 && b.index == i ? b.counts : Counts{});
  }
  return out;
}

void History::Sample(Clock::time_point now, const Counts& cumulative) {
  Counts d;
  std::lock_guard<std::mutex> l(mu_);
  d.sent = Delta(cumulative.sent, last_.sent);
  d.deferred = Delta(cumulative.deferred, last_.deferred);
  d.failed = Delta(cumulative.failed, last_.failed);
  d.auth_failures = Delta(cumulative.auth_failures, last_.auth_failures);
  last_ = cumulative;
  AddTo(minutes_, Since(now, std::chrono::minutes(1)), d);
  AddTo(hours_, Since(now, std::chrono::hours(1)), d);
}

std::vector<Counts> History::Minutes(Clock::time_point now) const {
  std::lock_guard<std::mutex> l(mu_);
  return Read(minutes_, Since(now, std::chrono::minutes(1)));
}

std::vector<Counts> History::Hours(Clock::time_point now) const {
  std::lock_guard<std::mutex> l(mu_);
  return Read(hours_, Since(now, std::chrono::hours(1)));
}

Counts Total(const std::vector<Counts>& buckets) {
  Counts t;
  for (const Counts& c : buckets) t += c;
  return t;
}

}  // namespace chasquid::monitoring
