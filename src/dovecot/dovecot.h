// Dovecot authentication: the optional
// fallback auth::Backend, used when a domain's userdb does not know the
// user.
//
// Two Dovecot protocols over unix sockets, one new connection per call,
// 5 s to connect and 5 s for the whole exchange:
//  * Exists: the auth-master ("userdb") protocol: read VERSION and SPID,
//    send VERSION and "USER\t1\t<user>\tservice=smtp", expect USER or
//    NOTFOUND.
//  * Authenticate: the auth client protocol: send VERSION and CPID, read
//    the handshake until DONE, send a PLAIN AUTH request, expect OK or FAIL.
// Empty socket paths are autodetected (on each use until found) among
// /var/run/dovecot/auth-chasquid-{userdb,client} and
// /var/run/dovecot/auth-{userdb,client}.
//
// Thread-safe. Calls block (use RunBlocking from network threads).
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "auth/auth.h"
#include "base/status.h"

namespace chasquid::dovecot {

class Auth : public auth::Backend {
 public:
  // Paths may be empty (autodetect).
  Auth(std::string userdb_path, std::string client_path);

  // `user` is "user@domain" or a bare "user". Errors are transient: they
  // become 4xx replies.
  Result<bool> Exists(const std::string& user) override;
  Result<bool> Authenticate(const std::string& user,
                            const std::string& password) override;
  Status Reload() override { return Status::Ok(); }

  // Both sockets accept connections. Error e.g.
  // "dial unix /x/auth-userdb: connect: no such file or directory".
  Status Check();

  // DovecotAuth("<userdb>", "<client>"), with the paths known so far.
  std::string String() const;

  void SetTimeout(std::chrono::milliseconds t) { timeout_ = t; }

 private:
  // The socket paths, autodetecting empty ones.
  std::pair<std::string, std::string> Addrs();

  mutable std::mutex mu_;
  std::string userdb_;  // Guarded by mu_.
  std::string client_;  // Guarded by mu_.
  std::chrono::milliseconds timeout_{5000};
};

// True if `user` has no Unicode white space (Go's unicode.IsSpace), so it
// cannot inject fields into the TAB-separated protocol.
bool IsUsernameSafe(const std::string& user);

}  // namespace chasquid::dovecot
