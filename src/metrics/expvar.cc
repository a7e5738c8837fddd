// /debug/vars: every variable in Go's expvar JSON, as chasquid's page.
#include "base/strings.h"
#include "metrics/metrics.h"
#include "metrics/registry.h"

namespace chasquid::metrics {

using internal::FormatFloat;
using internal::FuncVar;
using internal::Global;
using internal::Registry;
using internal::Var;

// expvar writes strings with Go's encoding/json.
std::string ExpvarQuote(std::string_view s) { return GoJsonQuote(s); }

namespace {

std::string HistogramJson(const Histogram::Data& d) {
  std::string out = "{";
  for (size_t i = 0; i < d.bounds.size(); i++) {
    out += ExpvarQuote("le=" + FormatFloat(d.bounds[i])) + ": " +
           std::to_string(d.cumulative[i]) + ", ";
  }
  out += "\"le=+Inf\": " + std::to_string(d.count) +
         ", \"sum\": " + FormatFloat(d.sum) + "}";
  return out;
}

}  // namespace

std::string RenderExpvar() {
  Registry& r = Global();
  std::lock_guard<std::mutex> l(r.mu);
  std::string out = "{\n";
  bool first = true;
  for (const auto& entry : r.vars) {
    const std::string& name = entry.first;
    const Var& var = entry.second;
    if (!first) out += ",\n";
    first = false;
    out += ExpvarQuote(name) + ": ";
    std::visit(
        [&](const auto& p) {
          using T = std::decay_t<decltype(*p)>;
          if constexpr (std::is_same_v<T, Counter>) {
            out += std::to_string(p->Value());
          } else if constexpr (std::is_same_v<T, Gauge>) {
            out += FormatFloat(p->Value());
          } else if constexpr (std::is_same_v<T, StringVar>) {
            out += ExpvarQuote(p->Value());
          } else if constexpr (std::is_same_v<T, FuncVar>) {
            out += p->json();
          } else if constexpr (std::is_same_v<T, CounterMap>) {
            out += "{";
            bool f = true;
            for (const auto& [k, v] : p->Snapshot()) {
              if (!f) out += ", ";
              f = false;
              out += ExpvarQuote(k) + ": " + std::to_string(v);
            }
            out += "}";
          } else if constexpr (std::is_same_v<T, Histogram>) {
            out += HistogramJson(p->Snapshot());
          } else if constexpr (std::is_same_v<T, HistogramMap>) {
            out += "{";
            bool f = true;
            for (const auto& [k, d] : p->Snapshot()) {
              if (!f) out += ", ";
              f = false;
              out += ExpvarQuote(k) + ": " + HistogramJson(d);
            }
            out += "}";
          }
        },
        var.v);
  }
  out += "\n}\n";
  return out;
}

}  // namespace chasquid::metrics
