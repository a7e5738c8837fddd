#include "nettrace/store.h"

#include <algorithm>

namespace chasquid::nettrace {

Store& Store::Get() {
  static auto* s = new Store;  // Never destroyed: traces end at exit.
  return *s;
}

void Store::Started(const std::shared_ptr<TraceData>& t) {
  std::lock_guard<std::mutex> l(mu_);
  // Not indexed by id while active: Find() looks through the active sets
  // (page views are rare), so an idle connection's trace costs no index
  // entry (bench/conn_memory).
  families_[t->family].active.insert(t);
}

void Store::Finished(const std::shared_ptr<TraceData>& t) {
  auto latency = t->end - t->start;
  int b = 0;
  for (int i = kNumBuckets - 1; i >= 0; i--) {
    if (latency >= kBuckets[i]) {
      b = i;
      break;
    }
  }
  bool error;
  {
    std::lock_guard<std::mutex> l(t->mu);
    error = t->error;
  }
  std::lock_guard<std::mutex> l(mu_);
  Family& f = families_[t->family];
  f.active.erase(t);
  by_id_[t->id] = t;
  f.buckets[b].push_front(t);
  if (f.buckets[b].size() > kPerBucket) f.buckets[b].pop_back();
  if (error) {
    f.errors.push_front(t);
    if (f.errors.size() > kPerBucket) f.errors.pop_back();
  }
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(latency);
  FamilyStats& s = f.stats;
  s.counts[b]++;
  if (s.total == 0 || ns < s.min) s.min = ns;
  if (ns > s.max) s.max = ns;
  s.sum += ns;
  s.total++;
  // Forget ids that no ring holds any more, so by_id_ stays bounded: at
  // most twice what the rings hold since the last sweep, plus a floor.
  // Sweeping on every finish was a scan of every kept trace, under mu_,
  // for every SMTP command's worth of work (seen in CPU profiles).
  if (by_id_.size() >= sweep_at_) {
    for (auto it = by_id_.begin(); it != by_id_.end();) {
      it = it->second.expired() ? by_id_.erase(it) : std::next(it);
    }
    sweep_at_ = std::max<size_t>(kMinSweep, 2 * by_id_.size());
  }
}

std::vector<std::string> Store::FamilyNames() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  for (const auto& [name, f] : families_) out.push_back(name);
  return out;
}

bool Store::HasFamily(const std::string& f) const {
  std::lock_guard<std::mutex> l(mu_);
  return families_.count(f) > 0;
}

std::vector<std::shared_ptr<TraceData>> Store::Active(
    const std::string& f) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = families_.find(f);
  if (it == families_.end()) return {};
  std::vector<std::shared_ptr<TraceData>> out(it->second.active.begin(),
                                              it->second.active.end());
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a->start > b->start; });
  return out;
}

std::vector<std::shared_ptr<TraceData>> Store::Bucket(const std::string& f,
                                                      int b,
                                                      bool and_above) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = families_.find(f);
  if (it == families_.end() || b < 0 || b >= kNumBuckets) return {};
  std::vector<std::shared_ptr<TraceData>> out;
  for (int i = b; i < (and_above ? kNumBuckets : b + 1); i++) {
    out.insert(out.end(), it->second.buckets[i].begin(),
               it->second.buckets[i].end());
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a->start > b->start; });
  return out;
}

std::vector<std::shared_ptr<TraceData>> Store::Errors(
    const std::string& f) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = families_.find(f);
  if (it == families_.end()) return {};
  return {it->second.errors.begin(), it->second.errors.end()};
}

FamilyStats Store::Stats(const std::string& f) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = families_.find(f);
  return it == families_.end() ? FamilyStats{} : it->second.stats;
}

std::shared_ptr<TraceData> Store::Find(const std::string& id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = by_id_.find(id);
  if (it != by_id_.end()) return it->second.lock();
  for (const auto& [name, f] : families_) {
    for (const auto& t : f.active) {
      if (t->id == id) return t;
    }
  }
  return nullptr;
}

std::map<std::string, FamilySummary> Store::Summaries() const {
  std::lock_guard<std::mutex> l(mu_);
  std::map<std::string, FamilySummary> out;
  for (const auto& [name, f] : families_) {
    FamilySummary& s = out[name];
    s.active = f.active.size();
    for (int i = 0; i < kNumBuckets; i++) s.buckets[i] = f.buckets[i].size();
    s.errors = f.errors.size();
  }
  return out;
}

}  // namespace chasquid::nettrace
