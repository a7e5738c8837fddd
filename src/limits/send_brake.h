// The stolen-account brake: messages and recipients per authenticated
// user per hour. A stolen password is used to send as much spam as
// possible, as fast as possible, until the host's IP is blocklisted; a
// person, or a mailing script of a small host, sends far less. Past either
// limit the user's mail gets a temporary error, so nothing is lost: the
// owner (or the admin, alerted by the metric) can act, and a legitimate
// sender's client retries later.
//
// Counting: a fixed one-hour window per user, starting at the user's
// first message in it. Messages and recipients are counted when a message
// is accepted (queued).
//
// Bounds: users live in a fixed-capacity LruTable (`capacity`); only
// authenticated users are counted, so its keys are real accounts.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "limits/lru_table.h"

namespace chasquid::limits {

struct SendBrakeOptions {
  uint32_t messages_per_hour = 0;    // 0: no limit.
  uint32_t recipients_per_hour = 0;  // 0: no limit.
  size_t capacity = 4096;
};

class SendBrake {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::hours kWindow{1};

  enum class Limit { kNone, kMessages, kRecipients };
  // "messagesPerUserHour", "recipientsPerUserHour"; "" for kNone.
  static const char* LimitName(Limit l);

  explicit SendBrake(SendBrakeOptions opts);

  // Whether `user` may send one more message with `rcpts` recipients now.
  Limit Check(const std::string& user, uint32_t rcpts, Clock::time_point now);
  // Counts an accepted message.
  void Sent(const std::string& user, uint32_t rcpts, Clock::time_point now);

  bool enabled() const {
    return opts_.messages_per_hour > 0 || opts_.recipients_per_hour > 0;
  }
  size_t users() const;

 private:
  struct Count {
    Clock::time_point window_start{};
    uint32_t messages = 0;
    uint32_t recipients = 0;
  };
  void Roll(Count* c, Clock::time_point now) const;

  const SendBrakeOptions opts_;
  mutable std::mutex mu_;
  LruTable<Count> users_;
};

}  // namespace chasquid::limits
