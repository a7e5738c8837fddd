#include "checks/checks.h"

#include <ctime>
#include <optional>

#include "base/async.h"
#include "base/strings.h"
#include "dkim/message.h"
#include "metrics/metrics.h"
#include "nettrace/trace.h"
#include "spf/spf.h"

namespace chasquid::checks {

namespace {

struct Vars {
  metrics::Counter* found;
  metrics::Counter* not_found;
  metrics::Counter* valid;
  metrics::Counter* errors;
};

// The same variables smtpsrv declares (the registry returns the existing
// ones), with chasquid's names.
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

// The counters and the Authentication-Results part for a verification.
std::optional<std::string> CountVerify(const Result<dkim::VerifyResult>& r,
                                       nettrace::Trace* tr) {
  const Vars& v = GetVars();
  if (!r.ok()) {
    v.errors->Add();
    if (tr) tr->Error("DKIM verification: " + r.status().message());
    return std::nullopt;
  }
  (r->found > 0 ? v.found : v.not_found)->Add();
  if (r->valid > 0) v.valid->Add();
  return dkim::AuthenticationResultsDKIM(*r) + "\r\n";
}

}  // namespace

Checker::Checker(dns::Resolver* resolver) : resolver_(resolver) {
  (void)GetVars();  // Registered at start-up, as chasquid's expvars are.
}

void Checker::SetDomainInfo(domaininfo::DB* dinfo, net::thread_pool* blocking) {
  dinfo_ = dinfo;
  blocking_ = blocking;
}

Result<int> Checker::LoadDKIM(const std::string& domain,
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

net::awaitable<std::optional<smtpsrv::SpfOutcome>> Checker::Spf(
    std::string ip, std::string sender, nettrace::Trace* tr) {
  // check_host(ip, domain of the sender, sender) with the sender's domain
  // as "helo", as chasquid does. The evaluation is
  // a child trace of the connection's.
  size_t at = sender.find('@');
  std::string domain = at == std::string::npos ? "" : sender.substr(at + 1);
  spf::Options opts;
  opts.parent = tr;
  spf::CheckResult r =
      co_await spf::CheckHostWithSender(*resolver_, ip, domain, sender, opts);
  smtpsrv::SpfOutcome out{std::string(spf::ToString(r.verdict)), r.ErrorText()};
  if (tr) tr->Debugf("SPF " + out.result + " (" + out.explanation + ")");
  co_return out;
}

net::awaitable<bool> Checker::IncomingSecLevelOk(std::string domain,
                                                 bool on_tls,
                                                 nettrace::Trace* tr) {
  if (!dinfo_ || !blocking_) co_return true;
  domaininfo::DB* db = dinfo_;
  domaininfo::SecLevel level =
      on_tls ? domaininfo::kTlsClient : domaininfo::kPlain;
  // Usually answered from memory, here; when the domain's file must be
  // written (its first message, or a higher level), off the network
  // threads. The DB counts securityLevelChecks pass/fail either way.
  std::optional<bool> quick = db->IncomingSecLevelWithoutWrite(domain, level);
  bool ok;
  if (quick) {
    ok = *quick;
  } else {
    // Named first: GCC 12 destroys a capturing lambda written in place in
    // a co_await twice (base/async.h).
    auto work = [db, domain, level] {
      return db->IncomingSecLevel(domain, level);
    };
    ok = co_await RunBlocking(*blocking_, std::move(work));
  }
  if (tr) {
    std::string msg = "incoming security level check for " + domain + " at " +
                      domaininfo::LevelName(level) + ": " +
                      (ok ? "pass" : "fail");
    if (ok) {
      tr->Debugf(msg);
    } else {
      tr->Error(msg);
    }
  }
  co_return ok;
}

bool Checker::HasDkimKeys(const std::string& from_domain) const {
  return signers_.count(AsciiToLower(from_domain)) > 0;
}

net::awaitable<Result<int>> Checker::DkimSign(std::string from_domain,
                                              std::string* data,
                                              nettrace::Trace* tr) {
  // The MAIL FROM domain is already normalized (Unicode, lower case); the
  // keys are registered under the normalized domain names.
  auto it = signers_.find(AsciiToLower(from_domain));
  if (it == signers_.end()) {
    if (tr) tr->Debugf("DKIM: no keys for " + GoQuote(from_domain));
    co_return 0;
  }
  std::optional<nettrace::Trace> child;
  if (tr) child.emplace(tr->NewChild("DKIM.Sign", from_domain));
  std::string crlf = dkim::ToCRLF(*data);
  std::time_t now = std::time(nullptr);
  // Each signature covers the message as received; each is prepended, so
  // the last key's ends up on top.
  std::string headers;
  for (const auto& signer : it->second) {
    auto v = signer->Sign(crlf, now);
    if (!v.ok()) {
      if (child) {
        child->Error("signing with " + signer->selector() + ": " +
                     v.status().message());
      }
      co_return v.status();
    }
    if (child) {
      child->Debugf("signed with " + signer->selector() + " (" +
                    signer->algorithm() + ")");
    }
    headers = dkim::SignatureHeaderLF(*v) + headers;
  }
  data->insert(0, headers);
  co_return static_cast<int>(it->second.size());
}

net::awaitable<Result<std::string>> Checker::DkimSignStream(
    std::string from_domain, std::string head, ChunkReader rest,
    nettrace::Trace* tr) {
  auto it = signers_.find(AsciiToLower(from_domain));
  if (it == signers_.end()) {
    if (tr) tr->Debugf("DKIM: no keys for " + GoQuote(from_domain));
    co_return std::string();
  }
  std::optional<nettrace::Trace> child;
  if (tr) child.emplace(tr->NewChild("DKIM.Sign", from_domain));
  // The body is read from its spool file and hashed on the blocking pool,
  // not on this network thread; this frame (head, rest) outlives the
  // work, and the signers never change after start-up.
  const std::vector<std::shared_ptr<const dkim::Signer>>* signers = &it->second;
  std::time_t now = std::time(nullptr);
  using Values = std::optional<Result<std::vector<std::string>>>;
  auto work = [signers, &head, &rest, now]() -> Values {
    return dkim::SignStream(*signers, head, rest, now);
  };
  Values values;
  if (blocking_) {
    values = co_await RunBlocking(*blocking_, std::move(work));
  } else {
    values = work();
  }
  if (!values->ok()) {
    if (child) {
      child->Error(std::string("signing: ").append(values->status().message()));
    }
    co_return values->status();
  }
  // Each is prepended, so the last key's ends up on top.
  std::string headers;
  const std::vector<std::string>& sigs = **values;
  for (size_t i = 0; i < sigs.size(); ++i) {
    if (child) {
      child->Debugf("signed with " + it->second[i]->selector() + " (" +
                    it->second[i]->algorithm() + ")");
    }
    headers = dkim::SignatureHeaderLF(sigs[i]) + headers;
  }
  co_return headers;
}

net::awaitable<std::optional<std::string>> Checker::DkimVerify(
    std::shared_ptr<const std::string> data, nettrace::Trace* tr) {
  // Named arguments: GCC 12 destroys temporaries of a conditional
  // expression inside a co_await twice (heap corruption).
  std::string crlf = dkim::ToCRLF(*data);
  std::string title;
  if (tr) title = tr->title();
  auto r = co_await dkim::VerifyMessage(*resolver_, std::move(crlf), tr,
                                        std::move(title));
  co_return CountVerify(r, tr);
}

net::awaitable<std::optional<std::string>> Checker::DkimVerifyStream(
    std::string head, ChunkReader rest, bool rest_on_disk,
    nettrace::Trace* tr) {
  std::string title;
  if (tr) title = tr->title();
  // A body on disk is read and hashed on the pool (dkim.h); one in memory
  // right here.
  net::thread_pool* blocking = rest_on_disk ? blocking_ : nullptr;
  auto verifying =
      dkim::VerifyMessageStream(*resolver_, std::move(head), std::move(rest),
                                tr, std::move(title), nullptr, blocking);
  auto r = co_await std::move(verifying);
  co_return CountVerify(r, tr);
}

}  // namespace chasquid::checks
