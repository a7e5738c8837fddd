#include "spf/spf.h"

#include <optional>

#include "base/strings.h"
#include "nettrace/trace.h"
#include "spf/record.h"

namespace chasquid::spf {

namespace {

CheckResult Res(Verdict v, std::string err) { return {v, std::move(err)}; }

Verdict FromQualifier(Qualifier q) {
  switch (q) {
    case Qualifier::kPass:
      return Verdict::kPass;
    case Qualifier::kFail:
      return Verdict::kFail;
    case Qualifier::kSoftFail:
      return Verdict::kSoftFail;
    case Qualifier::kNeutral:
      return Verdict::kNeutral;
  }
  return Verdict::kNeutral;
}

std::string StripDot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return AsciiToLower(s);
}

// The state of one check_host() evaluation, shared by its recursive
// include/redirect evaluations (the limits are global, RFC 7208 §4.6.4).
class Checker {
 public:
  Checker(dns::Resolver& r, IP ip, std::string ip_str, std::string helo,
          const Options& opts, nettrace::Trace* tr)
      : r_(r),
        ip_(ip),
        ip_str_(std::move(ip_str)),
        helo_(std::move(helo)),
        opts_(opts),
        tr_(tr) {}

  net::awaitable<CheckResult> Check(std::string domain, std::string sender);

 private:
  // nullopt: no match, go on; otherwise the result of the whole check.
  using Step = std::optional<CheckResult>;
  // Terminal result of a mechanism when it matched.
  static Step Matched(const Term& t, std::string why) {
    return Res(FromQualifier(t.qualifier), std::move(why));
  }

  net::awaitable<Step> Eval(Term t, MacroContext ctx);
  net::awaitable<Step> EvalA(Term t, std::string target);
  net::awaitable<Step> EvalMX(Term t, std::string target);
  net::awaitable<Step> EvalPTR(Term t, std::string target);
  // The client's validated PTR names (§5.5), looked up once.
  net::awaitable<const std::vector<std::string>*> ValidatedNames();
  // %{p} (§7.3) for the current domain.
  net::awaitable<std::string> ValidatedName(std::string domain);
  static bool IsSubdomain(const std::string& n, const std::string& target);
  // Expands a domain-spec, resolving %{p} only when it is used.
  net::awaitable<Result<std::string>> Expand(std::string spec,
                                             MacroContext ctx);
  net::awaitable<Step> EvalExists(Term t, std::string target);
  net::awaitable<Step> EvalInclude(Term t, std::string target,
                                   std::string sender);

  // Counts a DNS-querying term; an error result once over the limit.
  Step CountLookup() {
    if (++lookups_ > opts_.max_lookups) {
      return Res(Verdict::kPermError, "lookup limit reached");
    }
    return std::nullopt;
  }
  Step CountVoid() {
    if (++voids_ > opts_.max_void_lookups) {
      return Res(Verdict::kPermError, "void lookup limit reached");
    }
    return std::nullopt;
  }
  // Addresses of `name` of the client's family (what an A or AAAA query for
  // the client's family returns).
  net::awaitable<Result<std::vector<IP>>> Addresses(std::string name, bool v4);
  void Event(const std::string& msg) {
    if (tr_) tr_->Debugf(msg);
  }

  dns::Resolver& r_;
  IP ip_;
  std::string ip_str_;
  std::string helo_;
  const Options& opts_;
  nettrace::Trace* tr_;
  int lookups_ = 0, voids_ = 0;
  std::optional<std::vector<std::string>> ptr_names_;  // Cached, §5.5.
};

net::awaitable<Result<std::vector<IP>>> Checker::Addresses(std::string name,
                                                           bool v4) {
  auto addrs = co_await r_.LookupIP(name);
  if (!addrs.ok()) co_return addrs.status();
  std::vector<IP> out;
  for (const std::string& a : *addrs) {
    auto ip = IP::Parse(a);
    if (ip && ip->v4 == v4) out.push_back(*ip);
  }
  co_return out;
}

net::awaitable<Result<std::string>> Checker::Expand(std::string spec,
                                                    MacroContext ctx) {
  if (spec.find("%{p") != std::string::npos ||
      spec.find("%{P") != std::string::npos) {
    ctx.validated = co_await ValidatedName(ctx.domain);
  }
  co_return ExpandDomainSpec(spec, ctx);
}

net::awaitable<CheckResult> Checker::Check(std::string domain,
                                           std::string sender) {
  Event("check_host " + domain + " " + sender);
  // RFC 7208 §4.3: a malformed domain gives "none". Single labels are
  // looked up (see ValidDomainName).
  if (!ValidDomainName(domain)) {
    co_return Res(Verdict::kNone, "invalid domain");
  }
  auto txts = co_await r_.LookupTXT(domain);
  if (!txts.ok()) {
    if (txts.status().transient()) {
      co_return Res(Verdict::kTempError, txts.status().message());
    }
    co_return Res(Verdict::kNone, "no DNS record found");
  }
  std::vector<std::string> records;
  for (const std::string& t : *txts) {
    if (IsSPFRecord(t)) records.push_back(t);
  }
  if (records.empty()) co_return Res(Verdict::kNone, "no DNS record found");
  if (records.size() > 1) {
    co_return Res(Verdict::kPermError, "multiple matching DNS records");
  }
  Event("record: " + records[0]);
  auto rec = ParseRecord(records[0]);
  if (!rec.ok()) co_return Res(Verdict::kPermError, rec.status().message());

  MacroContext ctx{sender, domain, ip_, helo_};
  for (const Term& t : rec->mechanisms) {
    Step s = co_await Eval(t, ctx);
    if (s) co_return std::move(*s);
  }
  if (rec->redirect) {
    if (Step s = CountLookup()) co_return std::move(*s);
    auto target = co_await Expand(rec->redirect->domain_spec, ctx);
    if (!target.ok()) co_return Res(Verdict::kPermError, "invalid macro");
    CheckResult r = co_await Check(StripDot(*target), sender);
    // §6.1: a redirect to a domain without a record is a permerror.
    if (r.verdict == Verdict::kNone) r.verdict = Verdict::kPermError;
    co_return r;
  }
  // §4.7: nothing matched.
  co_return Res(Verdict::kNeutral, "");
}

net::awaitable<Checker::Step> Checker::Eval(Term t, MacroContext ctx) {
  Event("term " + t.text);
  switch (t.kind) {
    case Term::Kind::kAll:
      co_return Matched(t, "matched all");
    case Term::Kind::kIP4:
    case Term::Kind::kIP6: {
      // The family of the mechanism must match the client's (§5.6); a v4
      // client never matches ip6 and vice versa.
      int bits = t.ip.v4 ? t.cidr4 : t.cidr6;
      if (ip_.InPrefix(t.ip, bits)) co_return Matched(t, "matched ip");
      co_return std::nullopt;
    }
    default:
      break;
  }
  if (Step s = CountLookup()) co_return s;
  std::string target = ctx.domain;
  if (!t.domain_spec.empty()) {
    auto exp = co_await Expand(t.domain_spec, ctx);
    if (!exp.ok()) co_return Res(Verdict::kPermError, "invalid macro");
    target = StripDot(*exp);
  }
  switch (t.kind) {
    case Term::Kind::kInclude:
      co_return co_await EvalInclude(t, target, ctx.sender);
    case Term::Kind::kA:
      co_return co_await EvalA(t, target);
    case Term::Kind::kMX:
      co_return co_await EvalMX(t, target);
    case Term::Kind::kPTR:
      co_return co_await EvalPTR(t, target);
    case Term::Kind::kExists:
      co_return co_await EvalExists(t, target);
    default:
      co_return Res(Verdict::kPermError, "unknown field");
  }
}

net::awaitable<Checker::Step> Checker::EvalInclude(Term t, std::string target,
                                                   std::string sender) {
  CheckResult r = co_await Check(target, sender);
  switch (r.verdict) {
    case Verdict::kPass:
      co_return Matched(t, r.error);
    case Verdict::kFail:
    case Verdict::kSoftFail:
    case Verdict::kNeutral:
      co_return std::nullopt;
    case Verdict::kTempError:
      co_return r;
    // RFC 7208 §5.2: "none" from an include is a permerror.
    case Verdict::kNone:
    case Verdict::kPermError:
      co_return Res(Verdict::kPermError, r.error);
  }
  co_return std::nullopt;
}

net::awaitable<Checker::Step> Checker::EvalA(Term t, std::string target) {
  // A target that is not a valid DNS name (possible via macros) can not
  // exist: no match (RFC 7208 §4.3 by analogy; the RFC leaves it open).
  if (!ValidDomainName(target)) co_return std::nullopt;
  auto addrs = co_await Addresses(target, ip_.v4);
  if (!addrs.ok()) {
    if (addrs.status().transient()) {
      co_return Res(Verdict::kTempError, addrs.status().message());
    }
    if (Step s = CountVoid()) co_return s;
    co_return std::nullopt;
  }
  if (addrs->empty()) {
    if (Step s = CountVoid()) co_return s;
  }
  int bits = ip_.v4 ? t.cidr4 : t.cidr6;
  for (const IP& a : *addrs) {
    if (ip_.InPrefix(a, bits)) co_return Matched(t, "matched a");
  }
  co_return std::nullopt;
}

net::awaitable<Checker::Step> Checker::EvalMX(Term t, std::string target) {
  if (!ValidDomainName(target)) co_return std::nullopt;
  auto mxs = co_await r_.LookupMX(target);
  if (!mxs.ok()) {
    if (mxs.status().transient()) {
      co_return Res(Verdict::kTempError, mxs.status().message());
    }
    if (Step s = CountVoid()) co_return s;
    co_return std::nullopt;
  }
  if (mxs->empty()) {
    if (Step s = CountVoid()) co_return s;
    co_return std::nullopt;
  }
  // §4.6.4: at most 10 address lookups per "mx".
  if (mxs->size() > 10) {
    co_return Res(Verdict::kPermError, "too many MX records");
  }
  int bits = ip_.v4 ? t.cidr4 : t.cidr6;
  for (const dns::MX& mx : *mxs) {
    if (mx.host.empty() || mx.host == ".") continue;  // Null MX (RFC 7505).
    auto addrs = co_await Addresses(mx.host, ip_.v4);
    if (!addrs.ok()) {
      if (addrs.status().transient()) {
        co_return Res(Verdict::kTempError, addrs.status().message());
      }
      continue;
    }
    for (const IP& a : *addrs) {
      if (ip_.InPrefix(a, bits)) co_return Matched(t, "matched mx");
    }
  }
  co_return std::nullopt;
}

net::awaitable<const std::vector<std::string>*> Checker::ValidatedNames() {
  if (ptr_names_) co_return &*ptr_names_;
  ptr_names_.emplace();
  Result<std::vector<std::string>> names = Status::NotFound("no such host");
  // The resolver's own PTR query (c-ares in the daemon).
  names = co_await r_.LookupAddr(ip_str_);
  // §5.5: a DNS error makes ptr not match (no temperror).
  if (!names.ok()) co_return &*ptr_names_;
  // §4.6.4: only the first 10 names are used; each must resolve back to
  // the client IP to be "validated" (RFC behaviour; chasquid's library
  // accepts any name with an address, a deviation we do not keep).
  for (size_t i = 0; i < names->size() && i < 10; ++i) {
    std::string name = StripDot((*names)[i]);
    auto addrs = co_await Addresses(name, ip_.v4);
    if (!addrs.ok()) continue;
    for (const IP& a : *addrs) {
      if (a == ip_) {
        ptr_names_->push_back(name);
        break;
      }
    }
  }
  co_return &*ptr_names_;
}

bool Checker::IsSubdomain(const std::string& n, const std::string& target) {
  // Label-boundary match (RFC), not a plain suffix (chasquid's library).
  return n == target ||
         (n.size() > target.size() &&
          n.compare(n.size() - target.size(), target.size(), target) == 0 &&
          n[n.size() - target.size() - 1] == '.');
}

net::awaitable<std::string> Checker::ValidatedName(std::string domain) {
  const std::vector<std::string>* names = co_await ValidatedNames();
  // RFC 7208 §7.3: prefer the domain itself or a subdomain of it.
  for (const std::string& n : *names) {
    if (IsSubdomain(n, domain)) co_return n;
  }
  if (!names->empty()) co_return names->front();
  co_return "unknown";
}

net::awaitable<Checker::Step> Checker::EvalPTR(Term t, std::string target) {
  bool had_names = ptr_names_.has_value();
  const std::vector<std::string>* names = co_await ValidatedNames();
  if (!had_names && names->empty()) {
    if (Step s = CountVoid()) co_return s;
  }
  for (const std::string& n : *names) {
    if (IsSubdomain(n, target)) co_return Matched(t, "matched ptr");
  }
  co_return std::nullopt;
}
net::awaitable<Checker::Step> Checker::EvalExists(Term t, std::string target) {
  if (!ValidDomainName(target)) co_return std::nullopt;
  // §5.7: always an A query, whatever the client's family.
  auto addrs = co_await Addresses(target, true);
  if (!addrs.ok()) {
    if (addrs.status().transient()) {
      co_return Res(Verdict::kTempError, addrs.status().message());
    }
    if (Step s = CountVoid()) co_return s;
    co_return std::nullopt;
  }
  if (addrs->empty()) {
    if (Step s = CountVoid()) co_return s;
    co_return std::nullopt;
  }
  co_return Matched(t, "matched exists");
}

}  // namespace

std::string_view ToString(Verdict v) {
  switch (v) {
    case Verdict::kNone:
      return "none";
    case Verdict::kNeutral:
      return "neutral";
    case Verdict::kPass:
      return "pass";
    case Verdict::kFail:
      return "fail";
    case Verdict::kSoftFail:
      return "softfail";
    case Verdict::kTempError:
      return "temperror";
    case Verdict::kPermError:
      return "permerror";
  }
  return "none";
}

net::awaitable<CheckResult> CheckHostWithSender(dns::Resolver& resolver,
                                                std::string ip,
                                                std::string helo,
                                                std::string sender,
                                                Options options) {
  std::optional<nettrace::Trace> tr;
  if (options.parent) tr.emplace(options.parent->NewChild("SPF", ip));
  nettrace::Trace* trp = tr ? &*tr : options.trace;

  auto parsed = IP::Parse(ip);
  if (!parsed) {
    if (trp) trp->Error("invalid IP " + ip);
    co_return Res(Verdict::kPermError, "invalid IP");
  }
  // RFC 7208 §2.4: an empty MAIL FROM is checked as postmaster@<helo>;
  // §4.3: an empty local part becomes "postmaster".
  if (sender.empty()) sender = "postmaster@" + helo;
  std::string domain = helo;
  size_t at = sender.rfind('@');
  if (at != std::string::npos) {
    domain = sender.substr(at + 1);
    if (at == 0) sender = "postmaster" + sender;
  }
  Checker checker(resolver, *parsed, ip, helo, options, trp);
  CheckResult r = co_await checker.Check(StripDot(domain), sender);
  if (trp) {
    std::string msg =
        std::string(ToString(r.verdict)) + " (" + r.ErrorText() + ")";
    if (r.verdict == Verdict::kTempError || r.verdict == Verdict::kPermError) {
      trp->Error(msg);
    } else {
      trp->Printf(msg);
    }
  }
  co_return r;
}

}  // namespace chasquid::spf
