// Aliases: the per-domain aliases files,
// catch-all, pipe and "via" recipients, drop characters and suffixes, the
// recursion limit, and the alias-resolve hook.
//
// smtpsrv uses only Exists (or ExistsWithoutHook first). Exists and
// Resolve may run the hook (up to 5 s): call them through RunBlocking.
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"

namespace chasquid::aliases {

enum class RecipientType { kEmail, kPipe, kForward };

struct Recipient {
  std::string addr;  // Address, or the pipe command.
  RecipientType type = RecipientType::kEmail;
  std::vector<std::string> via;  // Servers, for kForward.
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  // True if `addr` (normalised) has aliases, a catch-all or hook results.
  virtual bool Exists(const std::string& addr) = 0;
  // Exists' answer when it can be given without running the hook (the
  // common case: no hook installed), from memory and one stat(): cheap
  // enough for a network thread, which then skips a hop to the blocking
  // pool per RCPT. nullopt: the hook would run; call Exists off the
  // network threads instead. Counts what Exists counts.
  virtual std::optional<bool> ExistsWithoutHook(const std::string& addr) {
    (void)addr;
    return std::nullopt;
  }
  virtual Result<std::vector<Recipient>> Resolve(const std::string& addr) = 0;
};

// Parses an aliases right-hand side (also the hook's output) for `domain`.
// Errors: "right-side: the pipe alias is missing a command",
// "forwarding alias is missing the address", "empty server in via list",
// `right-side: normalizing address "<item>": <err>`.
Result<std::vector<Recipient>> ParseRHS(const std::string& rhs,
                                        const std::string& domain);

// Key -> recipients, as read from files.
using Table = std::map<std::string, std::vector<Recipient>>;

// Parses one aliases file's contents into `table` (later lines
// override earlier ones). Lines that do not parse are logged as
// `"<path>" line N: <msg>` and skipped: one typo must not take every other
// alias down with it. (chasquid makes them fatal at start-up; we skip
// them, so an operator sees the log line and the rest keeps working.) Returns
// the number of distinct keys this file defined.
int ParseAliases(const std::string& text, const std::string& path,
                 const std::string& domain, const std::string& seps,
                 const std::string& drops, Table* table);

// The daemon's resolver: the aliases files of every domain, the user
// databases (through `user_exists`) and the alias-resolve hook.
// Thread-safe; Reload swaps the table atomically.
class FileResolver : public Resolver {
 public:
  // `user_exists(user, domain)` answers whether the user database has the
  // user; errors count as "no".
  FileResolver(
      std::string suffix_separators, std::string drop_characters,
      std::function<bool(const std::string& user, const std::string& domain)>
          user_exists);

  // Start-up only. The hook path is relative to the cwd (the config dir):
  // "hooks/alias-resolve". Empty: no hook ("resolve:notset").
  void SetHookPath(std::string path);
  void AddDomain(const std::string& domain);
  // Registers `path` (a missing file means no aliases) for `domain` and
  // loads it; returns the number of keys. Error: the file exists but
  // cannot be read.
  Result<int> AddAliasesFile(const std::string& domain,
                             const std::string& path);
  // Re-reads every registered file.
  Status Reload();

  bool Exists(const std::string& addr) override;
  std::optional<bool> ExistsWithoutHook(const std::string& addr) override;
  Result<std::vector<Recipient>> Resolve(const std::string& addr) override;

 private:
  // Whether a lookup would run the hook, as RunHook decides it.
  enum class Hook { kNotSet, kAbsent, kPresent };
  Hook HookState() const;
  // `hook`: kPresent to decide (and run it) per lookup; kNotSet or
  // kAbsent when the caller already found there is none to run.
  bool ExistsWith(const std::string& addr, Hook hook);
  Result<std::vector<Recipient>> Lookup(const std::string& addr,
                                        Hook hook = Hook::kPresent);
  Result<std::vector<Recipient>> RunHook(const std::string& addr);
  Result<std::vector<Recipient>> DoResolve(const std::string& addr, int rec);
  Status LoadInto(const std::string& domain, const std::string& path,
                  Table* table, int* keys);
  std::shared_ptr<const Table> Snapshot() const;

  const std::string seps_, drops_;
  const std::function<bool(const std::string&, const std::string&)>
      user_exists_;
  std::string hook_path_;
  std::set<std::string> domains_;
  std::vector<std::pair<std::string, std::string>> files_;  // domain, path
  mutable std::mutex mu_;
  std::shared_ptr<const Table> table_;  // Guarded by mu_.
};

}  // namespace chasquid::aliases
