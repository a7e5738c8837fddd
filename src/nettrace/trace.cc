#include "nettrace/trace.h"

#include <atomic>
#include <map>
#include <mutex>
#include <random>

#include "base/log.h"
#include "base/strings.h"
#include "nettrace/store.h"

namespace chasquid::nettrace {

const std::array<std::chrono::microseconds, kNumBuckets> kBuckets = {
    std::chrono::microseconds(0),       std::chrono::microseconds(5000),
    std::chrono::microseconds(10000),   std::chrono::microseconds(50000),
    std::chrono::microseconds(100000),  std::chrono::microseconds(300000),
    std::chrono::microseconds(1000000), std::chrono::microseconds(10000000)};

namespace {

uint64_t RandomU64() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

std::shared_ptr<TraceData> NewData(std::string family, std::string title) {
  auto d = std::make_shared<TraceData>();
  d->start = Clock::now();
  d->family = std::move(family);
  d->title = std::move(title);
  d->id = d->family + "!" +
          std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             d->start.time_since_epoch())
                             .count()) +
          "!" + std::to_string(RandomU64());
  return d;
}

std::string Unquoted(const std::string& s) {
  std::string q = GoQuote(s);
  return q.substr(1, q.size() - 2);
}

}  // namespace

void TraceData::Add(TraceEvent ev) {
  std::lock_guard<std::mutex> l(mu);
  if (first.size() < static_cast<size_t>(kMaxEvents / 3)) {
    // Three events fit an idle SMTP connection (connected, EHLO, reply);
    // growth from there as usual.
    if (first.empty()) first.reserve(3);
    first.push_back(std::move(ev));
    return;
  }
  if (!ring) ring = std::make_unique<std::deque<TraceEvent>>();
  ring->push_back(std::move(ev));
  if (ring->size() > static_cast<size_t>(kMaxEvents - kMaxEvents / 3)) {
    if (dropped == 0) first_dropped = ring->front().when;
    ring->pop_front();
    dropped++;
  }
}

std::vector<TraceEvent> TraceData::Events() const {
  std::lock_guard<std::mutex> l(mu);
  std::vector<TraceEvent> out(first.begin(), first.end());
  if (dropped > 0) {
    TraceEvent marker;
    marker.when = first_dropped;
    marker.dropped_marker = true;
    marker.msg = "[ events dropped ]";
    out.push_back(marker);
  }
  if (ring) out.insert(out.end(), ring->begin(), ring->end());
  return out;
}

Trace::Trace(std::string family, std::string title)
    : d_(NewData(std::move(family), std::move(title))) {
  Store::Get().Started(d_);
}

Trace::Trace(std::shared_ptr<TraceData> d) : d_(std::move(d)) {
  Store::Get().Started(d_);
}

Trace::Trace(Trace&&) noexcept = default;

Trace& Trace::operator=(Trace&& o) noexcept {
  if (this != &o) {
    Finish();
    d_ = std::move(o.d_);
  }
  return *this;
}

Trace::~Trace() { Finish(); }

Trace Trace::NewChild(std::string family, std::string title) {
  auto c = NewData(std::move(family), std::move(title));
  if (d_) {
    c->parent_id = d_->id;
    TraceEvent ev{Clock::now(), "new child",
                  std::make_shared<const TraceRef>(
                      TraceRef{c->id, c->family + " " + c->title})};
    d_->Add(std::move(ev));
    std::lock_guard<std::mutex> l(d_->mu);
    d_->children.push_back(c);
  }
  return Trace(std::move(c));
}

void Trace::Link(const Trace& other, std::string msg) {
  if (!d_ || !other.d_) return;
  TraceEvent ev{Clock::now(), std::move(msg),
                std::make_shared<const TraceRef>(TraceRef{
                    other.d_->id, other.d_->family + " " + other.d_->title})};
  d_->Add(std::move(ev));
  std::lock_guard<std::mutex> l(d_->mu);
  d_->children.push_back(other.d_);
}

void Trace::Printf(std::string msg) {
  if (!d_) return;
  CLOG_INFO(d_->family + " " + d_->title + ": " + Unquoted(msg));
  d_->Add(TraceEvent{Clock::now(), std::move(msg)});
}

void Trace::Debugf(std::string msg) {
  if (!d_) return;
  CLOG_DEBUG(d_->family + " " + d_->title + ": " + Unquoted(msg));
  d_->Add(TraceEvent{Clock::now(), std::move(msg)});
}

void Trace::Error(std::string msg) {
  if (!d_) return;
  CLOG_INFO(d_->family + " " + d_->title + ": error: " + Unquoted(msg));
  {
    std::lock_guard<std::mutex> l(d_->mu);
    d_->error = true;
  }
  d_->Add(TraceEvent{Clock::now(), "error: " + msg});
}

void Trace::Event(std::string msg) {
  if (!d_) return;
  d_->Add(TraceEvent{Clock::now(), std::move(msg)});
}

void Trace::Finish() {
  if (!d_) return;
  {
    std::lock_guard<std::mutex> l(d_->mu);
    if (d_->finished) return;
    d_->finished = true;
    d_->end = Clock::now();
  }
  Store::Get().Finished(d_);
}

std::string Trace::id() const { return d_ ? d_->id : ""; }
std::string Trace::family() const { return d_ ? d_->family : ""; }
std::string Trace::title() const { return d_ ? d_->title : ""; }

// --- Tasks ---

namespace {

struct TaskRegistry {
  std::mutex mu;
  uint64_t next_id = 1;
  std::map<uint64_t, Task::Info> tasks;
};

TaskRegistry& Tasks() {
  static auto* r = new TaskRegistry;
  return *r;
}

}  // namespace

Task::Task(std::string kind, std::string name) {
  TaskRegistry& r = Tasks();
  std::lock_guard<std::mutex> l(r.mu);
  id_ = r.next_id++;
  auto now = std::chrono::system_clock::now();
  r.tasks[id_] = Info{id_, std::move(kind), std::move(name), "", now, now};
}

Task::Task(Task&& o) noexcept : id_(o.id_) { o.id_ = 0; }

Task& Task::operator=(Task&& o) noexcept {
  if (this != &o) {
    this->~Task();
    id_ = o.id_;
    o.id_ = 0;
  }
  return *this;
}

Task::~Task() {
  if (!id_) return;
  TaskRegistry& r = Tasks();
  std::lock_guard<std::mutex> l(r.mu);
  r.tasks.erase(id_);
  id_ = 0;
}

void Task::SetState(std::string state) {
  if (!id_) return;
  TaskRegistry& r = Tasks();
  std::lock_guard<std::mutex> l(r.mu);
  auto it = r.tasks.find(id_);
  if (it == r.tasks.end()) return;
  it->second.state = std::move(state);
  it->second.state_since = std::chrono::system_clock::now();
}

std::vector<Task::Info> Task::Snapshot() {
  TaskRegistry& r = Tasks();
  std::lock_guard<std::mutex> l(r.mu);
  std::vector<Info> out;
  for (const auto& [id, info] : r.tasks) out.push_back(info);
  return out;
}

}  // namespace chasquid::nettrace
