// The TLS reporting store: per policy domain and per UTC day, the sessions
// recorded (tlsrpt.h), kept in <data_dir>/tlsrpt/<YYYY-MM-DD>/<domain> as
// JSON (ours; chasquid has no such directory and ignores it), rewritten
// atomically on each record so the counts survive restarts.
//
// Bounded: at most Limits::max_domains domains a day (sessions for more
// are counted in the variables only), Limits::max_policies policies per
// domain, Limits::max_failure_rows failure-detail rows per policy (further
// failures still count in the summary), Limits::max_days days (older ones
// are deleted). A file larger than kMaxFileSize, or unparsable, is skipped
// at load.
//
// Thread-safe: one mutex; each Record writes one small file while holding
// it (bounded by the limits to a few KiB).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "tlsrpt/tlsrpt.h"

namespace chasquid::tlsrpt {

struct FailureRow {
  ResultType result = ResultType::kValidationFailure;
  std::string mx_host;
  std::string receiving_ip;
  std::string detail;
  int64_t count = 0;
  std::string sending_ip;  // Ours, from the session (may be empty).
};

struct PolicyRecord {
  PolicyType type = PolicyType::kNoPolicyFound;
  std::vector<std::string> strings;
  std::vector<std::string> mx_patterns;
  int64_t successes = 0;
  int64_t failures = 0;
  std::vector<FailureRow> rows;
};

// One domain's record for one day.
struct DomainDay {
  std::string domain;
  std::string day;  // "YYYY-MM-DD", UTC.
  std::vector<PolicyRecord> policies;
};

class Store : public Recorder {
 public:
  struct Limits {
    size_t max_domains = 1000;
    size_t max_policies = 4;
    size_t max_failure_rows = 32;
    size_t max_days = 7;
  };
  static constexpr size_t kMaxFileSize = 256 * 1024;

  // Creates `dir` (0700) if missing and loads what it holds.
  static Result<std::unique_ptr<Store>> Open(std::string dir, Limits limits);

  // Recorder: records at the current time.
  void Record(const SessionResult& r) override;
  void RecordAt(const SessionResult& r,
                std::chrono::system_clock::time_point when);

  // The days held, oldest first.
  std::vector<std::string> Days() const;
  // A copy of one day's records, by domain.
  std::vector<DomainDay> Day(const std::string& day) const;
  // Deletes one domain's record of one day (after its report went out).
  void Forget(const std::string& day, const std::string& domain);

  // "YYYY-MM-DD" of `t` in UTC.
  static std::string DayOf(std::chrono::system_clock::time_point t);

 private:
  Store(std::string dir, Limits limits)
      : dir_(std::move(dir)), limits_(limits) {}
  void Load();
  void WriteLocked(const DomainDay& d);
  void DropOldDaysLocked();

  const std::string dir_;
  const Limits limits_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, DomainDay>> days_;
};

// JSON of one record as the store keeps it, and back (exposed for tests).
std::string ToJson(const DomainDay& d);
Result<DomainDay> FromJson(const std::string& text);

}  // namespace chasquid::tlsrpt
