// The most recent delivery errors, kept in memory for the monitoring
// overview page ("what went wrong lately, and where to").
//
// The queue calls RecordDeliveryError once per failed delivery attempt
// (never on success, so a healthy server pays nothing); the overview reads
// RecentDeliveryErrors. Only the recipient's domain is kept, not the
// address: the page answers "which destinations fail", and it has no
// authentication. The list is bounded (kMaxDeliveryErrors entries, each
// message cut at kMaxDeliveryErrorMessage bytes) and lost on restart.
// Thread-safe: a mutex held for one push.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chasquid::metrics {

inline constexpr size_t kMaxDeliveryErrors = 20;
inline constexpr size_t kMaxDeliveryErrorMessage = 300;

struct DeliveryError {
  std::chrono::system_clock::time_point when;
  std::string domain;          // The recipient's, "" for a pipe alias.
  std::string recipient_type;  // As in chasquid/queue/deliverAttempts.
  bool permanent = false;
  std::string message;
};

// Keeps one failed attempt; the oldest entry goes when the list is full.
// Also counts it in chasquid/queue/deliveryErrorsRecorded.
void RecordDeliveryError(std::string_view recipient,
                         std::string_view recipient_type, bool permanent,
                         std::string_view message);

// The kept errors, newest first.
std::vector<DeliveryError> RecentDeliveryErrors();

}  // namespace chasquid::metrics
