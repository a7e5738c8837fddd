// The variables and the registry. Rendering is in expvar.cc (/debug/vars)
// and openmetrics.cc (/metrics).
#include "metrics/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "metrics/registry.h"

namespace chasquid::metrics {

namespace internal {

Registry& Global() {
  static auto* r = new Registry;
  return *r;
}

std::string FormatFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof(buf), "%.*g", prec, v);
    if (strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace internal

using internal::FuncVar;
using internal::Global;
using internal::Register;
using internal::Registry;

void CounterMap::Add(std::string_view key, int64_t n) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = values_.find(key);
  if (it == values_.end()) {
    values_.emplace(std::string(key), n);
  } else {
    it->second += n;
  }
}

void CounterMap::Set(std::string_view key, int64_t v) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = values_.find(key);
  if (it == values_.end()) {
    values_.emplace(std::string(key), v);
  } else {
    it->second = v;
  }
}

void CounterMap::Erase(std::string_view key) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = values_.find(key);
  if (it != values_.end()) values_.erase(it);
}

int64_t CounterMap::Value(std::string_view key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = values_.find(key);
  return it == values_.end() ? 0 : it->second;
}

std::map<std::string, int64_t> CounterMap::Snapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  return {values_.begin(), values_.end()};
}

void StringVar::Set(std::string v) {
  std::lock_guard<std::mutex> l(mu_);
  v_ = std::move(v);
}

std::string StringVar::Value() const {
  std::lock_guard<std::mutex> l(mu_);
  return v_;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) i++;
  std::lock_guard<std::mutex> l(mu_);
  counts_[i]++;
  sum_ += v;
  count_++;
}

Histogram::Data Histogram::Snapshot() const {
  Data d;
  d.bounds = bounds_;
  std::lock_guard<std::mutex> l(mu_);
  uint64_t acc = 0;
  for (uint64_t c : counts_) {
    acc += c;
    d.cumulative.push_back(acc);
  }
  d.sum = sum_;
  d.count = count_;
  return d;
}

HistogramMap::HistogramMap(std::vector<double> bounds)
    : bounds_(std::move(bounds)) {}

void HistogramMap::Observe(std::string_view key, double v) {
  Histogram* h;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = h_.find(key);
    if (it == h_.end()) {
      it = h_.emplace(std::string(key), std::make_unique<Histogram>(bounds_))
               .first;
    }
    h = it->second.get();  // Never erased: stays valid after unlocking.
  }
  h->Observe(v);
}

std::map<std::string, Histogram::Data> HistogramMap::Snapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  std::map<std::string, Histogram::Data> out;
  for (const auto& [k, h] : h_) out.emplace(k, h->Snapshot());
  return out;
}

Counter* NewCounter(std::string_view name, std::string_view help) {
  return Register(name, help, "", std::make_unique<Counter>());
}

Gauge* NewGauge(std::string_view name, std::string_view help) {
  return Register(name, help, "", std::make_unique<Gauge>());
}

HistogramMap* NewHistogramMap(std::string_view name, std::string_view label,
                              std::string_view help,
                              std::vector<double> bounds) {
  return Register(name, help, label.empty() ? "key" : label,
                  std::make_unique<HistogramMap>(std::move(bounds)));
}

CounterMap* NewMap(std::string_view name, std::string_view label,
                   std::string_view help) {
  return Register(name, help, label.empty() ? "key" : label,
                  std::make_unique<CounterMap>());
}

StringVar* NewString(std::string_view name) {
  return Register(name, "", "", std::make_unique<StringVar>());
}

void NewFunc(std::string_view name, std::function<std::string()> json) {
  Register(name, "", "", std::make_unique<FuncVar>(FuncVar{std::move(json)}));
}

Histogram* NewHistogram(std::string_view name, std::string_view help,
                        std::vector<double> bounds) {
  return Register(name, help, "le",
                  std::make_unique<Histogram>(std::move(bounds)));
}

namespace {

template <typename T>
const T* Find(std::string_view name) {
  Registry& r = Global();
  std::lock_guard<std::mutex> l(r.mu);
  auto it = r.vars.find(name);
  if (it == r.vars.end()) return nullptr;
  auto* p = std::get_if<std::unique_ptr<T>>(&it->second.v);
  return p ? p->get() : nullptr;
}

}  // namespace

const Counter* FindCounter(std::string_view name) {
  return Find<Counter>(name);
}

const CounterMap* FindMap(std::string_view name) {
  return Find<CounterMap>(name);
}

}  // namespace chasquid::metrics
