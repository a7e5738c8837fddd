#include "limits/send_brake.h"

namespace chasquid::limits {

const char* SendBrake::LimitName(Limit l) {
  switch (l) {
    case Limit::kMessages:
      return "messagesPerUserHour";
    case Limit::kRecipients:
      return "recipientsPerUserHour";
    case Limit::kNone:
      break;
  }
  return "";
}

SendBrake::SendBrake(SendBrakeOptions opts)
    : opts_(opts), users_(opts.capacity) {}

void SendBrake::Roll(Count* c, Clock::time_point now) const {
  if (now - c->window_start >= kWindow) {
    *c = Count();
    c->window_start = now;
  }
}

SendBrake::Limit SendBrake::Check(const std::string& user, uint32_t rcpts,
                                  Clock::time_point now) {
  if (!enabled()) return Limit::kNone;
  std::lock_guard<std::mutex> l(mu_);
  Count* c = users_.Get(user);
  if (!c) return Limit::kNone;
  Roll(c, now);
  if (opts_.messages_per_hour > 0 &&
      c->messages + 1 > opts_.messages_per_hour) {
    return Limit::kMessages;
  }
  if (opts_.recipients_per_hour > 0 &&
      uint64_t{c->recipients} + rcpts > opts_.recipients_per_hour) {
    return Limit::kRecipients;
  }
  return Limit::kNone;
}

void SendBrake::Sent(const std::string& user, uint32_t rcpts,
                     Clock::time_point now) {
  if (!enabled()) return;
  std::lock_guard<std::mutex> l(mu_);
  Count* c = users_.GetOrInsert(user);
  Roll(c, now);
  c->messages++;
  c->recipients += rcpts;
}

size_t SendBrake::users() const {
  std::lock_guard<std::mutex> l(mu_);
  return users_.size();
}

}  // namespace chasquid::limits
