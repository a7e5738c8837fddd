// The variable registry behind /debug/vars (expvar JSON) and /metrics
// (OpenMetrics), mirroring Go's process-global expvar.
//
// Components create their variables once, usually as function-level or
// namespace-level statics, with the exact chasquid names:
//
//   static metrics::Counter* put_count = metrics::NewCounter(
//       "chasquid/queue/putCount",
//       "count of envelopes attempted to be put in the queue");
//   put_count->Add();
//
// Variables live for the whole process (the registry owns them; the
// returned pointers never dangle). Creating two variables with the same name
// returns the existing one. Everything here is thread-safe; Counter::Add is a
// single relaxed atomic add, CounterMap::Add takes a mutex for a map lookup.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace chasquid::metrics {

// An expvar Int.
class Counter {
 public:
  void Add(int64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  void Set(int64_t n) { v_.store(n, std::memory_order_relaxed); }
  int64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// An expvar Float.
class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  double Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// An expvar Map of Ints. Keys appear only after their first Add, as in Go
// (never pre-create label values: Prometheus would see 0 instead of absent).
class CounterMap {
 public:
  void Add(std::string_view key, int64_t n = 1);
  // For maps of gauges (one value per key, e.g. a certificate's expiry):
  // sets a key's value, and removes a key that no longer exists.
  void Set(std::string_view key, int64_t v);
  void Erase(std::string_view key);
  int64_t Value(std::string_view key) const;
  std::map<std::string, int64_t> Snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, int64_t, std::less<>> values_;
};

// An expvar String.
class StringVar {
 public:
  void Set(std::string v);
  std::string Value() const;

 private:
  mutable std::mutex mu_;
  std::string v_;
};

// Registration. `help` becomes the "# HELP" line on /metrics (none when
// empty); `label` is the label name for maps ("key" when empty).
Counter* NewCounter(std::string_view name, std::string_view help);
Gauge* NewGauge(std::string_view name, std::string_view help);
CounterMap* NewMap(std::string_view name, std::string_view label,
                   std::string_view help);
StringVar* NewString(std::string_view name);
// A variable whose JSON value is computed on each render (like Go's
// expvar.Func). Never exported on /metrics (listed as ignored).
void NewFunc(std::string_view name, std::function<std::string()> json);

// Histograms are an addition over chasquid (no expvar equivalent): they are
// rendered only on /metrics, in OpenMetrics histogram form, and on
// /debug/vars as a map of bucket counts.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  struct Data {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // One per bound, then +Inf.
    double sum = 0;
    uint64_t count = 0;
  };
  Data Snapshot() const;

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // Per bucket (non-cumulative) + overflow.
  double sum_ = 0;
  uint64_t count_ = 0;
};
Histogram* NewHistogram(std::string_view name, std::string_view help,
                        std::vector<double> bounds);

// Histograms keyed by one label (e.g. recipient type), all with the same
// bounds. Like a CounterMap's keys, a key's histogram appears only after its
// first Observe. Rendered on /metrics as one OpenMetrics histogram family
// with the label, on /debug/vars as a map of key -> bucket map.
class HistogramMap {
 public:
  explicit HistogramMap(std::vector<double> bounds);
  void Observe(std::string_view key, double v);
  std::map<std::string, Histogram::Data> Snapshot() const;

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Histogram>, std::less<>> h_;
};
HistogramMap* NewHistogramMap(std::string_view name, std::string_view label,
                              std::string_view help,
                              std::vector<double> bounds);

// Adds metric families that exist only on /metrics, not in expvar: the
// conventions every Prometheus exporter follows (process_*, a build info).
// `render` returns complete OpenMetrics families (TYPE, HELP, samples) and
// is called on each scrape, after the variables.
void AddOpenMetricsFamilies(std::function<std::string()> render);
// An OpenMetrics label value, quoted and escaped.
std::string QuoteLabelValue(const std::string& v);

// Read access by name, for pages that summarise variables (the monitoring
// overview). nullptr when no variable of that name and kind is registered
// (yet). The pointers live for the whole process.
const Counter* FindCounter(std::string_view name);
const CounterMap* FindMap(std::string_view name);

// Renders every registered variable.
std::string RenderExpvar();       // /debug/vars, exact expvar layout.
std::string RenderOpenMetrics();  // /metrics, exact expvarom layout.

// Helpers exposed for tests.
std::string MangleName(std::string_view expvar_name);
std::string ExpvarQuote(std::string_view s);

}  // namespace chasquid::metrics
