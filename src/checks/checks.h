// The policy checks of the receiving side, plugged into the SMTP server's
// smtpsrv::Checks seam: SPF at MAIL FROM, the incoming security level, and
// DKIM signing (authenticated mail) or verification (everything else) after
// DATA.
//
// It answers questions and counts the DKIM verification counters
// (chasquid/smtpIn/dkimVerify*), which only it can tell apart; the SMTP
// connection owns the replies, the headers and the other counters.
//
// Thread-safety: all methods may be called from any connection at once.
// Signers are registered at start-up (LoadDKIM, from domain discovery)
// before the first connection and never change afterwards, as in chasquid
// (keys are not reloaded on SIGHUP).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "dkim/dkim.h"
#include "dns/dns.h"
#include "domaininfo/domaininfo.h"
#include "smtpsrv/checks.h"

namespace chasquid::checks {

namespace net = boost::asio;

class Checker : public smtpsrv::Checks {
 public:
  // `resolver` (not owned) must outlive the Checker.
  explicit Checker(dns::Resolver* resolver);

  // The domaininfo DB for the incoming security level check, and the pool
  // that runs blocking work (neither owned): its file writes, and the
  // reading and hashing of bodies streamed for DKIM (a spooled message's
  // file). Start-up only, before the first connection; without it every
  // security level check passes and DKIM reads on the caller's thread.
  void SetDomainInfo(domaininfo::DB* dinfo, net::thread_pool* blocking);

  // Loads domains/<dir>/dkim:*.pem for a (normalized) domain: the daemon's
  // DomainLoaders::load_dkim. Returns the number of keys. Start-up only.
  Result<int> LoadDKIM(const std::string& domain, const std::string& dir);

  net::awaitable<std::optional<smtpsrv::SpfOutcome>> Spf(
      std::string ip, std::string sender, nettrace::Trace* tr) override;
  net::awaitable<bool> IncomingSecLevelOk(std::string domain, bool on_tls,
                                          nettrace::Trace* tr) override;
  bool HasDkimKeys(const std::string& from_domain) const override;
  net::awaitable<Result<int>> DkimSign(std::string from_domain,
                                       std::string* data,
                                       nettrace::Trace* tr) override;
  net::awaitable<std::optional<std::string>> DkimVerify(
      std::shared_ptr<const std::string> data, nettrace::Trace* tr) override;
  net::awaitable<Result<std::string>> DkimSignStream(
      std::string from_domain, std::string head, ChunkReader rest,
      nettrace::Trace* tr) override;
  net::awaitable<std::optional<std::string>> DkimVerifyStream(
      std::string head, ChunkReader rest, bool rest_on_disk,
      nettrace::Trace* tr) override;

 private:
  dns::Resolver* resolver_;
  domaininfo::DB* dinfo_ = nullptr;
  net::thread_pool* blocking_ = nullptr;
  std::map<std::string, std::vector<std::shared_ptr<const dkim::Signer>>>
      signers_;
};

}  // namespace chasquid::checks
