#include "sts/policy.h"

#include <idn2.h>

#include <cstdlib>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "base/strings.h"

namespace chasquid::sts {
namespace {

constexpr int64_t kMaxMaxAgeSeconds = 31557600;

// strconv.Atoi, where an error means 0 (chasquid ignores it) and an
// overflow saturates (and is then rejected by Check).
int64_t Atoi(std::string_view s) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return 0;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return 0;
    if (v > (INT64_MAX - 9) / 10) return neg ? INT64_MIN : INT64_MAX;
    v = v * 10 + (c - '0');
  }
  return neg ? -v : v;
}

bool IsAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

// Lower-case ASCII form of a domain; false if it cannot be converted.
bool Canonical(std::string_view in, std::string* out) {
  std::string d(in);
  if (!IsAscii(d)) {
    char* ascii = nullptr;
    if (idn2_to_ascii_8z(d.c_str(), &ascii, IDN2_NONTRANSITIONAL) != IDN2_OK) {
      return false;
    }
    d = ascii;
    idn2_free(ascii);
  }
  if (!d.empty() && d.back() == '.') d.pop_back();
  *out = AsciiToLower(d);
  return true;
}

bool MatchDomain(std::string_view domain, std::string_view pattern) {
  std::string d, p;
  if (!Canonical(domain, &d) || !Canonical(pattern, &p)) return false;
  if (HasPrefix(p, "*.")) {
    auto dot = d.find('.');
    if (dot != std::string::npos && d.substr(dot + 1) == p.substr(2)) {
      return true;
    }
  }
  return d == p;
}

}  // namespace

Policy Parse(std::string_view text) {
  Policy p;
  for (auto& raw : Split(text, "\n")) {
    std::string_view line = raw;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string key(TrimSpace(line.substr(0, colon)));
    std::string value(TrimSpace(line.substr(colon + 1)));
    if (key == "version") {
      p.version = value;
    } else if (key == "mode") {
      p.mode = value;
    } else if (key == "max_age") {
      int64_t secs = Atoi(value);
      if (secs > kMaxMaxAgeSeconds) secs = kMaxMaxAgeSeconds + 1;
      if (secs < 0) secs = -1;
      p.max_age = std::chrono::seconds(secs);
    } else if (key == "mx") {
      p.mxs.push_back(value);
    }
  }
  return p;
}

Status Check(const Policy& p) {
  if (p.version != "STSv1") return Status::Error("unknown policy version");
  if (p.max_age <= std::chrono::nanoseconds(0) ||
      p.max_age > std::chrono::seconds(kMaxMaxAgeSeconds)) {
    return Status::Error("invalid max_age");
  }
  if (p.mode != "enforce" && p.mode != "testing" && p.mode != "none") {
    return Status::Error("invalid mode");
  }
  if (p.mxs.empty()) return Status::Error("invalid mx");
  return Status::Ok();
}

bool MXIsAllowed(const Policy& p, std::string_view mx) {
  if (p.mode != "enforce") return true;
  for (const auto& pattern : p.mxs) {
    if (MatchDomain(mx, pattern)) return true;
  }
  return false;
}

std::string ToJSON(const Policy& p) {
  std::string out = "{\"version\":" + GoJsonQuote(p.version) +
                    ",\"mode\":" + GoJsonQuote(p.mode) + ",\"mx\":";
  if (p.mxs.empty()) {
    out += "null";
  } else {
    out += "[";
    for (size_t i = 0; i < p.mxs.size(); i++) {
      if (i) out += ",";
      out += GoJsonQuote(p.mxs[i]);
    }
    out += "]";
  }
  out += ",\"max_age\":" + std::to_string(p.max_age.count()) + "}";
  return out;
}

Result<Policy> FromJSON(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec) return Status::Error("invalid JSON: " + ec.message());
  if (!v.is_object()) return Status::Error("JSON is not an object");
  Policy p;
  for (const auto& [k, val] : v.as_object()) {
    std::string key = AsciiToLower(std::string(k));  // Go matches any case.
    if (key == "version" || key == "mode") {
      if (!val.is_string()) return Status::Error("bad type for " + key);
      (key == "version" ? p.version : p.mode) = val.as_string().c_str();
    } else if (key == "mx") {
      if (val.is_null()) continue;
      if (!val.is_array()) return Status::Error("bad type for mx");
      for (const auto& mx : val.as_array()) {
        if (!mx.is_string()) return Status::Error("bad type for mx");
        p.mxs.push_back(mx.as_string().c_str());
      }
    } else if (key == "max_age") {
      if (!val.is_int64()) return Status::Error("bad type for max_age");
      p.max_age = std::chrono::nanoseconds(val.as_int64());
    }
  }
  return p;
}

std::string DebugString(const Policy& p) {
  std::string mxs;
  for (size_t i = 0; i < p.mxs.size(); i++) {
    if (i) mxs += " ";
    mxs += p.mxs[i];
  }
  return "{Version:" + p.version + " Mode:" + p.mode + " MXs:[" + mxs +
         "] MaxAge:" + FormatGoDuration(p.max_age) + "}";
}

}  // namespace chasquid::sts
