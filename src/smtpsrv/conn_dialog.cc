// HELO/EHLO, RSET, MAIL and RCPT.
#include <random>

#include "aliases/aliases.h"
#include "base/strings.h"
#include "normalize/normalize.h"
#include "smtp/address.h"
#include "smtpsrv/blocking.h"
#include "smtpsrv/conn.h"
#include "smtpsrv/vars.h"
#include "tlsrpt/tlsrpt.h"

namespace chasquid::smtpsrv {

namespace {

// RFC 5321 §4.5.3.1.3 limits a path to 256 octets.
constexpr size_t kMaxAddressLength = 256;
// chasquid accepts 101 recipients and refuses the 102nd.
constexpr size_t kMaxRecipients = 100;

template <size_t N>
const char* Pick(const char* const (&options)[N]) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  return options[rng() % N];
}

std::string DomainOf(const std::string& addr) {
  size_t at = addr.find('@');
  return at == std::string::npos ? "" : addr.substr(at + 1);
}

// Whether the MAIL parameters after the path include REQUIRETLS (RFC 8689
// §3: a keyword without a value). Other parameters are ignored, as
// chasquid ignores them all.
bool HasRequireTls(std::string_view rest, const std::string& path) {
  size_t at = rest.find(path);
  if (at == std::string_view::npos) return false;
  std::string_view params = rest.substr(at + path.size());
  while (!params.empty()) {
    size_t start = params.find_first_not_of(" \t");
    if (start == std::string_view::npos) break;
    params.remove_prefix(start);
    size_t end = params.find_first_of(" \t");
    std::string_view p = params.substr(0, end);
    if (AsciiToUpper(p) == "REQUIRETLS") return true;
    if (end == std::string_view::npos) break;
    params.remove_prefix(end);
  }
  return false;
}

}  // namespace

Conn::Reply Conn::Helo(const std::string& params) {
  std::string_view p = TrimSpace(params);
  if (p.empty()) return {501, "Invisible customers are not welcome!"};
  ehlo_domain_ = std::string(p.substr(0, p.find_first_of(" \t\r\n\v\f")));
  static const char* const kShops[] = {"general store",
                                       "used armor dealership",
                                       "second-hand bookstore",
                                       "liquor emporium",
                                       "antique weapons outlet",
                                       "delicatessen",
                                       "jewelers",
                                       "quality apparel and accessories",
                                       "hardware",
                                       "rare books",
                                       "lighting store"};
  return {250, std::string("Hello my friend, welcome to chasqui's ") +
                   Pick(kShops) + "!"};
}

Conn::Reply Conn::Ehlo(const std::string& params) {
  std::string_view p = TrimSpace(params);
  if (p.empty()) return {501, "Invisible customers are not welcome!"};
  size_t end = p.find_first_of(" \t\r\n\v\f");
  ehlo_domain_ = std::string(p.substr(0, end));
  is_esmtp_ = true;
  std::string r = hostname_ + " - Your hour of destiny has come.\n";
  r += "8BITMIME\nPIPELINING\nSMTPUTF8\nENHANCEDSTATUSCODES\n";
  r += "SIZE " + std::to_string(opts_.max_data_size) + "\n";
  if (on_tls_) {
    // Ours (RFC 8689 §3): offered only once the session is encrypted.
    r += "REQUIRETLS\n";
    // LOGIN is an addition over chasquid, for older clients (Outlook,
    // some printers) that know no PLAIN.
    r += "AUTH PLAIN LOGIN\n";
  } else {
    r += "STARTTLS\n";
  }
  r += "HELP";
  return {250, r};
}

Conn::Reply Conn::Rset() {
  ResetEnvelope();
  static const char* const kPhrases[] = {
      "Who was that Maud person anyway?",
      "Thinking of Maud you forget everything else.",
      "Your mind releases itself from mundane concerns.",
      "As your mind turns inward on itself, you forget everything else."};
  return {250, std::string("2.0.0 ") + Pick(kPhrases)};
}

void Conn::ResetEnvelope() {
  has_sender_ = false;
  require_tls_ = false;
  mail_from_.clear();
  rcpt_to_.clear();
  spf_.reset();
}

net::awaitable<Conn::Reply> Conn::Mail(std::string params) {
  auto rest = smtp::StripVerbPrefix(params, "from:");
  if (!rest) co_return Reply{500, "5.5.2 Unknown command"};
  if (IsSubmission(mode_) && !completed_auth_) {
    co_return Reply{550, "5.7.9 Mail to submission port must be authenticated"};
  }
  auto token = smtp::FirstToken(*rest);
  if (!token) co_return Reply{500, "5.5.4 Malformed command: unexpected EOF"};

  // The envelope is reset even if a later check fails.
  ResetEnvelope();
  if (auto braked = CheckSendBrake(0)) co_return *braked;

  // RFC 8689 §4.1: REQUIRETLS only on a TLS session; it is not even
  // offered before STARTTLS.
  bool require_tls = HasRequireTls(*rest, *token);
  if (require_tls && !on_tls_) {
    tlsrpt::RequireTlsCount()->Add("refusedPlain");
    co_return Reply{530, "5.7.10 REQUIRETLS needs a TLS session"};
  }

  if (*token == "<>") {
    // Null sender (bounces): no SPF, no security level check.
    std::string null_sender = "<>";
    auto refused = co_await AuthorizeMailFrom(std::move(null_sender));
    if (refused) co_return *refused;
    has_sender_ = true;
    require_tls_ = require_tls;
    mail_from_ = "<>";
    co_return Reply{250, "2.1.5 You feel like you are being watched"};
  }

  auto addr = smtp::ParseAddress(*token);
  if (!addr.ok() || addr->empty()) {
    co_return Reply{501, "5.1.7 Sender address malformed"};
  }
  if (addr->find('@') == std::string::npos) {
    co_return Reply{501, "5.1.8 Sender address must contain a domain"};
  }
  if (addr->size() > kMaxAddressLength) {
    co_return Reply{501, "5.1.7 Sender address too long"};
  }

  // Policy seam: SPF and the incoming security level.
  std::string typed_domain = DomainOf(*addr);
  if (deps_.checks && !completed_auth_ && !remote_ip_.empty()) {
    task_.SetState("SPF");
    auto spf = co_await deps_.checks->Spf(remote_ip_, *addr, &tr_);
    spf_ = spf ? std::make_unique<SpfOutcome>(std::move(*spf)) : nullptr;
    if (spf_) {
      GetVars().spf_result_count->Add(spf_->result);
      if (spf_->result == "fail") {
        LogRejected(*addr, {}, "failed SPF: " + spf_->explanation);
        co_return Reply{550, "5.7.23 SPF check failed: " + spf_->explanation};
      }
    }
  }
  if (!spf_ || spf_->result != "pass" || !deps_.checks) {
    GetVars().security_level_checks->Add("skip");
  } else {
    // pass/fail are counted by the check itself (domaininfo), once.
    bool ok =
        co_await deps_.checks->IncomingSecLevelOk(typed_domain, on_tls_, &tr_);
    if (!ok) {
      LogRejected(*addr, {}, "security level check failed");
      co_return Reply{550, "5.7.3 Security level check failed"};
    }
  }

  auto converted = normalize::DomainToUnicode(*addr);
  if (!converted.ok()) {
    LogRejected(*addr, {},
                "malformed address: " + converted.status().message());
    co_return Reply{501,
                    "5.1.8 Malformed sender domain (IDNA conversion failed)"};
  }
  std::string sender = *converted;
  auto refused = co_await AuthorizeMailFrom(std::move(sender));
  if (refused) co_return *refused;
  has_sender_ = true;
  require_tls_ = require_tls;
  mail_from_ = *converted;
  co_return Reply{250, "2.1.5 You feel like you are being watched"};
}

net::awaitable<Conn::Reply> Conn::Rcpt(std::string params) {
  auto rest = smtp::StripVerbPrefix(params, "to:");
  if (!rest) co_return Reply{500, "5.5.2 Unknown command"};
  if (!has_sender_) co_return Reply{503, "5.5.1 Sender not yet given"};
  auto token = smtp::FirstToken(*rest);
  if (!token) co_return Reply{500, "5.5.4 Malformed command: unexpected EOF"};
  if (rcpt_to_.size() > kMaxRecipients) {
    co_return Reply{452, "4.5.3 Too many recipients"};
  }
  uint32_t with_this = static_cast<uint32_t>(rcpt_to_.size()) + 1;
  if (auto braked = CheckSendBrake(with_this)) co_return *braked;
  auto parsed = smtp::ParseAddress(*token);
  if (!parsed.ok() || parsed->empty()) {
    co_return Reply{501, "5.1.3 Malformed destination address"};
  }
  auto addr = normalize::DomainToUnicode(*parsed);
  if (!addr.ok()) {
    co_return Reply{501,
                    "5.1.2 Malformed destination domain (IDNA conversion "
                    "failed)"};
  }
  if (addr->size() > kMaxAddressLength) {
    co_return Reply{501, "5.1.3 Destination address too long"};
  }

  std::string domain = DomainOf(*addr);
  bool local = domain.empty() || deps_.local_domains.count(domain) > 0;
  if (!local && !completed_auth_) {
    LogRejected(mail_from_, {*addr}, "relay not allowed");
    co_return Reply{503, "5.7.1 Relay not allowed"};
  }
  if (local) {
    auto norm = normalize::Addr(*addr);
    if (!norm.ok()) {
      LogRejected(mail_from_, {*addr},
                  "invalid address: " + norm.status().message());
      co_return Reply{550, "5.1.3 Destination address is invalid"};
    }
    *addr = *norm;
    task_.SetState("checking recipient");
    auto exists = co_await LocalUserExists(*addr);
    if (!exists.ok()) {
      LogRejected(
          mail_from_, {*addr},
          "error checking if user exists: " + exists.status().message());
      co_return Reply{451, "4.4.3 Temporary error checking address"};
    }
    if (!*exists) {
      LogRejected(mail_from_, {*addr}, "local user does not exist");
      co_return Reply{550,
                      "5.1.1 Destination address is unknown (user does not "
                      "exist)"};
    }
  }
  rcpt_to_.push_back(*addr);
  co_return Reply{250, "2.1.5 You have an eerie feeling..."};
}

net::awaitable<Result<bool>> Conn::LocalUserExists(std::string addr) {
  // Aliases first (exact, cleaned, catch-all), then the user databases.
  // Both usually answer from memory, here on the network thread; only the
  // alias-resolve hook (a process) and a Dovecot lookup (a socket) go to
  // the blocking pool. Each hop there and back costs two thread wake-ups,
  // a sizeable part of a small message's CPU.
  if (deps_.aliases) {
    aliases::Resolver* r = deps_.aliases;
    std::optional<bool> quick = r->ExistsWithoutHook(addr);
    bool alias = false;
    if (quick) {
      alias = *quick;
    } else if (deps_.blocking) {
      auto check = [r, addr] { return r->Exists(addr); };
      alias = co_await RunBlocking(*deps_.blocking, std::move(check));
    }
    if (alias) co_return true;
  }
  if (!deps_.user_exists) co_return false;
  std::string clean = normalize::RemoveDropsAndSuffix(
      addr, opts_.suffix_separators, opts_.drop_characters);
  // No structured bindings here: GCC 12 miscompiles them in coroutines.
  std::pair<std::string, std::string> ud = normalize::Split(clean);
  auto fn = deps_.user_exists;
  bool inline_ok =
      !deps_.blocking || (deps_.user_exists_never_blocks &&
                          deps_.user_exists_never_blocks(ud.second));
  if (inline_ok) co_return fn(ud.first, ud.second);
  auto check = [fn, ud] { return fn(ud.first, ud.second); };
  co_return co_await RunBlockingResult(*deps_.blocking, std::move(check));
}

}  // namespace chasquid::smtpsrv
