// Which courier takes a recipient, and with what: the routing half of a
// delivery attempt (the send loop in queue.cc does the bookkeeping).
//   pipe       the pipe courier; its failures are always permanent;
//   forward    the remote courier, to the alias's "via" servers, with the
//              sender rewritten; never with REQUIRETLS (RFC 8689 §5);
//   email      local domains to the MDA, the rest to the remote courier
//              (sender rewritten for forwarded mail; REQUIRETLS mail
//              through the courier's own checks).
#include "aliases/aliases.h"
#include "courier/courier.h"
#include "metrics/metrics.h"
#include "normalize/normalize.h"
#include "queue/item.h"
#include "queue/queue.h"
#include "tlsrpt/tlsrpt.h"

namespace chasquid::queue {

namespace {

metrics::CounterMap* deliver_attempts =
    metrics::NewMap("chasquid/queue/deliverAttempts", "recipient_type",
                    "attempts to deliver mail, by recipient type");

}  // namespace

bool DiskQueue::IsLocal(const std::string& addr) const {
  if (addr.find('@') == std::string::npos) return true;
  return opts_.local_domains.count(normalize::Split(addr).second) > 0;
}

// SRS-like rewriting for mail leaving through the remote courier.
std::string DiskQueue::RewriteSender(const std::string& from,
                                     const std::string& original) const {
  if (from == "<>" || IsLocal(from)) return from;
  auto at = original.find('@');
  std::string user = original.substr(0, at);
  std::string domain = at == std::string::npos ? "" : original.substr(at + 1);
  std::string f = from;
  for (char& c : f) {
    if (c == '@') c = '=';
  }
  return user + "+fwd_from=" + f + "@" + domain;
}

net::awaitable<DiskQueue::Routed> DiskQueue::Route(std::shared_ptr<Item> item,
                                                   Recipient r) {
  Status s;
  // The recipient type key, as in deliverAttempts.
  const char* type = "email:remote";
  // Every courier argument is a named local: GCC 12 may destroy
  // temporaries inside a co_await full-expression twice (base/async.h).
  std::shared_ptr<const std::string> data = item->data;
  std::shared_ptr<const safeio::Spool> spool = item->spool;
  std::string to = r.address;
  // A spooled message goes to the couriers as it is: they read it from
  // its file.
  switch (r.type) {
    case Recipient::Type::kPipe: {
      type = "pipe";
      deliver_attempts->Add("pipe");
      if (opts_.pipe) {
        std::string from = item->from;
        if (spool) {
          s = co_await opts_.pipe->DeliverSpooled(
              std::move(from), std::move(to), std::move(data),
              std::move(spool));
        } else {
          s = co_await opts_.pipe->Deliver(std::move(from), std::move(to),
                                           std::move(data));
        }
      } else {
        s = Status::Permanent("pipe delivery not available");
      }
      // Pipe failures are always permanent.
      if (!s.ok() && !s.permanent()) s = Status::Permanent(s.message());
      break;
    }
    case Recipient::Type::kForward: {
      type = "forward";
      deliver_attempts->Add("forward");
      if (opts_.remote) {
        std::string from = RewriteSender(item->from, r.original_address);
        std::vector<std::string> via = r.via;
        if (item->require_tls) {
          // RFC 8689 §5: the servers a "via" alias names are validated by
          // neither MTA-STS nor DANE, so the message may not go there.
          tlsrpt::RequireTlsCount()->Add("bounced");
          s = Status::Permanent(
              "5.7.30 REQUIRETLS support required (forwarding via the "
              "alias's servers cannot validate TLS)");
          break;
        }
        if (spool) {
          s = co_await opts_.remote->ForwardSpooled(
              std::move(from), std::move(to), std::move(via), std::move(data),
              std::move(spool));
        } else {
          s = co_await opts_.remote->Forward(std::move(from), std::move(to),
                                             std::move(via), std::move(data));
        }
      } else {
        s = Status::Transient("remote delivery not available");
      }
      break;
    }
    default:
      if (IsLocal(r.address)) {
        type = "email:local";
        deliver_attempts->Add("email:local");
        if (opts_.local) {
          std::string from = item->from;
          if (spool) {
            s = co_await opts_.local->DeliverSpooled(
                std::move(from), std::move(to), std::move(data),
                std::move(spool));
          } else {
            s = co_await opts_.local->Deliver(std::move(from), std::move(to),
                                              std::move(data));
          }
        } else {
          s = Status::Transient("local delivery not available");
        }
      } else {
        deliver_attempts->Add("email:remote");
        if (opts_.remote) {
          std::string from = RewriteSender(item->from, r.original_address);
          if (item->require_tls && spool) {
            // REQUIRETLS goes through the courier's own checks; a large
            // message is sent from its spool, as any other.
            s = co_await opts_.remote->DeliverRequireTlsSpooled(
                std::move(from), std::move(to), std::move(data),
                std::move(spool));
          } else if (item->require_tls) {
            s = co_await opts_.remote->DeliverRequireTls(
                std::move(from), std::move(to), std::move(data));
          } else if (spool) {
            s = co_await opts_.remote->DeliverSpooled(
                std::move(from), std::move(to), std::move(data),
                std::move(spool));
          } else {
            s = co_await opts_.remote->Deliver(std::move(from), std::move(to),
                                               std::move(data));
          }
        } else {
          s = Status::Transient("remote delivery not available");
        }
      }
  }
  co_return Routed{std::move(s), type};
}

}  // namespace chasquid::queue
