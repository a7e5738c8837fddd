// Domain information database: the security level we have seen from and to
// each domain, so that a later connection at a lower level (a TLS downgrade
// by a man in the middle) is refused, both when receiving and when
// delivering. The file format is in docs/formats.md, "Domain information".
//
// On disk: one file per domain in <data_dir>/domaininfo, named "s:" + the
// URL-query-escaped domain, holding the text-format domaininfo.Domain
// message (mode 0660, written atomically). The whole directory is loaded at
// start-up and on Reload (SIGHUP); the in-memory map is keyed by the `name`
// field. Levels only go up, except through Clear (chasquid-util
// domaininfo-remove).
//
// Thread-safe: a mutex guards the map for a few lines; file writes happen
// outside it and their errors are only logged, as in chasquid.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "domaininfo/domaininfo.pb.h"

namespace chasquid::domaininfo {

using SecLevel = ::domaininfo::SecLevel;
inline constexpr SecLevel kPlain = ::domaininfo::PLAIN;
inline constexpr SecLevel kTlsClient = ::domaininfo::TLS_CLIENT;
inline constexpr SecLevel kTlsInsecure = ::domaininfo::TLS_INSECURE;
inline constexpr SecLevel kTlsSecure = ::domaininfo::TLS_SECURE;

// "PLAIN", "TLS_CLIENT", "TLS_INSECURE", "TLS_SECURE".
std::string LevelName(SecLevel level);

class DB {
 public:
  // Creates `dir` (0770) if missing and loads it. Errors are Go-like:
  // "mkdir <dir>: not a directory", `error loading "<id>": <err>`.
  static Result<std::unique_ptr<DB>> Open(std::string dir);

  // Re-reads the directory (SIGHUP). On error the old contents are kept.
  Status Reload();

  // The incoming check: true if `level` is allowed for mail
  // from `domain`; records a higher level. Counts
  // chasquid/smtpIn/securityLevelChecks pass/fail.
  bool IncomingSecLevel(std::string_view domain, SecLevel level);
  // IncomingSecLevel's answer (and count) when it needs no write: the
  // domain is known and `level` is not above its record, as for every
  // message but a domain's first or its first over TLS. nullopt: call
  // IncomingSecLevel, off the network threads.
  std::optional<bool> IncomingSecLevelWithoutWrite(std::string_view domain,
                                                   SecLevel level);
  // For the SMTP server when the check does not apply (SPF not pass):
  // counts chasquid/smtpIn/securityLevelChecks{result="skip"}.
  static void CountIncomingSkip();

  // The outgoing check, same algorithm on
  // outgoing_sec_level. The caller (the SMTP courier) counts
  // chasquid/smtpOut/securityLevelChecks.
  bool OutgoingSecLevel(std::string_view domain, SecLevel level);

  // Sets both levels of `domain` to PLAIN and rewrites its file. Error
  // "does not exist" if the exact name is unknown.
  Status Clear(std::string_view domain);

  // A copy of the entry, or nullopt-like false if unknown (for tests and
  // the monitoring pages).
  bool Get(std::string_view domain, ::domaininfo::Domain* out) const;

 private:
  explicit DB(std::string dir) : dir_(std::move(dir)) {}
  enum class Direction { kIncoming, kOutgoing };
  bool Check(std::string_view domain, SecLevel level, Direction dir);
  void Write(const ::domaininfo::Domain& d) const;

  const std::string dir_;
  mutable std::mutex mu_;
  std::map<std::string, ::domaininfo::Domain, std::less<>> info_;
};

}  // namespace chasquid::domaininfo
