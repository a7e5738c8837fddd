#include "courier/smtp.h"

#include <idn2.h>

#include "base/strings.h"
#include "courier/mx.h"
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
  // When set, the message is `data` followed by its contents.
  std::shared_ptr<const safeio::Spool> body;
};

net::awaitable<Status> SmtpCourier::Deliver(
    std::string from, std::string to,
    std::shared_ptr<const std::string> data) {
  co_return co_await DeliverSpooled(std::move(from), std::move(to),
                                    std::move(data), nullptr);
}

net::awaitable<Status> SmtpCourier::DeliverSpooled(
    std::string from, std::string to, std::shared_ptr<const std::string> data,
    std::shared_ptr<const safeio::Spool> body) {
  nettrace::Trace tr("Courier.SMTP.Deliver", to);
  Attempt a{&tr, from, to, DomainOf(to), data, std::nullopt, body};
  tr.Debugf("from: " + from);

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

  Status last = Status::Transient("<nil>");
  bool any_tried = false;
  for (const auto& mx : *mxs) {
    if (a.policy && a.policy->mode == "enforce" &&
        !sts::MXIsAllowed(*a.policy, mx)) {
      tr.Debugf(mx + " skipped by MTA-STS policy");
      continue;
    }
    any_tried = true;
    last = co_await TryHost(a, mx);
    if (last.ok()) co_return last;
    if (last.permanent()) co_return last;
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
  Attempt a{&tr, from, to, DomainOf(to), data, std::nullopt, nullptr};
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

  if (!opts_.dinfo->OutgoingSecLevel(a.domain, level)) {
    SecLevelChecks()->Add("fail");
    c->Close();
    co_return Status::Transient("Security level check failed (level:" +
                                domaininfo::LevelName(level) + ")");
  }
  SecLevelChecks()->Add("pass");

  if (a.policy && a.policy->mode == "enforce") {
    if (level != domaininfo::kTlsSecure) {
      StsSecurity()->Add("fail");
      c->Close();
      co_return Status::Transient("invalid security level (" +
                                  domaininfo::LevelName(level) +
                                  ") for STS policy");
    }
    StsSecurity()->Add("pass");
  }

  // MAIL and RCPT, with §11.5's SMTPUTF8/IDNA handling.
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
  if (!a.body) {
    std::string body = wire::EncodeData(a.data ? *a.data : std::string());
    s = co_await c->WriteRaw(std::move(body));  // Named: base/async.h.
  } else {
    // A spooled message goes out a piece at a time: memory stays at one
    // piece whatever its size.
    wire::DataEncoder enc;
    std::string piece, out;
    if (a.data) enc.Feed(*a.data, &out);
    constexpr size_t kPiece = 64 * 1024;
    for (uint64_t off = 0; s.ok() && off < a.body->size();
         off += piece.size()) {
      s = a.body->ReadAt(off, kPiece, &piece);
      if (!s.ok() || piece.empty()) break;
      enc.Feed(piece, &out);
      std::string chunk = std::move(out);
      out.clear();
      s = co_await c->WriteRaw(std::move(chunk));
    }
    if (s.ok()) {
      enc.Finish(&out);
      std::string last = std::move(out);
      s = co_await c->WriteRaw(std::move(last));
    }
  }
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
  co_return Status::Ok();
}

void RegisterSmtpOutVars() {
  TlsCount();
  TlsVersions();
  SecLevelChecks();
  StsMode();
  StsSecurity();
}

}  // namespace chasquid::courier
