// AUTH: PLAIN as chasquid does it, plus LOGIN (an
// addition, for older clients). Only under TLS. Credentials are checked
// off the network threads (scrypt is slow on purpose), after the AUTH
// throttle (limits/auth_throttle.h) has had its say.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "limits/client_key.h"
#include "maillog/maillog.h"
#include "normalize/normalize.h"
#include "smtp/auth.h"
#include "smtpsrv/blocking.h"
#include "smtpsrv/conn.h"
#include "smtpsrv/vars.h"

namespace chasquid::smtpsrv {

net::awaitable<Result<std::string>> Conn::AuthChallenge(std::string prompt) {
  Status s = co_await WriteReply(334, prompt);
  if (!s.ok()) co_return s;
  SetCommandDeadline();
  auto line = co_await ReadLine();
  if (!line.ok()) co_return line.status();
  co_return *line;
}

net::awaitable<Conn::Reply> Conn::Auth(std::string params) {
  if (!on_tls_) co_return Reply{503, "5.7.10 You feel vulnerable"};
  if (completed_auth_) {
    co_return Reply{503, "5.5.1 You are already wearing that!"};
  }
  size_t sp = params.find(' ');
  std::string mech = params.substr(0, sp);
  std::optional<std::string> initial;
  if (sp != std::string::npos) initial = params.substr(sp + 1);

  if (mech == "PLAIN") {
    std::string response;
    if (initial) {
      response = *initial;
    } else {
      std::string prompt;  // An empty challenge: the client sends it all.
      auto r = co_await AuthChallenge(std::move(prompt));
      if (!r.ok()) {
        co_return Reply{
            554, "5.4.0 Error reading AUTH response: " + r.status().message()};
      }
      response = *r;
    }
    auto creds = smtp::DecodePlain(response);
    if (!creds.ok()) {
      co_return Reply{501, "5.5.2 Error decoding AUTH response: " +
                               creds.status().message()};
    }
    co_return co_await Authenticate(creds->user, creds->domain,
                                    creds->password);
  }

  if (mech == "LOGIN") {
    // RFC draft-murchison-sasl-login: base64 "Username:" / "Password:"
    // prompts, one base64 line each.
    std::string user_b64;
    if (initial && !initial->empty()) {
      user_b64 = *initial;
    } else {
      std::string prompt = "VXNlcm5hbWU6";  // "Username:"
      auto r = co_await AuthChallenge(std::move(prompt));
      if (!r.ok()) {
        co_return Reply{
            554, "5.4.0 Error reading AUTH response: " + r.status().message()};
      }
      user_b64 = *r;
    }
    auto identity = smtp::DecodeBase64(user_b64);
    if (!identity.ok()) {
      co_return Reply{501, "5.5.2 Error decoding AUTH response: " +
                               identity.status().message()};
    }
    std::string prompt = "UGFzc3dvcmQ6";  // "Password:"
    auto r = co_await AuthChallenge(std::move(prompt));
    if (!r.ok()) {
      co_return Reply{
          554, "5.4.0 Error reading AUTH response: " + r.status().message()};
    }
    auto password = smtp::DecodeBase64(*r);
    if (!password.ok()) {
      co_return Reply{501, "5.5.2 Error decoding AUTH response: " +
                               password.status().message()};
    }
    if (identity->empty()) {
      co_return Reply{501,
                      "5.5.2 Error decoding AUTH response: empty identity, "
                      "must be in the form user@domain"};
    }
    auto c = smtp::SplitIdentity(*identity, *password);
    co_return co_await Authenticate(c.user, c.domain, c.password);
  }

  co_return Reply{534, "5.7.9 Asmodeus demands 534 zorkmids for safe passage"};
}

net::awaitable<Conn::Reply> Conn::Authenticate(std::string user,
                                               std::string domain,
                                               std::string password) {
  auto nuser = normalize::User(user);
  if (!nuser.ok()) {
    co_return Reply{
        501, "5.5.2 Error decoding AUTH response: " + nuser.status().message()};
  }
  auto ndomain = normalize::Domain(domain);
  if (!ndomain.ok()) {
    co_return Reply{501, "5.5.2 Error decoding AUTH response: " +
                             ndomain.status().message()};
  }
  std::string who = *nuser + "@" + *ndomain;
  limits::AuthThrottle* throttle = srv_->auth_throttle();
  std::string client = limits::ClientKey(remote_ip_);
  if (throttle) {
    auto v = throttle->Check(client, who, Clock::now());
    if (v.refused != limits::AuthThrottle::Rule::kNone) {
      co_return AuthRefused(who, v.refused, v.retry_after);
    }
    if (v.spared) {
      GetVars().auth_throttle->Add("spared");
      tr_.Printf("auth throttle: user " + who +
                 " is blocked, but this client authenticated as it "
                 "recently: spared");
    }
  }
  task_.SetState("authenticating");
  Result<bool> ok = Status::Transient("no authenticator");
  if (deps_.authenticate && deps_.blocking) {
    auto fn = deps_.authenticate;
    auto check = [fn, u = *nuser, d = *ndomain, p = std::move(password)] {
      return fn(u, d, p);
    };
    ok = co_await RunBlockingResult(*deps_.blocking, std::move(check));
  }
  if (ok.ok() && *ok) {
    if (throttle) throttle->Succeeded(client, who, Clock::now());
    MailLog().Auth(remote_addr_, who, true);
    MutableSession().auth_user = *nuser;
    MutableSession().auth_domain = *ndomain;
    completed_auth_ = true;
    co_return Reply{235, "2.7.0 Authentication successful"};
  }
  MailLog().Auth(remote_addr_, who, false);
  if (!ok.ok()) {
    tr_.Error("error authenticating: " + ok.status().message());
    co_return Reply{454, "4.7.0 Temporary authentication failure"};
  }
  if (throttle) {
    auto out = throttle->Failed(client, who, Clock::now());
    if (out.client_blocked) {
      GetVars().auth_throttle->Add("clientBlocked");
      tr_.Error("auth throttle: rule client fired: " + client +
                " is blocked after too many failures");
    }
    if (out.user_blocked) {
      GetVars().auth_throttle->Add("userBlocked");
      tr_.Error("auth throttle: rule user fired: " + who +
                " is blocked after too many failures");
    }
    if (out.delay.count() > 0) {
      GetVars().auth_throttle->Add("delayed");
      tr_.Printf(
          "auth throttle: delaying the reply by " +
          std::to_string(
              std::chrono::duration_cast<std::chrono::milliseconds>(out.delay)
                  .count()) +
          "ms");
      co_await Pause(out.delay);
    }
  }
  co_return Reply{535, "5.7.8 Incorrect user or password"};
}

Conn::Reply Conn::AuthRefused(const std::string& who,
                              limits::AuthThrottle::Rule rule,
                              Clock::duration retry_after) {
  using Rule = limits::AuthThrottle::Rule;
  std::string client = limits::ClientKey(remote_ip_);
  srv_->auth_throttle()->Refused(client, rule, Clock::now());
  bool by_client = rule == Rule::kClient;
  std::string reason = by_client ? "too many failures from this client"
                                 : "too many failures for this user";
  GetVars().auth_throttle->Add(by_client ? "refusedClient" : "refusedUser");
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(retry_after);
  tr_.Error(std::string("auth throttle: rule ") +
            limits::AuthThrottle::RuleName(rule) + " fired for " + who +
            " from " + client + ": refused, blocked for " +
            std::to_string(secs.count()) + "s more");
  MailLog().AuthRefused(remote_addr_, who, reason);
  if (auth_refused_) {
    // It was told once on this connection and keeps going: hang up.
    GetVars().auth_throttle->Add("closed");
    close_after_reply_ = true;
    return Reply{421,
                 "4.7.0 Too many failed authentications, closing connection"};
  }
  auth_refused_ = true;
  return Reply{454, by_client ? "4.7.0 Too many failed authentications from "
                                "your address, try again later"
                              : "4.7.0 Too many failed authentications for "
                                "this user, try again later"};
}

net::awaitable<void> Conn::Pause(Clock::duration d) {
  net::steady_timer timer(sock_.get_executor());
  timer.expires_after(d);
  auto op = timer.async_wait(net::as_tuple(net::use_awaitable));
  (void)co_await std::move(op);
}

}  // namespace chasquid::smtpsrv
