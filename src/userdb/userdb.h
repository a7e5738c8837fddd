// User databases: the per-domain `users` file.
//
// The file is the protobuf text format of userdb.ProtoDB, a map from the
// PRECIS-normalised user name (no domain) to a Password, which is one of:
//   scrypt { logN r p keyLen salt encrypted }   the usual case;
//   plain  { password }                          for tests;
//   denied { }                                   a receive-only user.
// Any scheme makes the user exist (it may receive mail); only scrypt and
// plain can authenticate. New users get scrypt with logN 14, r 8, p 1,
// keyLen 32 and 16 random salt bytes, as chasquid does.
//
// The parser is protobuf's, which accepts what Go's prototext writes and
// what tests hand-write: single quotes, compact spacing, `\xNN` and octal
// escapes, literal UTF-8; for a repeated key the last entry wins.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/status.h"
#include "userdb/userdb.pb.h"

namespace chasquid::userdb {

// The generated messages live in the proto package `userdb` (the file
// format names it), i.e. ::userdb.
using ::userdb::Password;
using ::userdb::ProtoDB;

// scrypt(password, salt, N = 2^logN, r, p, key_len). Errors on invalid or
// unreasonable parameters (more than 1 GiB of memory): such entries never
// authenticate (Go would panic). Thread-safe.
Result<std::string> Scrypt(std::string_view password, std::string_view salt,
                           uint64_t log_n, int32_t r, int32_t p,
                           int32_t key_len);

// True if `plain` matches `pw` (scrypt or plain scheme), comparing in
// constant time. Denied, no scheme or invalid scrypt parameters: false.
bool PasswordMatches(const Password& pw, std::string_view plain);

// One users file. All methods are thread-safe; Authenticate does the slow
// scrypt work outside the lock.
class DB {
 public:
  // An empty database that will be written to / reloaded from `path`.
  explicit DB(std::string path);

  // Loads `path`. A missing file gives an empty database (it may appear
  // later and be picked up by Reload). Errors: the open error
  // ("open <path>: permission denied") or
  // "<path>:<line>:<column>: <parser message>".
  static Result<std::unique_ptr<DB>> Load(const std::string& path);

  // Re-reads the file; on error the current contents are kept.
  Status Reload();

  // Writes the whole database (safe write, mode 0660).
  Status Write() const;

  bool Authenticate(const std::string& name, std::string_view password) const;
  bool Exists(const std::string& name) const;

  // Adds or replaces a user. `name` must be its own PRECIS normalisation,
  // else "invalid username".
  Status AddUser(const std::string& name, std::string_view password);
  Status AddDeniedUser(const std::string& name);
  // False if the user was not there.
  bool RemoveUser(const std::string& name);

  size_t Len() const;
  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const ProtoDB> db_;  // Guarded by mu_; replaced, not edited.
};

// Parses the text format; `source` names the input in errors. Exposed for
// tests and the fuzzer.
Result<ProtoDB> ParseText(const std::string& text, const std::string& source);
// The text format written to disk.
std::string ToText(const ProtoDB& db);

}  // namespace chasquid::userdb
