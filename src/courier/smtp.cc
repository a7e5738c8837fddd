#include "courier/smtp.h"

#include <idn2.h>

#include "base/async.h"
#include "base/log.h"
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
  static auto* m =
      metrics::NewMap("chasquid/smtpOut/securityLevelChecks", "result",
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
  static auto* m =
      metrics::NewMap("chasquid/smtpOut/sts/security", "result",
                      "count of STS security checks on outgoing connections");
  return m;
}

// Ours: DANE outcomes of outgoing deliveries (courier/dane.h).
metrics::CounterMap* DaneCount() {
  static auto* m = metrics::NewMap(
      "chasquid/smtpOut/dane", "result",
      "count of DANE outcomes on outgoing connections (verified, mismatch, "
      "nostarttls, unusable, insecure, none, bogus, lookuperror)");
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
  // Ours (requiretls.h): RFC 8689 REQUIRETLS; "TLS-Required: No", which
  // lifts the MTA-STS and security level requirements; why a REQUIRETLS
  // message could not go to the MXs tried.
  bool require_tls = false;
  bool tls_optional = false;
  std::string require_tls_failure;
  // Ours: why the MTA-STS policy the domain announced could not be had
  // (reported instead of each session's own outcome, RFC 8460 §4.3.2.2).
  sts::PolicyLookup::Failure sts_failure = sts::PolicyLookup::Failure::kNone;
  std::string sts_error;
  // The MX RRset was not authenticated: DANE does not apply (RFC 7672
  // §2.2.1).
  bool mx_insecure = false;
  // STS enforcement applies (not lifted by TLS-Required: No).
  bool Enforce() const {
    return policy && policy->mode == "enforce" && !tls_optional;
  }
};

SmtpCourier::SmtpCourier(SmtpOptions opts) : opts_(std::move(opts)) {
  if (!opts_.dane) return;
  if (!opts_.tls) {
    CLOG_ERROR("DANE disabled: no TLS client context");
    return;
  }
  if (!opts_.resolver->TrustsAD()) {
    // Once per process: the courier is built once.
    CLOG_INFO(
        "DANE disabled: the DNS resolver is not on loopback, so its "
        "DNSSEC (AD bit) answers cannot be trusted; run a validating "
        "resolver on 127.0.0.1 or ::1");
    return;
  }
  Status s = EnableDaneContext(opts_.tls->native_handle());
  if (!s.ok()) {
    CLOG_ERROR(std::string("DANE disabled: ").append(s.message()));
    return;
  }
  dane_ = true;
}

void SmtpCourier::RecordDane(Attempt& a, const std::string& host, DaneResult r,
                             const std::string& detail) {
  DaneCount()->Add(DaneResultName(r));
  a.tr->Debugf(std::string("DANE ")
                   .append(DaneResultName(r))
                   .append(" for ")
                   .append(host)
                   .append(detail.empty() ? "" : ": ")
                   .append(detail));
  if (opts_.dane_observer) {
    opts_.dane_observer(DaneAttempt{a.domain, host, r, detail});
  }
}

net::awaitable<DanePolicy> SmtpCourier::DaneFor(Attempt& a, std::string host) {
  if (!dane_) co_return DanePolicy{};
  if (a.mx_insecure) {
    // The hosts came from an unsigned answer: their TLSA records, signed
    // or not, say nothing about the domain.
    DanePolicy p;
    p.lookup = DaneResult::kInsecure;
    a.tr->Printf(std::string("DANE: MX RRset of ")
                     .append(a.domain)
                     .append(" not authenticated, TLSA of ")
                     .append(host)
                     .append(" not used"));
    co_return p;
  }
  nettrace::Trace tr("Courier.DANE", host);
  tr.Link(*a.tr, std::string("TLSA lookup for ").append(host));
  a.tr->Link(tr, "TLSA lookup");
  // The TLSA name is that of SMTP's port, 25, whatever port the tests
  // connect to (--testing__outgoing_smtp_port stands for 25).
  std::string smtp_port = "25";
  DanePolicy p = co_await LookupDane(opts_.resolver, host, smtp_port);
  std::string what = std::string(DaneResultName(p.lookup));
  if (p.lookup == DaneResult::kVerified) {
    what = std::to_string(p.usable.size()).append(" usable TLSA records");
  }
  if (p.Defers()) {
    tr.Error(what + ": " + p.error);
  } else {
    tr.Printf(what);
  }
  co_return p;
}

net::awaitable<Status> SmtpCourier::Deliver(
    std::string from, std::string to, std::shared_ptr<const std::string> data) {
  auto d = DeliverWith(std::move(from), std::move(to), std::move(data), nullptr,
                       /*require_tls=*/false);
  co_return co_await std::move(d);
}

net::awaitable<Status> SmtpCourier::DeliverSpooled(
    std::string from, std::string to, std::shared_ptr<const std::string> data,
    std::shared_ptr<const safeio::Spool> body) {
  auto d = DeliverWith(std::move(from), std::move(to), std::move(data),
                       std::move(body), /*require_tls=*/false);
  co_return co_await std::move(d);
}

net::awaitable<Status> SmtpCourier::DeliverRequireTls(
    std::string from, std::string to, std::shared_ptr<const std::string> data) {
  auto d = DeliverWith(std::move(from), std::move(to), std::move(data), nullptr,
                       /*require_tls=*/true);
  co_return co_await std::move(d);
}

net::awaitable<Status> SmtpCourier::DeliverRequireTlsSpooled(
    std::string from, std::string to, std::shared_ptr<const std::string> head,
    std::shared_ptr<const safeio::Spool> body) {
  auto d = DeliverWith(std::move(from), std::move(to), std::move(head),
                       std::move(body), /*require_tls=*/true);
  co_return co_await std::move(d);
}

net::awaitable<Status> SmtpCourier::ReadSpool(std::function<Status()> read) {
  if (!opts_.blocking) co_return read();
  co_return co_await RunBlocking(*opts_.blocking, std::move(read));
}

net::awaitable<Status> SmtpCourier::DeliverWith(
    std::string from, std::string to, std::shared_ptr<const std::string> data,
    std::shared_ptr<const safeio::Spool> body, bool require_tls) {
  nettrace::Trace tr("Courier.SMTP.Deliver", to);
  Attempt a{&tr, from, to, DomainOf(to), data, std::nullopt, body};
  tr.Debugf("from: " + from);
  if (body) {
    tr.Debugf(std::string("spooled: ")
                  .append(std::to_string(body->size()))
                  .append(" bytes"));
  }
  a.require_tls = require_tls;
  // RFC 8689 §4.1: the header counts only without REQUIRETLS.
  if (!require_tls) {
    // A large message's own header is in its spool (`data` holds only
    // the trace headers we added), read off the network thread.
    std::string header = *data;
    if (body) {
      auto h = std::make_shared<std::string>();
      std::function<Status()> read = [body, h]() -> Status {
        auto block = body->HeaderBlock(1 << 20);
        if (!block.ok()) return block.status();
        *h = std::move(*block);
        return Status::Ok();
      };
      // Unreadable: no header to lift the policies with.
      Status rs = co_await ReadSpool(std::move(read));
      if (rs.ok()) header += *h;
    }
    a.tls_optional = HasTlsRequiredNo(header);
  }
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
    auto get = opts_.sts_policy(a.domain);
    sts::PolicyLookup lookup = co_await std::move(get);
    a.policy = std::move(lookup.policy);
    a.sts_failure = lookup.failure;
    a.sts_error = std::move(lookup.error);
    if (a.policy) {
      StsMode()->Add(a.policy->mode);
      tr.Debugf("STS policy: mode " + a.policy->mode);
    } else if (a.sts_failure != sts::PolicyLookup::Failure::kNone) {
      tr.Debugf(std::string("STS policy announced but not had: ")
                    .append(a.sts_error));
    }
  }
  if (dane_) {
    std::string mx_domain = *ascii;
    a.mx_insecure = co_await opts_.resolver->MXInsecure(std::move(mx_domain));
    if (a.mx_insecure) tr.Printf("MX RRset not authenticated: no DANE");
  }
  // Without DANE only an enforced MTA-STS policy can validate an MX for
  // REQUIRETLS; with it, each MX is looked at in the loop below.
  if (a.require_tls && !a.Enforce() && !dane_) {
    Status s = RequireTlsBounce(
        std::string("no MTA-STS policy in enforce mode for ").append(a.domain));
    tr.Error(s.message());
    co_return s;
  }

  Status last = Status::Transient("<nil>");
  bool any_tried = false;
  for (const auto& mx : *mxs) {
    DanePolicy dane = co_await DaneFor(a, mx);
    // DANE takes precedence over MTA-STS (RFC 8461 §2) where it has
    // usable records.
    if (a.Enforce() && dane.lookup != DaneResult::kVerified &&
        !sts::MXIsAllowed(*a.policy, mx)) {
      tr.Debugf(mx + " skipped by MTA-STS policy");
      continue;
    }
    if (a.require_tls && !a.Enforce() && dane.lookup != DaneResult::kVerified &&
        !dane.Defers()) {
      // RFC 8689 §4.2.1: only an MX whose TLS DANE or MTA-STS validates.
      a.require_tls_failure =
          std::string("no MTA-STS policy in enforce mode for ")
              .append(a.domain)
              .append(", and no DANE for ")
              .append(mx);
      tr.Debugf(mx + " skipped for REQUIRETLS: " + a.require_tls_failure);
      continue;
    }
    any_tried = true;
    last = co_await TryHost(a, mx, std::move(dane));
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
  auto f = ForwardWith(std::move(from), std::move(to), std::move(servers),
                       std::move(data), nullptr);
  co_return co_await std::move(f);
}

net::awaitable<Status> SmtpCourier::ForwardSpooled(
    std::string from, std::string to, std::vector<std::string> servers,
    std::shared_ptr<const std::string> head,
    std::shared_ptr<const safeio::Spool> body) {
  auto f = ForwardWith(std::move(from), std::move(to), std::move(servers),
                       std::move(head), std::move(body));
  co_return co_await std::move(f);
}

net::awaitable<Status> SmtpCourier::ForwardWith(
    std::string from, std::string to, std::vector<std::string> servers,
    std::shared_ptr<const std::string> data,
    std::shared_ptr<const safeio::Spool> body) {
  nettrace::Trace tr("Courier.SMTP.Forward", to);
  if (body) {
    tr.Debugf(std::string("spooled: ")
                  .append(std::to_string(body->size()))
                  .append(" bytes"));
  }
  // No MX lookup and no MTA-STS: the alias names the servers. A spooled
  // body goes out a piece at a time from its file, as in DeliverWith.
  Attempt a{&tr, from, to, DomainOf(to), data, std::nullopt, body};
  Status last = Status::Transient("<nil>");
  for (const auto& server : servers) {
    DanePolicy no_dane;  // The alias names the servers (see smtp.h).
    last = co_await TryHost(a, server, std::move(no_dane));
    if (last.ok() || last.permanent()) co_return last;
  }
  Status s = Status::Transient(
      "all servers returned transient failures (last: " + last.message() + ")");
  tr.Error(s.message());
  co_return s;
}

net::awaitable<Status> SmtpCourier::TryHost(Attempt& a, std::string host,
                                            DanePolicy dane) {
  a.tr->Printf("Trying " + host);
  switch (dane.lookup) {
    case DaneResult::kInsecure:
    case DaneResult::kNoRecords:
    case DaneResult::kBogus:
    case DaneResult::kLookupError:
      RecordDane(a, host, dane.lookup, dane.error);
      break;
    default:
      break;
  }
  if (dane.Defers()) {
    // RFC 7672 §2.2: not this host until the DNS is sorted out. RFC 8460
    // §4.3.2.1: no valid records came from the resolver.
    Report(a,
           DaneOutcome(a.domain, host, dane, false,
                       tlsrpt::ResultType::kDnssecInvalid, dane.error),
           nullptr);
    Status s = Status::Transient(std::string("DANE: ").append(dane.error));
    a.tr->Error(host + ": " + s.message());
    co_return s;
  }
  bool tls_failed = false;
  DanePolicy first = dane;
  Status s = co_await TryHostOnce(a, host, /*allow_tls=*/true, &tls_failed,
                                  std::move(first));
  if (tls_failed && !dane.RequiresTLS()) {
    // STARTTLS was refused or broke: redo the whole attempt in plain text.
    a.tr->Printf(host + ": TLS failed, retrying without TLS");
    s = co_await TryHostOnce(a, host, /*allow_tls=*/false, &tls_failed,
                             std::move(dane));
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
                                                bool* tls_failed,
                                                DanePolicy dane) {
  *tls_failed = false;
  auto client_or = co_await Client::Dial(opts_.resolver, host, opts_.port,
                                         opts_.connect_timeout,
                                         opts_.session_timeout, opts_.source);
  if (!client_or.ok())
    co_return Transient("Could not dial: ", client_or.status());
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
  const bool dane_tls = dane.RequiresTLS();
  const bool dane_match = dane.lookup == DaneResult::kVerified;
  bool dane_verified = false;
  bool reported = false;  // This session's TLS report is recorded.
  if (dane_tls && !(c->HasExtension("STARTTLS") && opts_.tls)) {
    // Never in the clear to a host whose TLSA records demand TLS.
    RecordDane(a, host, DaneResult::kNoStartTLS, "STARTTLS not offered");
    if (a.require_tls) {
      a.require_tls_failure = host + " does not offer STARTTLS";
    }
    // RFC 8460's dane-required is for senders that demand DANE of every
    // MX; here the records demanded TLS and the server offered none.
    Report(a,
           DaneOutcome(a.domain, host, dane, false,
                       tlsrpt::ResultType::kStarttlsNotSupported,
                       "STARTTLS not offered"),
           c.get());
    TlsCount()->Add("plain");
    c->Close();
    co_return Status::Transient(std::string("DANE: ").append(host).append(
        " does not offer STARTTLS, which its TLSA records require"));
  }
  if (allow_tls && c->HasExtension("STARTTLS") && opts_.tls) {
    if (dane_match) c->SetDane(dane.usable);
    s = co_await c->StartTLS(*opts_.tls, host, /*strict=*/false);
    std::string why;
    if (s.ok() && dane_match && !DaneMatched(c->ssl(), &why)) {
      TlsVersions()->Add(SSL_get_version(c->ssl()));
      TlsCount()->Add("tls:insecure");
      RecordDane(a, host, DaneResult::kMismatch, why);
      if (a.require_tls) {
        // RFC 8689 §4.2.1: not validated, so not relayed; bounced once no
        // MX took it.
        a.require_tls_failure = host + " failed DANE verification";
      }
      Report(
          a,
          DaneOutcome(a.domain, host, dane, false,
                      DaneFailureResult(SSL_get_verify_result(c->ssl())), why),
          c.get());
      c->Close();
      co_return Status::Transient(std::string("DANE: the certificate of ")
                                      .append(host)
                                      .append(" matches none of its TLSA "
                                              "records (")
                                      .append(why)
                                      .append(")"));
    }
    // DANE applied, but none of the records was usable: TLS goes on as
    // without DANE, and the report says tlsa-invalid (RFC 8460 §4.3.2.1).
    auto report_unusable_tlsa = [&] {
      RecordDane(a, host, DaneResult::kUnusable, "");
      reported = true;
      Report(a,
             DaneOutcome(a.domain, host, dane, false,
                         tlsrpt::ResultType::kTlsaInvalid,
                         "no usable TLSA records"),
             c.get());
    };
    if (s.ok()) {
      TlsVersions()->Add(SSL_get_version(c->ssl()));
      if (dane_match) {
        // RFC 7672 §3: authenticated by DNSSEC instead of the roots.
        dane_verified = true;
        RecordDane(a, host, DaneResult::kVerified, "");
        reported = true;
        Report(a,
               DaneOutcome(a.domain, host, dane, true,
                           tlsrpt::ResultType::kValidationFailure, ""),
               c.get());
        level = domaininfo::kTlsSecure;
        TlsCount()->Add("tls:secure");
        a.tr->Debugf("Secure - using TLS, DANE verified");
      } else if (c->IsVerified()) {
        if (dane_tls) report_unusable_tlsa();
        level = domaininfo::kTlsSecure;
        TlsCount()->Add("tls:secure");
        a.tr->Debugf("Secure - using TLS");
      } else {
        level = domaininfo::kTlsInsecure;
        TlsCount()->Add("tls:insecure");
        if (dane_tls) report_unusable_tlsa();
        a.tr->Debugf("Insecure - using TLS, but cert does not match " + host);
      }
      s = co_await c->Hello(opts_.hostname);
    }
    if (!s.ok()) {
      if (dane_tls) {
        // One report a session: a failed EHLO after a reported handshake
        // adds none.
        if (!reported)
          Report(a,
                 DaneOutcome(a.domain, host, dane, false,
                             tlsrpt::ResultType::kValidationFailure,
                             "TLS handshake failed"),
                 c.get());
      } else {
        RecordTls(a, host, true, nullptr, false, c.get());
      }
      TlsCount()->Add("tls:failed");
      a.tr->Error("TLS error: " + s.message());
      c->Close();
      if (dane_tls) {
        // No fallback to plain text: a transient failure, retried.
        RecordDane(a, host, DaneResult::kNoStartTLS, s.message());
        co_return Status::Transient(std::string("DANE: TLS with ")
                                        .append(host)
                                        .append(" failed: ")
                                        .append(s.message()));
      }
      *tls_failed = true;
      co_return s;
    }
  } else {
    TlsCount()->Add("plain");
    a.tr->Debugf("Insecure - NOT using TLS");
  }
  if (allow_tls && !dane_tls) {
    // After STARTTLS the second EHLO no longer lists it. (Where DANE
    // applied, the session was reported above.)
    bool offered = c->ssl() != nullptr || c->HasExtension("STARTTLS");
    RecordTls(a, host, offered, c->ssl(), c->IsVerified(), c.get());
  }

  if (!opts_.dinfo->OutgoingSecLevel(a.domain, level) && !a.tls_optional) {
    SecLevelChecks()->Add("fail");
    c->Close();
    co_return Status::Transient("Security level check failed (level:" +
                                domaininfo::LevelName(level) + ")");
  }
  SecLevelChecks()->Add("pass");

  if (a.Enforce() && !dane_verified) {
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
  s = co_await SendBody(a, c.get());
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

net::awaitable<Status> SmtpCourier::SendBody(Attempt& a, Client* c) {
  if (!a.body) {
    std::string body = wire::EncodeData(a.data ? *a.data : std::string());
    co_return co_await c->WriteRaw(std::move(body));  // Named: base/async.h.
  }
  // A spooled message goes out a piece at a time: memory stays at one
  // piece whatever its size. Each piece is read on the blocking pool (a
  // slow disk must not hold this network thread and the sessions that
  // share it); the read owns what it touches, so it is safe even if this
  // coroutine is destroyed while it runs.
  std::shared_ptr<const safeio::Spool> body = a.body;
  auto piece = std::make_shared<std::string>();
  wire::DataEncoder enc;
  std::string out;
  if (a.data) enc.Feed(*a.data, &out);
  constexpr size_t kPiece = 64 * 1024;
  for (uint64_t off = 0; off < body->size(); off += piece->size()) {
    std::function<Status()> read = [body, off, piece] {
      return body->ReadAt(off, kPiece, piece.get());
    };
    Status s = co_await ReadSpool(std::move(read));
    if (!s.ok()) co_return s;
    if (piece->empty()) {
      // Cut short under us: never end a partial message with ".".
      co_return Status::Transient("spool file ended early");
    }
    enc.Feed(*piece, &out);
    std::string chunk = std::move(out);
    out.clear();
    s = co_await c->WriteRaw(std::move(chunk));
    if (!s.ok()) co_return s;
  }
  enc.Finish(&out);
  std::string last = std::move(out);
  co_return co_await c->WriteRaw(std::move(last));
}

void SmtpCourier::RecordTls(const Attempt& a, const std::string& host,
                            bool offered, SSL* ssl, bool verified,
                            const Client* c) {
  if (!a.policy && a.sts_failure != sts::PolicyLookup::Failure::kNone) {
    // The domain announced a policy we could not have: that is the
    // session's outcome (RFC 8460 §4.3.2.2), whatever TLS did.
    Report(a,
           StsFailureOutcome(
               a.domain, host,
               sts::PolicyLookup{std::nullopt, a.sts_failure, a.sts_error}),
           c);
    return;
  }
  Report(a, TlsOutcome(a.domain, host, a.policy, offered, ssl, verified), c);
}

void SmtpCourier::Report(const Attempt& a, tlsrpt::SessionResult r,
                         const Client* c) {
  if (c) {
    r.sending_ip = c->LocalIP();
    r.receiving_ip = c->RemoteIP();
  }
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
  DaneCount();
}

}  // namespace chasquid::courier
