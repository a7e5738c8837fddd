#include "metrics/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <variant>

#include "base/strings.h"

namespace chasquid::metrics {

namespace {

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

Registry& Global() {
  static auto* r = new Registry;  // Never destroyed: outlives all statics.
  return *r;
}

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

}  // namespace

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

// expvar writes strings with Go's encoding/json.
std::string ExpvarQuote(std::string_view s) { return GoJsonQuote(s); }

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
