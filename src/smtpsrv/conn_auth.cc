// AUTH: PLAIN as chasquid does it, plus LOGIN (an
// addition, for older clients). Only under TLS. Credentials are checked
// off the network threads (scrypt is slow on purpose).
#include "smtpsrv/blocking.h"
#include "maillog/maillog.h"
#include "normalize/normalize.h"
#include "smtp/auth.h"
#include "smtpsrv/conn.h"

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
        co_return Reply{554, "5.4.0 Error reading AUTH response: " +
                                 r.status().message()};
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
        co_return Reply{554, "5.4.0 Error reading AUTH response: " +
                                 r.status().message()};
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
      co_return Reply{554, "5.4.0 Error reading AUTH response: " +
                               r.status().message()};
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
    co_return Reply{501, "5.5.2 Error decoding AUTH response: " +
                             nuser.status().message()};
  }
  auto ndomain = normalize::Domain(domain);
  if (!ndomain.ok()) {
    co_return Reply{501, "5.5.2 Error decoding AUTH response: " +
                             ndomain.status().message()};
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
  std::string who = *nuser + "@" + *ndomain;
  if (ok.ok() && *ok) {
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
  co_return Reply{535, "5.7.8 Incorrect user or password"};
}

}  // namespace chasquid::smtpsrv
