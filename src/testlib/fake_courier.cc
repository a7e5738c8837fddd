#include "testlib/fake_courier.h"

namespace chasquid::testlib {

namespace {
constexpr auto kWait = std::chrono::seconds(10);
}  // namespace

net::awaitable<Status> FakeCourier::Deliver(
    std::string from, std::string to, std::shared_ptr<const std::string> data) {
  co_return Record({std::move(from), std::move(to), *data, {}});
}

net::awaitable<Status> FakeCourier::Forward(
    std::string from, std::string to, std::vector<std::string> servers,
    std::shared_ptr<const std::string> data) {
  co_return Record({std::move(from), std::move(to), *data, std::move(servers)});
}

void FakeCourier::Script(const std::string& to, std::vector<Status> results) {
  std::lock_guard<std::mutex> l(mu_);
  script_[to].assign(results.begin(), results.end());
}

Status FakeCourier::Record(Delivery d) {
  std::lock_guard<std::mutex> l(mu_);
  Status s;
  auto& q = script_[d.to];
  if (!q.empty()) {
    s = q.front();
    q.pop_front();
  } else if (rule) {
    if (auto r = rule(d.to)) s = *r;
  }
  calls_[d.to]++;
  if (s.ok()) delivered_[d.to] = d.data;
  done_.push_back(std::move(d));
  cv_.notify_all();
  return s;
}

std::vector<FakeCourier::Delivery> FakeCourier::WaitFor(size_t n) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, kWait, [&] { return done_.size() >= n; });
  return done_;
}

int FakeCourier::WaitCalls(const std::string& to, int n) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, kWait, [&] { return calls_[to] >= n; });
  return calls_[to];
}

size_t FakeCourier::Count() {
  std::lock_guard<std::mutex> l(mu_);
  return done_.size();
}

std::optional<std::string> FakeCourier::Delivered(const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = delivered_.find(to);
  if (it == delivered_.end()) return std::nullopt;
  return it->second;
}

}  // namespace chasquid::testlib
