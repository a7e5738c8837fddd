#include "auth/userdb_backend.h"

namespace chasquid::auth {

Result<bool> UserdbBackend::Authenticate(const std::string& user,
                                         const std::string& password) {
  return db_->Authenticate(user, password);
}

Result<bool> UserdbBackend::Exists(const std::string& user) {
  return db_->Exists(user);
}

Status UserdbBackend::Reload() { return db_->Reload(); }

}  // namespace chasquid::auth
