// The persistent queue (spec/queue-and-delivery §2-§9): the only owner of
// accepted mail. Put writes the item to <data_dir>/queue/m:<id> in
// chasquid's text format and fsyncs it before returning, so the SMTP server
// may answer 250; a send loop per item then delivers each recipient through
// the couriers, retrying on the spec's schedule and sending DSNs.
//
// CONTRACT: this header is fixed as far as smtpsrv uses it (Put, Len);
// the implementation comes with the queue work. Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/status.h"

namespace chasquid::queue {

namespace net = boost::asio;

class Queue {
 public:
  virtual ~Queue() = default;

  // Queues `data` (LF line endings, headers already added) from `from` to
  // every address in `to`, after alias resolution. Returns the item ID.
  // Errors: "queue size too big, try again later" (transient) when
  // max_queue_items is reached; alias resolution or write errors otherwise.
  virtual net::awaitable<Result<std::string>> Put(
      std::string from, std::vector<std::string> to,
      std::shared_ptr<const std::string> data) = 0;

  virtual size_t Len() const = 0;
};

}  // namespace chasquid::queue
