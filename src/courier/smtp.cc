#include "courier/smtp.h"

#include <idn2.h>

#include "base/strings.h"
#include "courier/mx.h"
#include "courier/requiretls.h"
#include "courier/smtp_client.h"
#include "courier/wire.h"
#include "metrics/metrics.h"
#include "nettrace/trace.h"

namespace chasquid::courier {
namespace {

metrics::CounterMap* TlsCount() {
  static auto* m = metrics::NewMap("chasquid/smtpOut/tlsCount", "result",
                                   "count of TLS status on outgoing "
                                   "connections");
  return m;
}
// Ours: completed outgoing handshakes by OpenSSL's version name.
metrics::CounterMap* TlsVersions() {
  static auto* m = metrics::NewMap(
      "chasquid/smtpOut/tlsVersions", "version",
      "count of completed outgoing TLS handshakes, by protocol version");
  return m;
}
metrics::CounterMap* SecLevelChecks() {
  static auto* m = metrics::NewMap(
      "chasquid/smtpOut/securityLevelChecks", "result",
      "count of security level checks on outgoing connections");
  return m;
}
metrics::CounterMap* StsMode() {
  static auto* m = metrics::NewMap("chasquid/smtpOut/sts/mode", "mode",
                                   "count of STS checks on outgoing "
                                   "connections");
  return m;
}
metrics::CounterMap* StsSecurity() {
  static auto* m = metrics::NewMap(
      "chasquid/smtpOut/sts/security", "result",
      "count of STS security checks on outgoing connections");
  return m;
}

bool IsAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

std::string DomainOf(const std::string& addr) {
  auto at = addr.rfind('@');
  return at == std::string::npos ? "" : addr.substr(at + 1);
}

Status Transient(const std::string& prefix, const Status& s) {
  return Status::Transient(prefix + s.message());
}

}  // namespace

Result<std::string> DomainToAscii(const std::string& domain) {
  if (IsAscii(domain)) return domain;
  char* out = nullptr;
  int rc = idn2_to_ascii_8z(domain.c_str(), &out, IDN2_NONTRANSITIONAL);
  if (rc != IDN2_OK) {
    // Be lenient, as Go's idna.ToASCII: try the transitional mapping.
    rc = idn2_to_ascii_8z(domain.c_str(), &out, IDN2_TRANSITIONAL);
  }
  if (rc != IDN2_OK) {
    return Status::Permanent(std::string("idna: ") + idn2_strerror(rc));
  }
  std::string r = out;
  idn2_free(out);
  return r;
}

Result<std::string> AddrForServer(const std::string& addr,
                                  bool server_has_smtputf8,
                                  bool* needs_smtputf8) {
  if (IsAscii(addr)) return addr;
  if (server_has_smtputf8) {
    *needs_smtputf8 = true;
    return addr;
  }
  auto at = addr.rfind('@');
  std::string user = at == std::string::npos ? addr : addr.substr(0, at);
  if (!IsAscii(user)) {
    return wire::ReplyStatus(
        599, "local part is not ASCII but server does not support SMTPUTF8");
  }
  auto domain = DomainToAscii(addr.substr(at + 1));
  if (!domain.ok()) {
    return wire::ReplyStatus(599, "non-ASCII domain is not IDNA safe");
  }
  return user + "@" + *domain;
}

struct SmtpCourier::Attempt {
  nettrace::Trace* tr;
  std::string from, to;
  std::string domain;  // Of `to`, as given: the domaininfo key.
  std::shared_ptr<const std::string> data;
  std::optional<sts::Policy> policy;
  // Ours (requiretls.h): RFC 8689 REQUIRETLS; "TLS-Required: No", which
  // lifts the MTA-STS and security level requirements; why a REQUIRETLS
  // message could not go to the MXs tried.
  bool require_tls = false;
  bool tls_optional = false;
  std::string require_tls_failure;
  // STS enforcement applies (not lifted by TLS-Required: No).
  bool Enforce() const {
    return policy && policy->mode == "enforce" && !tls_optional;
  }
};

net::awaitable<Status> SmtpCourier::Deliver(
    std::string from, std::string to,
    std::shared_ptr<const std::string> data) {
  auto d = DeliverWith(std::move(from), std::move(to), std::move(data),
                       /*require_tls=*/false);
  co_return co_await std::move(d);
}

net::awaitable<Status> SmtpCourier::DeliverRequireTls(
    std::string from, std::string to,
    std::shared_ptr<const std::string> data) {
  auto d = DeliverWith(std::move(from), std::move(to), std::move(data),
                       /*require_tls=*/true);
  co_return co_await std::move(d);
}

net::awaitable<Status> SmtpCourier::DeliverWith(
    std::string from, std::string to, std::shared_ptr<const std::string> data,
    bool require_tls) {
  nettrace::Trace tr("Courier.SMTP.Deliver", to);
  Attempt a{&tr, from, to, DomainOf(to), data, std::nullopt};
  tr.Debugf("from: " + from);
  a.require_tls = require_tls;
  // RFC 8689 §4.1: the header counts only without REQUIRETLS.
  a.tls_optional = !require_tls && HasTlsRequiredNo(*data);
  if (require_tls) tr.Debugf("REQUIRETLS");
  if (a.tls_optional) {
    tlsrpt::RequireTlsCount()->Add("tlsRequiredNo");
    tr.Debugf("TLS-Required: No: TLS policies not enforced");
  }

  auto ascii = DomainToAscii(a.domain);
  if (!ascii.ok()) {
    Status s = Status::Permanent("Could not find mail server: " +
                                 ascii.status().message());
    tr.Error(s.message());
    co_return s;
  }
  auto mxs = co_await LookupMXs(opts_.resolver, *ascii);
  if (!mxs.ok()) {
    tr.Error(mxs.status().message());
    co_return mxs.status();
  }
  std::string mx_list;
  for (const auto& mx : *mxs) mx_list += (mx_list.empty() ? "" : " ") + mx;
  tr.Debugf("MXs: [" + mx_list + "]");

  if (opts_.sts_policy) {
    a.policy = co_await opts_.sts_policy(a.domain);
    if (a.policy) {
      StsMode()->Add(a.policy->mode);
      tr.Debugf("STS policy: mode " + a.policy->mode);
    }
  }
  if (a.require_tls && !a.Enforce()) {
    Status s = RequireTlsBounce(
        std::string("no MTA-STS policy in enforce mode for ").append(a.domain));
    tr.Error(s.message());
    co_return s;
  }

  Status last = Status::Transient("<nil>");
  bool any_tried = false;
  for (const auto& mx : *mxs) {
    if (a.Enforce() && !sts::MXIsAllowed(*a.policy, mx)) {
      tr.Debugf(mx + " skipped by MTA-STS policy");
      continue;
    }
    any_tried = true;
    last = co_await TryHost(a, mx);
    if (last.ok()) co_return last;
    if (last.permanent()) co_return last;
  }
  if (!a.require_tls_failure.empty()) {
    Status s = RequireTlsBounce(a.require_tls_failure);
    tr.Error(s.message());
    co_return s;
  }
  Status s = Status::Transient(
      "all MXs returned transient failures (last: " +
      (any_tried ? last.message() : std::string("<nil>")) + ")");
  tr.Error(s.message());
  co_return s;
}

net::awaitable<Status> SmtpCourier::Forward(
    std::string from, std::string to, std::vector<std::string> servers,
    std::shared_ptr<const std::string> data) {
  nettrace::Trace tr("Courier.SMTP.Forward", to);
  // No MX lookup and no MTA-STS: the alias names the servers.
  Attempt a{&tr, from, to, DomainOf(to), data, std::nullopt};
  Status last = Status::Transient("<nil>");
  for (const auto& server : servers) {
    last = co_await TryHost(a, server);
    if (last.ok() || last.permanent()) co_return last;
  }
  Status s = Status::Transient(
      "all servers returned transient failures (last: " + last.message() +
      ")");
  tr.Error(s.message());
  co_return s;
}

net::awaitable<Status> SmtpCourier::TryHost(Attempt& a, std::string host) {
  a.tr->Printf("Trying " + host);
  bool tls_failed = false;
  Status s = co_await TryHostOnce(a, host, /*allow_tls=*/true, &tls_failed);
  if (tls_failed) {
    // STARTTLS was refused or broke: redo the whole attempt in plain text.
    a.tr->Printf(host + ": TLS failed, retrying without TLS");
    s = co_await TryHostOnce(a, host, /*allow_tls=*/false, &tls_failed);
  }
  if (s.ok()) {
    a.tr->Printf(host + ": delivered");
  } else {
    a.tr->Error(host + ": " + s.message());
  }
  co_return s;
}

net::awaitable<Status> SmtpCourier::TryHostOnce(Attempt& a, std::string host,
                                                bool allow_tls,
                                                bool* tls_failed) {
  *tls_failed = false;
  auto client_or = co_await Client::Dial(opts_.resolver, host, opts_.port,
                                         opts_.connect_timeout,
                                         opts_.session_timeout, opts_.source);
  if (!client_or.ok()) co_return Transient("Could not dial: ",
                                           client_or.status());
  std::unique_ptr<Client> c = std::move(*client_or);

  auto greeting = co_await c->ReadReply(220);
  if (!greeting.ok()) {
    c->Close();
    co_return Transient("Error creating client: ", greeting.status());
  }
  Status s = co_await c->Hello(opts_.hostname);
  if (!s.ok()) {
    c->Close();
    co_return Transient("Error saying hello: ", s);
  }

  domaininfo::SecLevel level = domaininfo::kPlain;
  if (allow_tls && c->HasExtension("STARTTLS") && opts_.tls) {
    s = co_await c->StartTLS(*opts_.tls, host, /*strict=*/false);
    if (s.ok()) {
      TlsVersions()->Add(SSL_get_version(c->ssl()));
      // The certificate was checked during the handshake.
      if (c->IsVerified()) {
        level = domaininfo::kTlsSecure;
        TlsCount()->Add("tls:secure");
        a.tr->Debugf("Secure - using TLS");
      } else {
        level = domaininfo::kTlsInsecure;
        TlsCount()->Add("tls:insecure");
        a.tr->Debugf("Insecure - using TLS, but cert does not match " +
                     host);
      }
      s = co_await c->Hello(opts_.hostname);
    }
    if (!s.ok()) {
      RecordTls(a, host, true, nullptr, false);
      TlsCount()->Add("tls:failed");
      a.tr->Error("TLS error: " + s.message());
      c->Close();
      *tls_failed = true;
      co_return s;
    }
  } else {
    TlsCount()->Add("plain");
    a.tr->Debugf("Insecure - NOT using TLS");
  }
  if (allow_tls) {
    // After STARTTLS the second EHLO no longer lists it.
    bool offered = c->ssl() != nullptr || c->HasExtension("STARTTLS");
    RecordTls(a, host, offered, c->ssl(), c->IsVerified());
  }

  if (!opts_.dinfo->OutgoingSecLevel(a.domain, level) && !a.tls_optional) {
    SecLevelChecks()->Add("fail");
    c->Close();
    co_return Status::Transient("Security level check failed (level:" +
                                domaininfo::LevelName(level) + ")");
  }
  SecLevelChecks()->Add("pass");

  if (a.Enforce()) {
    if (level != domaininfo::kTlsSecure) {
      StsSecurity()->Add("fail");
      if (a.require_tls) {
        a.require_tls_failure = host + " has no validated TLS";
      }
      c->Close();
      co_return Status::Transient("invalid security level (" +
                                  domaininfo::LevelName(level) +
                                  ") for STS policy");
    }
    StsSecurity()->Add("pass");
  }
  if (a.require_tls && !c->HasExtension("REQUIRETLS")) {
    // RFC 8689 §4.2.1: try the next MX; if none takes it, bounce.
    a.require_tls_failure = host + " does not offer REQUIRETLS";
    c->Close();
    co_return Status::Transient(a.require_tls_failure);
  }

  // MAIL and RCPT, with chasquid's SMTPUTF8/IDNA handling.
  bool smtputf8 = false;
  bool has_utf8 = c->HasExtension("SMTPUTF8");
  auto from = AddrForServer(a.from, has_utf8, &smtputf8);
  auto to = from.ok() ? AddrForServer(a.to, has_utf8, &smtputf8) : from;
  if (!from.ok() || !to.ok()) {
    c->Close();
    Status e = !from.ok() ? from.status() : to.status();
    co_return e.Prefixed("MAIL+RCPT ");
  }
  std::string mail = "MAIL FROM:<" + *from + ">";
  if (c->HasExtension("8BITMIME")) mail += " BODY=8BITMIME";
  if (smtputf8) mail += " SMTPUTF8";
  if (a.require_tls) mail += " REQUIRETLS";
  auto r = co_await c->Cmd(mail, 250);
  std::string rcpt = "RCPT TO:<" + *to + ">";
  if (r.ok()) r = co_await c->Cmd(std::move(rcpt), 25);
  if (!r.ok()) {
    c->Close();
    co_return r.status().Prefixed("MAIL+RCPT ");
  }

  std::string data_cmd = "DATA";
  r = co_await c->Cmd(std::move(data_cmd), 354);
  if (!r.ok()) {
    c->Close();
    co_return r.status().Prefixed("DATA ");
  }
  std::string body = wire::EncodeData(*a.data);  // Named: base/async.h.
  s = co_await c->WriteRaw(std::move(body));
  if (!s.ok()) {
    c->Close();
    co_return Transient("DATA writing: ", s);
  }
  r = co_await c->ReadReply(250);
  if (!r.ok()) {
    c->Close();
    co_return r.status().Prefixed("DATA closing ");
  }
  std::string quit = "QUIT";
  (void)co_await c->Cmd(std::move(quit), 221);  // The reply does not matter.
  c->Close();
  if (a.require_tls) tlsrpt::RequireTlsCount()->Add("relayed");
  co_return Status::Ok();
}

void SmtpCourier::RecordTls(const Attempt& a, const std::string& host,
                            bool offered, SSL* ssl, bool verified) {
  tlsrpt::SessionResult r =
      TlsOutcome(a.domain, host, a.policy, offered, ssl, verified);
  if (r.success) {
    tlsrpt::SuccessCount()->Add(tlsrpt::PolicyTypeName(r.policy_type));
  } else {
    tlsrpt::FailureCount()->Add(tlsrpt::ResultTypeName(r.result));
    a.tr->Debugf(std::string("TLS report: ") +
                 tlsrpt::ResultTypeName(r.result));
  }
  if (opts_.tlsrpt) opts_.tlsrpt->Record(r);
}

void RegisterSmtpOutVars() {
  TlsCount();
  TlsVersions();
  SecLevelChecks();
  StsMode();
  StsSecurity();
}

}  // namespace chasquid::courier
