// Delivery Status Notifications: the bounce
// sent back to the envelope sender when recipients failed permanently or
// timed out. The text format is chasquid's, byte for byte: LF line endings,
// multipart/report with a text part, a message/global-delivery-status part
// and the first 256 KiB of the original message. Pure functions.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "queue/item.h"

namespace chasquid::queue {

struct DSNParams {
  std::string from;  // The original envelope sender (DSN's To:).
  const std::string* data = nullptr;  // The original message.
  std::vector<Recipient> rcpt;        // Final recipients, in order.
  std::function<bool(const std::string& domain)> is_local;
  std::string id2;       // Message-ID suffix (fresh 11-char ID).
  std::string boundary;  // MIME boundary (fresh 11-char ID).
  std::string date;      // "Mon, 02 Jan 2006 15:04:05 -0700".
};

// The reporting domain.
std::string ReportingDomain(const DSNParams& p);

// The whole DSN message.
std::string BuildDSN(const DSNParams& p);

// The Message-ID header value of `data` (trimmed, folded lines joined), or
// "" if absent or the header block does not parse.
std::string MessageIDOf(const std::string& data);

}  // namespace chasquid::queue
