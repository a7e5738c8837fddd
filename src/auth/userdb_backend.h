// An auth::Backend backed by one domain's users file (userdb::DB).
#pragma once

#include <memory>
#include <string>

#include "auth/auth.h"
#include "userdb/userdb.h"

namespace chasquid::auth {

// Thread-safe. Shares ownership of the DB so the daemon can also report
// its size.
class UserdbBackend : public Backend {
 public:
  explicit UserdbBackend(std::shared_ptr<userdb::DB> db) : db_(std::move(db)) {}
  Result<bool> Authenticate(const std::string& user,
                            const std::string& password) override;
  Result<bool> Exists(const std::string& user) override;
  Status Reload() override;
  // The users are in memory (Reload re-reads the file).
  bool ExistsNeverBlocks() const override { return true; }

 private:
  std::shared_ptr<userdb::DB> db_;
};

}  // namespace chasquid::auth
