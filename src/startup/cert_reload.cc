#include "startup/cert_reload.h"

#include <sys/stat.h>

#include <cerrno>
#include <set>
#include <utility>

#include "base/log.h"
#include "base/strings.h"
#include "metrics/metrics.h"
#include "nettrace/trace.h"

namespace chasquid::startup {

namespace {

metrics::CounterMap* Reloads() {
  static metrics::CounterMap* m = metrics::NewMap(
      "chasquid/tls/certReloads", "result",
      "certificate pairs loaded (ok) or refused (error) after start-up");
  return m;
}

metrics::CounterMap* NotAfter() {
  static metrics::CounterMap* m = metrics::NewMap(
      "chasquid/tls/certNotAfter", "certificate",
      "expiry time of each served certificate, in seconds since the epoch");
  return m;
}

}  // namespace

namespace {
std::string WithSlash(std::string dir) {
  if (!dir.empty() && dir.back() != '/') dir += '/';
  return dir;
}
}  // namespace

CertReloader::CertReloader(std::string dir, smtpsrv::TlsStore* store)
    : dir_(WithSlash(std::move(dir))), store_(store) {
  Reloads();
  NotAfter();
}

Result<CertReloader::PairSig> CertReloader::Stat(const CertPair& files) {
  PairSig sig;
  for (auto [path, out] : {std::pair{&files.cert_path, &sig.cert},
                           std::pair{&files.key_path, &sig.key}}) {
    struct stat st;
    // stat, not lstat: a renewal repoints the symlink at a new file.
    if (stat(path->c_str(), &st) != 0) {
      return Status::Error(PathError("stat", *path, errno));
    }
    *out = {st.st_dev, st.st_ino, st.st_size,
            static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                st.st_mtim.tv_nsec};
  }
  return sig;
}

Status CertReloader::Init(const std::vector<CertPair>& pairs) {
  std::lock_guard<std::mutex> l(mu_);
  for (const CertPair& p : pairs) {
    Entry e;
    e.files = p;
    auto sig = Stat(p);
    if (!sig.ok()) return sig.status();
    e.sig = *sig;
    auto kp = smtpsrv::KeyPair::Load({p.cert_path, p.key_path});
    if (!kp.ok()) return kp.status();
    e.pair = std::move(*kp);
    entries_[p.name] = std::move(e);
  }
  Publish();
  return Status::Ok();
}

bool CertReloader::Load(const std::string& name, const PairSig& sig, Entry* e) {
  // A trace per pair loaded, for /debug/traces; the outcome is also
  // logged below, once, so the trace only stores its events.
  nettrace::Trace tr("TLS.CertReload", name);
  tr.Event("files changed: " + e->files.cert_path + ", " + e->files.key_path);
  // The same checks, with the same texts, as at start-up.
  Status s = CheckCertPair(e->files.cert_path, e->files.key_path);
  std::shared_ptr<const smtpsrv::KeyPair> kp;
  if (s.ok()) {
    auto r = smtpsrv::KeyPair::Load({e->files.cert_path, e->files.key_path});
    if (r.ok()) {
      kp = std::move(*r);
    } else {
      s = r.status();
    }
  }
  if (!s.ok()) {
    CLOG_ERROR(
        "Error reloading certificate " + name + ": " + s.message() +
        (e->pair ? "; still serving the previous one" : "; not serving it"));
    Reloads()->Add("error");
    tr.Event("refused: " + s.message());
    e->has_failed = true;
    e->failed = sig;
    return false;
  }
  CLOG_INFO("Reloaded certificate " + name);
  Reloads()->Add("ok");
  tr.Event("loaded; expires at " + std::to_string(kp->NotAfter()));
  e->pair = std::move(kp);
  e->sig = sig;
  e->has_failed = false;
  return true;
}

void CertReloader::Check() {
  std::lock_guard<std::mutex> l(mu_);
  auto listing = ReadDirOrFail(dir_);
  if (!listing.ok()) {
    // Reported once, not on every tick, until the directory is back.
    if (!dir_failed_) {
      CLOG_ERROR("Error reloading certificates: " + listing.status().message() +
                 "; still serving the previous "
                 "ones");
      Reloads()->Add("error");
    }
    dir_failed_ = true;
    return;
  }
  dir_failed_ = false;
  bool changed = false;
  std::set<std::string> seen;
  for (const DirEntry& d : *listing) {
    // As at start-up: directories (or symlinks to them) only.
    if (d.regular) continue;
    CertPair files{d.name, dir_ + d.name + "/fullchain.pem",
                   dir_ + d.name + "/privkey.pem"};
    auto sig = Stat(files);
    auto it = entries_.find(d.name);
    if (!sig.ok()) {
      // Half-written or not a certificate directory: keep what is served.
      if (it != entries_.end() && it->second.pair) seen.insert(d.name);
      continue;
    }
    seen.insert(d.name);
    if (it == entries_.end()) {
      it = entries_.emplace(d.name, Entry{files, {}, nullptr, false, {}}).first;
    }
    Entry& e = it->second;
    if (e.pair && e.sig == *sig) continue;
    if (e.has_failed && e.failed == *sig) continue;  // Already reported.
    if (Load(d.name, *sig, &e)) changed = true;
  }
  // Entries removed from certs/ (or never loaded) stop being served, but
  // never the last one: a TLS server needs a certificate.
  size_t serving = 0;
  for (const auto& [name, e] : entries_) {
    if (e.pair && seen.count(name)) serving++;
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    bool gone = !seen.count(it->first);
    if (gone && (!it->second.pair || serving > 0)) {
      if (it->second.pair) {
        CLOG_INFO("Certificate " + it->first + " removed; no longer served");
        changed = true;
      }
      NotAfter()->Erase(it->first);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  if (changed) Publish();
}

void CertReloader::Publish() {
  std::vector<std::shared_ptr<const smtpsrv::KeyPair>> pairs;
  for (const auto& [name, e] : entries_) {
    if (!e.pair) continue;
    pairs.push_back(e.pair);
    NotAfter()->Set(name, static_cast<int64_t>(e.pair->NotAfter()));
  }
  auto ctx = smtpsrv::TlsContext::FromPairs(std::move(pairs));
  if (!ctx.ok()) {
    CLOG_ERROR("Error building the TLS context: " + ctx.status().message());
    Reloads()->Add("error");
    return;
  }
  store_->Set(std::shared_ptr<smtpsrv::TlsContext>(std::move(*ctx)));
}

}  // namespace chasquid::startup
