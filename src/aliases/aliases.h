// Aliases (spec/config-and-files §7.4-§7.6): the per-domain aliases files,
// catch-all, pipe and "via" recipients, drop characters and suffixes, the
// recursion limit, and the alias-resolve hook.
//
// CONTRACT: this header is fixed as far as smtpsrv uses it (Exists); the
// implementation comes with the queue work. Exists and Resolve may run the
// hook (up to 5 s): call them through RunBlocking. Thread-safe.
#pragma once

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
  virtual Result<std::vector<Recipient>> Resolve(const std::string& addr) = 0;
};

}  // namespace chasquid::aliases
