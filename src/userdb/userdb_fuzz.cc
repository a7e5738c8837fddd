// Fuzzes the users file parser and the password check on what it parses.
#include <cstddef>
#include <cstdint>
#include <string>

#include "userdb/userdb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  auto db = chasquid::userdb::ParseText(in, "fuzz");
  if (!db.ok()) return 0;
  for (const auto& [name, pw] : db->users()) {
    // Cheap schemes only: a fuzzed logN could make scrypt slow by design.
    if (pw.has_scrypt() && pw.scrypt().logn() > 10) continue;
    (void)chasquid::userdb::PasswordMatches(pw, "password");
  }
  (void)chasquid::userdb::ToText(*db);
  return 0;
}
