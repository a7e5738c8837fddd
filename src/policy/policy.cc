#include "policy/policy.h"

#include <ctime>

#include "base/async.h"
#include "base/strings.h"
#include "dkim/message.h"
#include "metrics/metrics.h"
#include "nettrace/trace.h"
#include "spf/spf.h"

namespace chasquid::policy {

namespace {

struct Vars {
  metrics::Counter* found;
  metrics::Counter* not_found;
  metrics::Counter* valid;
  metrics::Counter* errors;
};

// The same variables smtpsrv declares (the registry returns the existing
// ones): spec/monitoring.md §8.
const Vars& GetVars() {
  static const Vars v = {
      metrics::NewCounter("chasquid/smtpIn/dkimVerifyFound",
                          "count of messages with at least one DKIM signature"),
      metrics::NewCounter("chasquid/smtpIn/dkimVerifyNotFound",
                          "count of messages with no DKIM signatures"),
      metrics::NewCounter(
          "chasquid/smtpIn/dkimVerifyValid",
          "count of messages with at least one valid DKIM signature"),
      metrics::NewCounter("chasquid/smtpIn/dkimVerifyErrors",
                          "count of DKIM verification errors"),
  };
  return v;
}

}  // namespace

Policy::Policy(dns::Resolver* resolver, domaininfo::DB* dinfo,
               net::thread_pool* blocking)
    : resolver_(resolver), dinfo_(dinfo), blocking_(blocking) {
  (void)GetVars();  // Registered at start-up, as chasquid's expvars are.
}

Result<int> Policy::LoadDKIM(const std::string& domain,
                             const std::string& dir) {
  auto s = dkim::LoadDomainSigners(domain, dir);
  if (!s.ok()) return s.status();
  int n = static_cast<int>(s->size());
  if (n > 0) {
    auto& v = signers_[domain];
    v.insert(v.end(), s->begin(), s->end());
  }
  return n;
}

net::awaitable<std::optional<smtpsrv::SpfOutcome>> Policy::Spf(
    std::string ip, std::string domain) {
  // The seam gives the MAIL FROM domain only; "@domain" is evaluated as
  // postmaster@domain (RFC 7208 §4.3), so only %{l}/%{s} macros can differ
  // from chasquid, which passes the address as given. helo = the sender's
  // domain, as chasquid does (spec §8.1).
  nettrace::Trace tr("SPF", ip);
  spf::Options opts;
  opts.trace = &tr;
  spf::CheckResult r = co_await spf::CheckHostWithSender(
      *resolver_, ip, domain, "@" + domain, opts);
  co_return smtpsrv::SpfOutcome{std::string(spf::ToString(r.verdict)),
                                r.ErrorText()};
}

net::awaitable<bool> Policy::IncomingSecLevelOk(std::string domain,
                                                bool on_tls) {
  if (!dinfo_) co_return true;
  domaininfo::DB* db = dinfo_;
  domaininfo::SecLevel level =
      on_tls ? domaininfo::kTlsClient : domaininfo::kPlain;
  // May write the domain's file: off the network threads.
  co_return co_await RunBlocking(*blocking_, [db, domain, level] {
    return db->IncomingSecLevel(domain, level);
  });
}

net::awaitable<Result<int>> Policy::DkimSign(std::string from_domain,
                                             std::string* data) {
  std::string domain = AsciiToLower(from_domain);
  auto it = signers_.find(domain);
  if (it == signers_.end()) co_return 0;
  nettrace::Trace tr("DKIM.Sign", domain);
  std::string crlf = dkim::ToCRLF(*data);
  std::time_t now = std::time(nullptr);
  // Each signature covers the message as received; each is prepended, so
  // the last key's ends up on top (spec §3.7).
  std::string headers;
  for (const auto& signer : it->second) {
    auto v = signer->Sign(crlf, now);
    if (!v.ok()) {
      tr.Error("signing with " + signer->selector() + ": " +
               v.status().message());
      co_return v.status();
    }
    tr.Debugf("signed with " + signer->selector() + " (" +
              signer->algorithm() + ")");
    headers = dkim::SignatureHeaderLF(*v) + headers;
  }
  data->insert(0, headers);
  co_return static_cast<int>(it->second.size());
}

net::awaitable<std::optional<std::string>> Policy::DkimVerify(
    std::shared_ptr<const std::string> data) {
  nettrace::Trace tr("DKIM.Verify", "");
  auto r = co_await dkim::VerifyMessage(*resolver_, dkim::ToCRLF(*data),
                                        nullptr, "", &tr);
  const Vars& v = GetVars();
  if (!r.ok()) {
    v.errors->Add();
    co_return std::nullopt;
  }
  (r->found > 0 ? v.found : v.not_found)->Add();
  if (r->valid > 0) v.valid->Add();
  co_return dkim::AuthenticationResultsDKIM(*r) + "\r\n";
}

}  // namespace chasquid::policy
