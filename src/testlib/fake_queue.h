// A queue for the SMTP server's tests and fuzzer: it keeps what it is
// given, in memory, or refuses everything (`fail`) with the real queue's
// "full" reply. Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "queue/queue.h"

namespace chasquid::testlib {

namespace net = boost::asio;

// A queue that keeps what it is given.
class FakeQueue : public queue::Queue {
 public:
  struct Msg {
    std::string from;
    std::vector<std::string> to;
    std::string data;
    bool require_tls = false;
  };
  net::awaitable<Result<std::string>> Put(
      std::string from, std::vector<std::string> to,
      std::shared_ptr<const std::string> data) override;
  net::awaitable<Result<std::string>> PutWithOptions(
      std::string from, std::vector<std::string> to,
      std::shared_ptr<const std::string> data, PutOptions opts) override;
  size_t Len() const override;
  std::vector<Msg> Messages() const;
  void Clear();  // Forgets what it kept (a fuzzer's long runs).
  std::atomic<bool> fail{false};

 private:
  mutable std::mutex mu_;
  std::vector<Msg> msgs_;
};

}  // namespace chasquid::testlib
