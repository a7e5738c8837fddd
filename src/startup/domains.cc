// Domain discovery: every directory under
// domains/ is a local domain, named by its normalised directory name, with
// an optional users file, aliases file and DKIM keys.
#include <memory>

#include "auth/auth.h"
#include "auth/userdb_backend.h"
#include "base/log.h"
#include "base/strings.h"
#include "normalize/normalize.h"
#include "startup/startup.h"
#include "userdb/userdb.h"

namespace chasquid::startup {

Result<std::vector<LoadedDomain>> LoadDomains(auth::Authenticator* authr,
                                              const DomainLoaders& loaders,
                                              const std::string& dir) {
  CLOG_INFO("Domain config paths:");
  auto entries = ReadDirOrFail(dir);
  if (!entries.ok()) return entries.status();
  std::string base = dir;
  if (!base.empty() && base.back() != '/') base += '/';
  std::vector<LoadedDomain> out;
  for (const DirEntry& e : *entries) {
    // Normalised before the type check, as chasquid does: a bad name is
    // fatal even for a regular file.
    auto name = normalize::Domain(e.name);
    if (!name.ok()) {
      return Status::Error("Invalid name " + GoQuote(e.name, true) + ": " +
                           name.status().message());
    }
    if (e.regular) continue;
    const std::string& d = *name;
    std::string ddir = base + e.name;
    if (loaders.add_local_domain) loaders.add_local_domain(d);

    auto db = userdb::DB::Load(ddir + "/users");
    if (!db.ok()) {
      return Status::Error("  " + d +
                           ": users file error: " + db.status().message());
    }
    size_t nusers = (*db)->Len();
    authr->Register(d, std::make_unique<auth::UserdbBackend>(
                           std::shared_ptr<userdb::DB>(std::move(*db))));

    int naliases = 0, nkeys = 0;
    if (loaders.load_aliases) {
      auto n = loaders.load_aliases(d, ddir);
      if (!n.ok()) {
        return Status::Error("  " + d +
                             ": aliases file error: " + n.status().message());
      }
      naliases = *n;
    }
    if (loaders.load_dkim) {
      auto n = loaders.load_dkim(d, ddir);
      if (!n.ok()) {
        return Status::Error("  " + d +
                             ": DKIM loading error: " + n.status().message());
      }
      nkeys = *n;
    }
    CLOG_INFO("  " + d + " (" + std::to_string(nusers) + " users, " +
              std::to_string(naliases) + " aliases, " + std::to_string(nkeys) +
              " DKIM keys)");
    out.push_back({d, ddir});
  }
  return out;
}

}  // namespace chasquid::startup
