#include "testlib/fake_queue.h"

namespace chasquid::testlib {

net::awaitable<Result<std::string>> FakeQueue::Put(
    std::string from, std::vector<std::string> to,
    std::shared_ptr<const std::string> data) {
  if (fail) co_return Status::Transient("Queue size too big, try again later");
  std::lock_guard<std::mutex> l(mu_);
  msgs_.push_back({from, to, *data});
  co_return "id" + std::to_string(msgs_.size());
}

net::awaitable<Result<std::string>> FakeQueue::PutWithOptions(
    std::string from, std::vector<std::string> to,
    std::shared_ptr<const std::string> data, PutOptions opts) {
  if (fail) co_return Status::Transient("Queue size too big, try again later");
  std::lock_guard<std::mutex> l(mu_);
  msgs_.push_back({from, to, *data, opts.require_tls});
  co_return "id" + std::to_string(msgs_.size());
}

size_t FakeQueue::Len() const {
  std::lock_guard<std::mutex> l(mu_);
  return msgs_.size();
}

std::vector<FakeQueue::Msg> FakeQueue::Messages() const {
  std::lock_guard<std::mutex> l(mu_);
  return msgs_;
}

void FakeQueue::Clear() {
  std::lock_guard<std::mutex> l(mu_);
  msgs_.clear();
}

}  // namespace chasquid::testlib
