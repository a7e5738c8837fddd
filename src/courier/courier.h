// Courier delivers one message to one recipient, by MDA or by SMTP. The
// queue calls it from many items at once, so implementations
// are thread-safe.
//
// mda.cc delivers locally (MDA and pipe aliases); smtp.cc remotely.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/status.h"
#include "safeio/spool.h"

namespace chasquid::courier {

namespace net = boost::asio;

class Courier {
 public:
  virtual ~Courier() = default;
  // A transient error makes the queue retry later; a permanent one makes it
  // send a DSN back to `from`. `data` uses LF line endings (the queue's
  // storage form); couriers convert as their peer needs.
  virtual net::awaitable<Status> Deliver(
      std::string from, std::string to,
      std::shared_ptr<const std::string> data) = 0;

  // Delivery through specific servers ("via" aliases). Only the SMTP courier
  // implements it; others return a permanent error.
  virtual net::awaitable<Status> Forward(
      std::string from, std::string to, std::vector<std::string> servers,
      std::shared_ptr<const std::string> data);

  // Deliver for a message kept on disk (ours, for large messages):
  // `head`, then `body`'s contents, LF line endings as for Deliver. The
  // default reads it whole into memory and calls Deliver; couriers that
  // can pass a file on (MDA, pipe) override it and never hold the body.
  virtual net::awaitable<Status> DeliverSpooled(
      std::string from, std::string to, std::shared_ptr<const std::string> head,
      std::shared_ptr<const safeio::Spool> body);

  // Forward for a message kept on disk: `head`, then `body`'s contents,
  // as for DeliverSpooled. The default reads it whole into memory and
  // calls Forward; the SMTP courier overrides it and sends the body a
  // piece at a time from its file.
  virtual net::awaitable<Status> ForwardSpooled(
      std::string from, std::string to, std::vector<std::string> servers,
      std::shared_ptr<const std::string> head,
      std::shared_ptr<const safeio::Spool> body);

  // Ours (RFC 8689 REQUIRETLS): delivery of a message whose sender asked
  // for validated TLS on every hop. The SMTP courier relays it only to an
  // MX whose TLS a policy validated and that takes REQUIRETLS on, else
  // fails permanently with 5.7.30. The default is Deliver: local delivery
  // is the last hop, where the requirement ends.
  virtual net::awaitable<Status> DeliverRequireTls(
      std::string from, std::string to,
      std::shared_ptr<const std::string> data);

  // DeliverRequireTls for a message kept on disk: `head`, then `body`'s
  // contents, as for DeliverSpooled. The default is DeliverSpooled (the
  // last hop, as above); the SMTP courier overrides it and sends the body
  // a piece at a time from its file.
  virtual net::awaitable<Status> DeliverRequireTlsSpooled(
      std::string from, std::string to, std::shared_ptr<const std::string> head,
      std::shared_ptr<const safeio::Spool> body);
};

}  // namespace chasquid::courier
