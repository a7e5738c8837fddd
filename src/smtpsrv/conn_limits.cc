// Per-client connection limits and the per-user hourly brake
// (limits/client_limits.h, limits/send_brake.h): the checks at the
// connection's start, MAIL, RCPT, and the count once a message is queued.
// Each refusal is a temporary error, so nothing is lost; it is traced with
// the limit's name, mail-logged, and counted in
// chasquid/smtpIn/limitRefusals by that name.
#include "limits/client_key.h"
#include "maillog/maillog.h"
#include "smtpsrv/conn.h"
#include "smtpsrv/vars.h"

namespace chasquid::smtpsrv {

std::string Conn::AuthUser() const {
  return session_->auth_user + "@" + session_->auth_domain;
}

Conn::Reply Conn::LimitRefusal(const char* limit, int code, std::string text) {
  GetVars().limit_refusals->Add(limit);
  std::string reason = text.substr(text.find(' ') + 1);
  tr_.Error(std::string("limit ") + limit + " fired: " + reason);
  LogRejected(has_sender_ ? mail_from_ : "", {}, reason + " (" + limit + ")");
  return Reply{code, std::move(text)};
}

std::optional<Conn::Reply> Conn::AdmitConnection() {
  using Limit = limits::ClientLimits::Limit;
  Limit l =
      srv_->client_limits()->Admit(limits::ClientKey(remote_ip_), Clock::now());
  if (l == Limit::kNone) {
    admitted_ = srv_->client_limits();
    return std::nullopt;
  }
  const char* name = limits::ClientLimits::LimitName(l);
  if (l == Limit::kOpen) {
    return LimitRefusal(
        name, 421,
        "4.7.0 Too many connections from your address, try again later");
  }
  return LimitRefusal(
      name, 421,
      "4.7.0 Too many new connections from your address, try again later");
}

std::optional<Conn::Reply> Conn::CheckSendBrake(uint32_t rcpts) {
  using Limit = limits::SendBrake::Limit;
  if (!completed_auth_) return std::nullopt;
  Limit l = srv_->send_brake().Check(AuthUser(), rcpts, Clock::now());
  if (l == Limit::kNone) return std::nullopt;
  const char* name = limits::SendBrake::LimitName(l);
  if (l == Limit::kMessages) {
    return LimitRefusal(name, 451,
                        "4.7.1 Too many messages from this user in the last "
                        "hour, try again later");
  }
  return LimitRefusal(name, 452,
                      "4.5.3 Too many recipients from this user in the last "
                      "hour, try again later");
}

void Conn::CountSent() {
  if (!completed_auth_) return;
  srv_->send_brake().Sent(AuthUser(), static_cast<uint32_t>(rcpt_to_.size()),
                          Clock::now());
}

}  // namespace chasquid::smtpsrv
