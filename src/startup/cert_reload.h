// Certificates that reload without a restart (an extension over
// chasquid, which reads certs/ only at start-up).
//
// certbot renews a certificate by writing new files and repointing the
// symlinks under live/<name>/; other tools overwrite the files in place.
// Check() notices either by comparing, for both files of every certs/
// entry, what stat() says after following symlinks: device, inode, size
// and modification time. A changed pair is loaded and checked as at
// start-up; if that works, a new TLS snapshot is built and published, so
// new handshakes use it while open connections keep the one they started
// with. If it fails, the old pair keeps serving, the failure is logged
// with the file and the reason, and counted; it is not retried until its
// files change again. New entries under certs/ are picked up the same way;
// entries that disappear stop being served (unless none would be left).
//
// Variables (ours): chasquid/tls/certReloads{result="ok"|"error"}, one per
// pair loaded or refused after start-up; chasquid/tls/certNotAfter
// {certificate=<certs/ entry>}, the leaf's expiry in seconds since the
// epoch, for each certificate being served.
//
// Thread-safe. The store must outlive the reloader.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "smtpsrv/tls.h"
#include "startup/startup.h"

namespace chasquid::startup {

class CertReloader {
 public:
  // `dir` is the certificates directory ("certs/").
  CertReloader(std::string dir, smtpsrv::TlsStore* store);

  // Start-up: loads `pairs` (DiscoverCerts' result) and publishes the
  // first snapshot. An error is the start-up fatal line's text.
  Status Init(const std::vector<CertPair>& pairs);

  // Looks for changes under `dir` and publishes a new snapshot if there
  // are any. Never fails: errors keep what is being served.
  void Check();

 private:
  struct FileSig {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileSig&) const = default;
  };
  struct PairSig {
    FileSig cert, key;
    bool operator==(const PairSig&) const = default;
  };
  struct Entry {
    CertPair files;
    PairSig sig;                                   // Of what is served.
    std::shared_ptr<const smtpsrv::KeyPair> pair;  // Null: never loaded.
    bool has_failed = false;
    PairSig failed;  // Refused files.
  };

  static Result<PairSig> Stat(const CertPair& files);
  // Loads one changed entry into *e; false when refused (logged, counted).
  bool Load(const std::string& name, const PairSig& sig, Entry* e);
  void Publish();

  const std::string dir_;
  smtpsrv::TlsStore* const store_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // By certs/ name, in byte order.
  bool dir_failed_ = false;               // The last listing of dir_ failed.
};

}  // namespace chasquid::startup
