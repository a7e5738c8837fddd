// Private to metrics/: the registry that metrics.cc fills and the
// expvar and OpenMetrics renderers read. Other folders use metrics.h.
#pragma once

#ifndef CHASQUID_INSIDE_METRICS
#error "metrics/registry.h is private to metrics/"
#endif

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "metrics/metrics.h"

namespace chasquid::metrics::internal {

struct FuncVar {
  std::function<std::string()> json;
};

struct Var {
  std::string name;
  std::string help;
  std::string label;
  std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>,
               std::unique_ptr<CounterMap>, std::unique_ptr<StringVar>,
               std::unique_ptr<FuncVar>, std::unique_ptr<Histogram>,
               std::unique_ptr<HistogramMap>>
      v;
};

struct Registry {
  std::mutex mu;
  std::vector<std::function<std::string()>> families;
  std::map<std::string, Var, std::less<>> vars;  // Sorted by expvar name.
};

// The process's registry, never destroyed: it outlives all statics.
Registry& Global();

template <typename T>
T* Register(std::string_view name, std::string_view help,
            std::string_view label, std::unique_ptr<T> fresh) {
  Registry& r = Global();
  std::lock_guard<std::mutex> l(r.mu);
  auto it = r.vars.find(name);
  if (it != r.vars.end()) {
    if (auto* p = std::get_if<std::unique_ptr<T>>(&it->second.v)) {
      return p->get();
    }
    // Same name, another type: a programming error, caught by any test.
    fprintf(stderr, "metrics: %.*s registered twice with different types\n",
            static_cast<int>(name.size()), name.data());
    abort();
  }
  T* raw = fresh.get();
  Var var{std::string(name), std::string(help), std::string(label),
          std::move(fresh)};
  r.vars.emplace(std::string(name), std::move(var));
  return raw;
}

// Go's strconv.FormatFloat(f, 'g', -1, 64): shortest representation that
// round-trips, with Go's exponent format (e-08, e+21).
std::string FormatFloat(double v);

}  // namespace chasquid::metrics::internal
