#include "smtpsrv/hook.h"

#include "base/strings.h"

namespace chasquid::smtpsrv {

bool LooksLikeHeaders(std::string_view out) {
  if (out.empty()) return true;
  if (out == "\n" || out.find("\n\n") != std::string_view::npos) return false;
  if (out.back() != '\n') return false;
  auto lines = Split(out.substr(0, out.size() - 1), "\n");
  for (size_t i = 0; i < lines.size(); i++) {
    const std::string& l = lines[i];
    bool cont = !l.empty() && (l[0] == ' ' || l[0] == '\t');
    if (cont && i == 0) return false;
    if (!cont && l.find(':') == std::string::npos) return false;
  }
  return true;
}

std::string HookErrorText(std::string_view out) {
  auto parts = Split(out, "\n");
  if (parts.size() < 2) return "";
  return parts[parts.size() - 2];
}

std::string SanitizeEhloDomain(std::string_view s) {
  std::string r;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '[' ||
        c == ']' || c == ':') {
      r += c;
    }
  }
  return r;
}

}  // namespace chasquid::smtpsrv
