#include "metrics/delivery_errors.h"

#include <deque>
#include <mutex>

#include "metrics/metrics.h"

namespace chasquid::metrics {

namespace {

struct Ring {
  std::mutex mu;
  std::deque<DeliveryError> errors;  // Oldest first.
};

Ring& Errors() {
  static auto* r = new Ring;  // Never destroyed: outlives every caller.
  return *r;
}

Counter* Recorded() {
  static Counter* c = NewCounter(
      "chasquid/queue/deliveryErrorsRecorded",
      "failed delivery attempts recorded for the overview page's list of "
      "recent errors");
  return c;
}

// A UTF-8 safe cut: never in the middle of a multi-byte sequence.
std::string Cut(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) n--;
  return std::string(s.substr(0, n)) + "...";
}

}  // namespace

void RecordDeliveryError(std::string_view recipient,
                         std::string_view recipient_type, bool permanent,
                         std::string_view message) {
  DeliveryError e;
  e.when = std::chrono::system_clock::now();
  size_t at = recipient.rfind('@');
  if (recipient_type != "pipe" && at != std::string_view::npos) {
    e.domain = Cut(recipient.substr(at + 1), 255);
  }
  e.recipient_type = std::string(recipient_type);
  e.permanent = permanent;
  e.message = Cut(message, kMaxDeliveryErrorMessage);
  Ring& r = Errors();
  {
    std::lock_guard<std::mutex> l(r.mu);
    r.errors.push_back(std::move(e));
    while (r.errors.size() > kMaxDeliveryErrors) r.errors.pop_front();
  }
  Recorded()->Add();
}

std::vector<DeliveryError> RecentDeliveryErrors() {
  Recorded();  // Exported from the first look on, even before an error.
  Ring& r = Errors();
  std::lock_guard<std::mutex> l(r.mu);
  return {r.errors.rbegin(), r.errors.rend()};
}

}  // namespace chasquid::metrics
