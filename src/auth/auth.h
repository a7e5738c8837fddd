// Who exists and who may send.
//
// Backends: each domain's userdb file, then (when configured) Dovecot.
//
// Authenticate and Exists may block (scrypt is slow by design, Dovecot is a
// socket round trip): callers on network threads run them through
// RunBlocking (base/async.h). Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/status.h"

namespace chasquid::auth {

// A source of users for one domain (a userdb file) or the fallback.
class Backend {
 public:
  virtual ~Backend() = default;
  // Error status = the backend could not answer (temporary failure).
  virtual Result<bool> Authenticate(const std::string& user,
                                    const std::string& password) = 0;
  virtual Result<bool> Exists(const std::string& user) = 0;
  virtual Status Reload() = 0;
  // True if Exists answers from memory (a userdb file), so a network
  // thread may call it; false (the default) for a socket round trip.
  virtual bool ExistsNeverBlocks() const { return false; }
};

class Authenticator {
 public:
  Authenticator();
  ~Authenticator();

  // `domain` is normalised. Takes ownership.
  void Register(const std::string& domain, std::unique_ptr<Backend> be);
  void SetFallback(std::unique_ptr<Backend> be);

  // user and domain already normalised. Padded to 100 ms + 0-20 % whatever
  // the outcome (timing must not tell users apart).
  Result<bool> Authenticate(const std::string& user, const std::string& domain,
                            const std::string& password);
  Result<bool> Exists(const std::string& user, const std::string& domain);
  // True if Exists(_, domain) asks only backends that answer from memory
  // (ExistsNeverBlocks): the SMTP server then checks RCPT users on the
  // network thread instead of a hop to the blocking pool.
  bool ExistsNeverBlocks(const std::string& domain) const;
  // Reloads every backend; the error names the domain.
  Status Reload();

  // (Added by the users work.) The padded duration of Authenticate;
  // 100 ms by default. Tests shorten it. Call before use.
  void SetAuthDuration(std::chrono::nanoseconds d);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chasquid::auth
