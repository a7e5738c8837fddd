// A courier for the queue's unit tests: it records every attempt and
// answers each recipient from a script, then from a rule, then with OK.
// Thread-safe: the queue calls it from its send loops while the test
// waits on it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "courier/courier.h"

namespace chasquid::testlib {

namespace net = boost::asio;

class FakeCourier : public courier::Courier {
 public:
  struct Delivery {
    std::string from, to, data;
    std::vector<std::string> via;  // Forward's servers; empty for Deliver.
  };

  net::awaitable<Status> Deliver(
      std::string from, std::string to,
      std::shared_ptr<const std::string> data) override;
  net::awaitable<Status> Forward(
      std::string from, std::string to, std::vector<std::string> servers,
      std::shared_ptr<const std::string> data) override;

  // The next attempts to `to` get `results`, in order.
  void Script(const std::string& to, std::vector<Status> results);
  // Once a recipient's script is used up: the status `rule` gives, if it
  // gives one, else OK. Set before the queue runs.
  std::function<std::optional<Status>(const std::string& to)> rule;

  // Waits (at most 10 s) until `n` attempts were made; returns them all.
  std::vector<Delivery> WaitFor(size_t n);
  // Waits (at most 10 s) until `to` had `n` attempts; returns how many.
  int WaitCalls(const std::string& to, int n);
  size_t Count();
  // The data of the last successful delivery to `to`.
  std::optional<std::string> Delivered(const std::string& to);

 private:
  Status Record(Delivery d);

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Delivery> done_;
  std::map<std::string, int> calls_;
  std::map<std::string, std::string> delivered_;
  std::map<std::string, std::deque<Status>> script_;
};

}  // namespace chasquid::testlib
