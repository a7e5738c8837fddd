// /metrics: the OpenMetrics text exposition of the variables, under
// the names chasquid's expvar bridge gives them, plus the families other
// components add.
#include "base/strings.h"
#include "metrics/metrics.h"
#include "metrics/registry.h"

namespace chasquid::metrics {

using internal::FormatFloat;
using internal::FuncVar;
using internal::Global;
using internal::Registry;
using internal::Var;

std::string MangleName(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size();) {
    unsigned char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_';
    out += ok ? static_cast<char>(c) : '_';
    // One '_' per code point: skip UTF-8 continuation bytes.
    i++;
    if (c >= 0xC0) {
      while (i < name.size() && (name[i] & 0xC0) == 0x80) i++;
    }
  }
  if (!out.empty() && out[0] >= '0' && out[0] <= '9') out = "i" + out;
  return out;
}

namespace {

std::string EscapeLabelValue(const std::string& key) {
  std::string k = key;
  if (!IsValidUtf8(k)) {
    std::string q = GoQuote(k, /*ascii_only=*/true);
    k = q.substr(1, q.size() - 2);
  }
  std::string out = "\"";
  for (char c : k) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out + "\"";
}

// The sample lines of one histogram; `labels` ("type=\"x\"") goes before
// "le" in every sample.
std::string HistogramLines(const std::string& m, const std::string& labels,
                           const Histogram::Data& d) {
  std::string out;
  std::string pre = labels.empty() ? "" : labels + ",";
  for (size_t i = 0; i < d.bounds.size(); i++) {
    out += m + "_bucket{" + pre + "le=\"" + FormatFloat(d.bounds[i]) + "\"} " +
           std::to_string(d.cumulative[i]) + "\n";
  }
  out +=
      m + "_bucket{" + pre + "le=\"+Inf\"} " + std::to_string(d.count) + "\n";
  std::string lb = labels.empty() ? "" : "{" + labels + "}";
  out += m + "_sum" + lb + " " + FormatFloat(d.sum) + "\n";
  out += m + "_count" + lb + " " + std::to_string(d.count) + "\n";
  return out;
}

}  // namespace

void AddOpenMetricsFamilies(std::function<std::string()> render) {
  Registry& r = Global();
  std::lock_guard<std::mutex> l(r.mu);
  r.families.push_back(std::move(render));
}

std::string QuoteLabelValue(const std::string& v) {
  return EscapeLabelValue(v);
}

std::string RenderOpenMetrics() {
  Registry& r = Global();
  std::lock_guard<std::mutex> l(r.mu);
  std::map<std::string, const Var*> exported;  // By metric name.
  std::vector<std::string> ignored;            // In expvar-name order.
  for (const auto& [name, var] : r.vars) {
    std::string m = MangleName(name);
    if (std::holds_alternative<std::unique_ptr<StringVar>>(var.v) ||
        std::holds_alternative<std::unique_ptr<FuncVar>>(var.v)) {
      ignored.push_back(m);
    } else {
      exported.emplace(m, &var);
    }
  }
  std::string out;
  for (const auto& entry : exported) {
    // Plain names, not a structured binding: clang 14 (fuzz builds) cannot
    // capture those in the lambda below.
    const std::string& m = entry.first;
    const Var* var = entry.second;
    if (!var->help.empty()) out += "# HELP " + m + " " + var->help + "\n";
    std::visit(
        [&](const auto& p) {
          using T = std::decay_t<decltype(*p)>;
          if constexpr (std::is_same_v<T, Counter>) {
            out += m + " " + std::to_string(p->Value()) + "\n";
          } else if constexpr (std::is_same_v<T, Gauge>) {
            out += m + " " + FormatFloat(p->Value()) + "\n";
          } else if constexpr (std::is_same_v<T, CounterMap>) {
            for (const auto& [k, v] : p->Snapshot()) {
              out += m + "{" + var->label + "=" + EscapeLabelValue(k) + "} " +
                     std::to_string(v) + "\n";
            }
          } else if constexpr (std::is_same_v<T, Histogram>) {
            // Histograms are ours, not chasquid's: they get a TYPE line so
            // that Prometheus reads them as histograms.
            out += "# TYPE " + m + " histogram\n";
            out += HistogramLines(m, "", p->Snapshot());
          } else if constexpr (std::is_same_v<T, HistogramMap>) {
            out += "# TYPE " + m + " histogram\n";
            for (const auto& [k, d] : p->Snapshot()) {
              out +=
                  HistogramLines(m, var->label + "=" + EscapeLabelValue(k), d);
            }
          }
        },
        var->v);
  }
  for (const auto& render : r.families) out += render();
  out += "# HELP generated_by expvarom\n";
  out += "# HELP ignored_variables [";
  for (size_t i = 0; i < ignored.size(); i++) {
    if (i) out += " ";
    out += GoQuote(ignored[i]);
  }
  out += "]\n# EOF\n";
  return out;
}

}  // namespace chasquid::metrics
