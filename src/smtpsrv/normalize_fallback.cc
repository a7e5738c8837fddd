// TEMPORARY stand-in for src/normalize (being implemented on branch
// `users`): ASCII-only lower-casing, so smtpsrv builds and its tests run
// before the real library lands. Compiled only when the chasquid_normalize
// target does not exist (see CMakeLists.txt); delete once it does.
#include "normalize/normalize.h"

#include "base/strings.h"

namespace chasquid::normalize {

Result<std::string> User(std::string_view user) { return AsciiToLower(user); }

Result<std::string> Domain(std::string_view domain) {
  return AsciiToLower(domain);
}

std::pair<std::string, std::string> Split(std::string_view addr) {
  size_t at = addr.find('@');
  if (at == std::string_view::npos) return {std::string(addr), ""};
  return {std::string(addr.substr(0, at)), std::string(addr.substr(at + 1))};
}

Result<std::string> Addr(std::string_view addr) {
  auto [u, d] = Split(addr);
  return AsciiToLower(u) + "@" + AsciiToLower(d);
}

Result<std::string> DomainToUnicode(std::string_view addr) {
  if (addr == "<>") return std::string(addr);
  auto [u, d] = Split(addr);
  return u + "@" + AsciiToLower(d);
}

std::string RemoveDropCharacters(std::string_view addr, std::string_view seps,
                                 std::string_view drops) {
  auto [u, d] = Split(addr);
  std::string out;
  for (char c : u) {
    if (seps.find(c) != std::string_view::npos) break;
    if (drops.find(c) == std::string_view::npos) out += c;
  }
  return out + "@" + d;
}

std::string RemoveDropsAndSuffix(std::string_view addr, std::string_view seps,
                                 std::string_view drops) {
  return RemoveDropCharacters(addr, seps, drops);
}

Result<std::string> DomainToAscii(std::string_view domain) {
  return std::string(domain);
}

}  // namespace chasquid::normalize
