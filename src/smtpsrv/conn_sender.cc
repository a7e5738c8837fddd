// Sender authorization (sender_auth.h): MAIL FROM and, if asked, the
// From: header of an authenticated session must be the user's own
// address or one of its aliases.
#include "aliases/aliases.h"
#include "normalize/normalize.h"
#include "smtp/from_header.h"
#include "smtpsrv/blocking.h"
#include "smtpsrv/conn.h"
#include "smtpsrv/sender_auth.h"
#include "smtpsrv/vars.h"

namespace chasquid::smtpsrv {

net::awaitable<std::string> Conn::SenderMatch(std::string addr) {
  const Session& s = *session_;  // Set once AUTH completed.
  std::string me = SenderKey(s.auth_user + "@" + s.auth_domain,
                             opts_.suffix_separators, opts_.drop_characters);
  if (SenderKey(addr, opts_.suffix_separators, opts_.drop_characters) == me) {
    co_return "own";
  }
  if (!deps_.aliases || !deps_.blocking) co_return "";
  auto n = normalize::Addr(addr);
  std::string a = n.ok() ? *n : addr;
  aliases::Resolver* r = deps_.aliases;
  // Resolve may run the alias-resolve hook: off the network threads.
  auto resolve = [r, a] { return r->Resolve(a); };
  auto rcpts = co_await RunBlockingResult(*deps_.blocking, std::move(resolve));
  if (!rcpts.ok()) {
    tr_.Error("sender authorization: resolving " + a + ": " +
              rcpts.status().message());
    co_return "";
  }
  for (const aliases::Recipient& rc : *rcpts) {
    if (rc.type == aliases::RecipientType::kEmail &&
        SenderKey(rc.addr, opts_.suffix_separators, opts_.drop_characters) ==
            me) {
      co_return "alias";
    }
  }
  co_return "";
}

net::awaitable<std::optional<Conn::Reply>> Conn::AuthorizeMailFrom(
    std::string addr) {
  if (!opts_.authorize_sender || !completed_auth_) co_return std::nullopt;
  if (addr == "<>") {
    GetVars().sender_authorization->Add("null");
    co_return std::nullopt;
  }
  std::string how = co_await SenderMatch(addr);
  if (!how.empty()) {
    GetVars().sender_authorization->Add(how);
    tr_.Debugf("sender authorization: " + addr + " is the user's (" + how +
               ")");
    co_return std::nullopt;
  }
  GetVars().sender_authorization->Add("refused");
  std::string who = session_->auth_user + "@" + session_->auth_domain;
  tr_.Error("sender authorization: rule authorize_sender fired: " + who +
            " may not send as " + addr);
  LogRejected(addr, {},
              "sender not authorized for " + who + " (authorize_sender)");
  co_return Reply{550,
                  "5.7.1 Sender address not authorized for the "
                  "authenticated user (authorize_sender)"};
}

net::awaitable<std::optional<Conn::Reply>> Conn::AuthorizeHeaderFrom(
    std::string data) {
  if (!opts_.authorize_header_from || !completed_auth_) {
    co_return std::nullopt;
  }
  std::string who = session_->auth_user + "@" + session_->auth_domain;
  auto addrs = smtp::HeaderFromAddresses(data);
  std::string bad;
  if (!addrs.ok()) {
    bad = addrs.status().message();
  } else {
    for (const std::string& a : *addrs) {
      std::string how = co_await SenderMatch(a);
      if (how.empty()) {
        bad = a;
        break;
      }
    }
  }
  if (bad.empty()) {
    GetVars().sender_authorization->Add("headerOk");
    co_return std::nullopt;
  }
  GetVars().sender_authorization->Add("headerRefused");
  tr_.Error("sender authorization: rule authorize_header_from fired: " + who +
            " may not send with From: " + bad);
  LogRejected(mail_from_, rcpt_to_,
              "header From not authorized for " + who + ": " + bad +
                  " (authorize_header_from)");
  co_return Reply{550,
                  "5.7.1 From header not authorized for the authenticated "
                  "user (authorize_header_from)"};
}

}  // namespace chasquid::smtpsrv
