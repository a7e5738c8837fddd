#include "tlsrpt/store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "base/log.h"
#include "safeio/safeio.h"

namespace chasquid::tlsrpt {

namespace json = boost::json;

namespace {

// Only names that are safe as file names are kept: a domain of a
// recipient address is the client's text.
bool SafeName(const std::string& d) {
  if (d.empty() || d.size() > 253 || d[0] == '.') return false;
  for (unsigned char c : d) {
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == '_')) return false;
  }
  return true;
}

bool IsDay(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || n[0] == '.') continue;
    out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

json::array Strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

std::vector<std::string> FromStrings(const json::value* v) {
  std::vector<std::string> out;
  if (!v || !v->is_array()) return out;
  for (const auto& s : v->as_array()) {
    if (s.is_string()) out.emplace_back(s.as_string().c_str());
  }
  return out;
}

template <typename Enum>
bool FromName(const std::string& name, const std::vector<Enum>& all,
              const char* (*namer)(Enum), Enum* out) {
  for (Enum e : all) {
    if (name == namer(e)) {
      *out = e;
      return true;
    }
  }
  return false;
}

}  // namespace

std::string Store::DayOf(std::chrono::system_clock::time_point t) {
  time_t secs = std::chrono::system_clock::to_time_t(t);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[16];
  strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}

std::string ToJson(const DomainDay& d) {
  json::array policies;
  for (const auto& p : d.policies) {
    json::array rows;
    for (const auto& r : p.rows) {
      rows.push_back(json::object{{"result", ResultTypeName(r.result)},
                                  {"mx", r.mx_host},
                                  {"ip", r.receiving_ip},
                                  {"sip", r.sending_ip},
                                  {"detail", r.detail},
                                  {"count", r.count}});
    }
    policies.push_back(json::object{{"type", PolicyTypeName(p.type)},
                                    {"strings", Strings(p.strings)},
                                    {"mx", Strings(p.mx_patterns)},
                                    {"successes", p.successes},
                                    {"failures", p.failures},
                                    {"rows", std::move(rows)}});
  }
  json::object o{
      {"domain", d.domain}, {"day", d.day}, {"policies", std::move(policies)}};
  return json::serialize(o) + "\n";
}

Result<DomainDay> FromJson(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Status::Error("not a JSON object");
  const json::object& o = v.as_object();
  DomainDay d;
  auto str = [](const json::object& o, const char* k) -> std::string {
    const json::value* v = o.if_contains(k);
    return v && v->is_string() ? std::string(v->as_string().c_str()) : "";
  };
  auto num = [](const json::object& o, const char* k) -> int64_t {
    const json::value* v = o.if_contains(k);
    return v && v->is_int64() ? v->as_int64() : 0;
  };
  d.domain = str(o, "domain");
  d.day = str(o, "day");
  if (!SafeName(d.domain) || !IsDay(d.day)) {
    return Status::Error("bad domain or day");
  }
  const std::vector<PolicyType> kTypes = {PolicyType::kSts, PolicyType::kTlsa,
                                          PolicyType::kNoPolicyFound};
  const json::value* ps = o.if_contains("policies");
  if (ps && ps->is_array()) {
    for (const auto& pv : ps->as_array()) {
      if (!pv.is_object()) continue;
      const json::object& po = pv.as_object();
      PolicyRecord p;
      if (!FromName(str(po, "type"), kTypes, PolicyTypeName, &p.type)) {
        continue;
      }
      p.strings = FromStrings(po.if_contains("strings"));
      p.mx_patterns = FromStrings(po.if_contains("mx"));
      p.successes = num(po, "successes");
      p.failures = num(po, "failures");
      const json::value* rows = po.if_contains("rows");
      if (rows && rows->is_array()) {
        for (const auto& rv : rows->as_array()) {
          if (!rv.is_object()) continue;
          const json::object& ro = rv.as_object();
          FailureRow r;
          if (!FromName(str(ro, "result"), AllResultTypes(), ResultTypeName,
                        &r.result)) {
            continue;
          }
          r.mx_host = str(ro, "mx");
          r.receiving_ip = str(ro, "ip");
          r.sending_ip = str(ro, "sip");
          r.detail = str(ro, "detail");
          r.count = num(ro, "count");
          p.rows.push_back(std::move(r));
        }
      }
      d.policies.push_back(std::move(p));
    }
  }
  return d;
}

Result<std::unique_ptr<Store>> Store::Open(std::string dir, Limits limits) {
  Status s = safeio::MkdirAll(dir, 0700);
  if (!s.ok()) return s;
  std::unique_ptr<Store> st(new Store(std::move(dir), limits));
  st->Load();
  return st;
}

void Store::Load() {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& day : ListDir(dir_)) {
    if (!IsDay(day)) continue;
    for (const auto& domain : ListDir(dir_ + "/" + day)) {
      std::string path = dir_ + "/" + day + "/" + domain;
      struct stat st;
      if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
          static_cast<size_t>(st.st_size) > kMaxFileSize) {
        CLOG_ERROR(std::string("tlsrpt: skipping ").append(path));
        continue;
      }
      std::ifstream f(path);
      std::stringstream ss;
      ss << f.rdbuf();
      auto d = FromJson(ss.str());
      if (!d.ok() || d->domain != domain || d->day != day) {
        CLOG_ERROR(std::string("tlsrpt: skipping unreadable ").append(path));
        continue;
      }
      days_[day][domain] = std::move(*d);
    }
  }
  DropOldDaysLocked();
}

void Store::DropOldDaysLocked() {
  while (days_.size() > limits_.max_days) {
    auto it = days_.begin();
    std::string ddir = dir_ + "/" + it->first;
    for (const auto& name : ListDir(ddir)) unlink((ddir + "/" + name).c_str());
    rmdir(ddir.c_str());
    days_.erase(it);
  }
}

void Store::WriteLocked(const DomainDay& d) {
  std::string ddir = dir_ + "/" + d.day;
  Status s = safeio::MkdirAll(ddir, 0700);
  if (s.ok()) s = safeio::WriteFile(ddir + "/" + d.domain, ToJson(d), 0600);
  if (!s.ok()) {
    CLOG_ERROR(std::string("tlsrpt: writing ")
                   .append(d.domain)
                   .append(": ")
                   .append(s.message()));
  }
}

void Store::Record(const SessionResult& r) {
  RecordAt(r, std::chrono::system_clock::now());
}

void Store::RecordAt(const SessionResult& r,
                     std::chrono::system_clock::time_point when) {
  if (!SafeName(r.policy_domain)) return;
  std::string day = DayOf(when);
  std::lock_guard<std::mutex> l(mu_);
  auto& domains = days_[day];
  auto it = domains.find(r.policy_domain);
  if (it == domains.end()) {
    if (domains.size() >= limits_.max_domains) return;
    it = domains.emplace(r.policy_domain, DomainDay{r.policy_domain, day, {}})
             .first;
  }
  DomainDay& d = it->second;
  PolicyRecord* p = nullptr;
  for (auto& pr : d.policies) {
    if (pr.type == r.policy_type && pr.strings == r.policy_strings) p = &pr;
  }
  if (!p) {
    if (d.policies.size() >= limits_.max_policies) return;
    d.policies.push_back(
        PolicyRecord{r.policy_type, r.policy_strings, r.mx_patterns, 0, 0, {}});
    p = &d.policies.back();
  }
  if (r.success) {
    p->successes++;
  } else {
    p->failures++;
    FailureRow* row = nullptr;
    for (auto& fr : p->rows) {
      if (fr.result == r.result && fr.mx_host == r.mx_host &&
          fr.receiving_ip == r.receiving_ip && fr.sending_ip == r.sending_ip) {
        row = &fr;
      }
    }
    if (!row && p->rows.size() < limits_.max_failure_rows) {
      p->rows.push_back(FailureRow{r.result, r.mx_host, r.receiving_ip,
                                   r.detail.substr(0, 200), 0, r.sending_ip});
      row = &p->rows.back();
    }
    if (row) row->count++;
  }
  WriteLocked(d);
  DropOldDaysLocked();
}

std::vector<std::string> Store::Days() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  for (const auto& [day, _] : days_) out.push_back(day);
  return out;
}

std::vector<DomainDay> Store::Day(const std::string& day) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<DomainDay> out;
  auto it = days_.find(day);
  if (it == days_.end()) return out;
  for (const auto& [_, d] : it->second) out.push_back(d);
  return out;
}

void Store::Forget(const std::string& day, const std::string& domain) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = days_.find(day);
  if (it == days_.end()) return;
  it->second.erase(domain);
  std::string ddir = dir_ + "/" + day;
  unlink((ddir + "/" + domain).c_str());
  if (it->second.empty()) {
    rmdir(ddir.c_str());
    days_.erase(it);
  }
}

}  // namespace chasquid::tlsrpt
