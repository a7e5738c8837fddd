#include "base/goflag.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "base/strings.h"

namespace chasquid::goflag {

namespace {

bool ParseBool(std::string_view v, bool* out) {
  static const char* const kTrue[] = {"1", "t", "T", "true", "TRUE", "True"};
  static const char* const kFalse[] = {"0",     "f",     "F",
                                       "false", "FALSE", "False"};
  for (const char* t : kTrue) {
    if (v == t) return *out = true, true;
  }
  for (const char* f : kFalse) {
    if (v == f) return *out = false, true;
  }
  return false;
}

// strconv.ParseInt(v, 0, 64): "" for success, or Go's short reason.
std::string ParseInt(const std::string& v) {
  if (v.empty()) return "parse error";
  size_t sign = (v[0] == '+' || v[0] == '-') ? 1 : 0;
  int base = 10;
  std::string body = v.substr(sign);
  if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
    base = 16, body = body.substr(2);
  } else if (body.size() > 2 && body[0] == '0' &&
             (body[1] == 'b' || body[1] == 'B')) {
    base = 2, body = body.substr(2);
  } else if (body.size() > 2 && body[0] == '0' &&
             (body[1] == 'o' || body[1] == 'O')) {
    base = 8, body = body.substr(2);
  } else if (body.size() > 1 && body[0] == '0') {
    base = 8, body = body.substr(1);
  }
  if (body.empty() || body[0] == '+' || body[0] == '-') return "parse error";
  errno = 0;
  char* end = nullptr;
  std::string text = (sign && v[0] == '-' ? "-" : "") + body;
  (void)strtoll(text.c_str(), &end, base);
  if (*end != '\0') return "parse error";
  if (errno == ERANGE) return "value out of range";
  return "";
}

std::string ZeroValue(Kind k) {
  switch (k) {
    case Kind::kBool:
      return "false";
    case Kind::kInt:
      return "0";
    case Kind::kDuration:
      return "0s";
    case Kind::kString:
      return "";
  }
  return "";
}

const Flag* Find(const std::vector<Flag>& flags, std::string_view name) {
  for (const Flag& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace

std::string Usage(std::string_view program, std::vector<Flag> flags) {
  std::sort(flags.begin(), flags.end(),
            [](const Flag& a, const Flag& b) { return a.name < b.name; });
  std::string out = "Usage of " + std::string(program) + ":\n";
  for (const Flag& f : flags) {
    if (f.hidden) continue;
    // A `quoted` word in the usage names the value, as in Go.
    std::string usage = f.usage, type;
    size_t open = usage.find('`');
    size_t close = open == std::string::npos ? open : usage.find('`', open + 1);
    if (close != std::string::npos) {
      type = usage.substr(open + 1, close - open - 1);
      usage.erase(close, 1);
      usage.erase(open, 1);
    } else {
      switch (f.kind) {
        case Kind::kBool:
          break;
        case Kind::kInt:
          type = "int";
          break;
        case Kind::kString:
          type = "string";
          break;
        case Kind::kDuration:
          type = "duration";
          break;
      }
    }
    std::string line = "  -" + f.name;
    if (!type.empty()) line += " " + type;
    // One-letter flags without a value name keep their text on the line.
    line += line.size() <= 4 ? "\t" : "\n    \t";
    for (char c : usage) {
      line += c;
      if (c == '\n') line += "    \t";
    }
    if (f.default_value != ZeroValue(f.kind)) {
      line += " (default " +
              (f.kind == Kind::kString ? GoQuote(f.default_value)
                                       : f.default_value) +
              ")";
    }
    out += line + "\n";
  }
  return out;
}

Outcome Check(int argc, const char* const* argv,
              const std::vector<Flag>& flags) {
  Outcome o;
  int i = 1;
  for (; i < argc; i++) {
    std::string_view s = argv[i];
    if (s.size() < 2 || s[0] != '-') break;
    size_t dashes = 1;
    if (s[1] == '-') {
      dashes = 2;
      if (s.size() == 2) {  // "--" ends the flags and is consumed.
        i++;
        break;
      }
    }
    std::string_view name = s.substr(dashes);
    if (name.empty() || name[0] == '-' || name[0] == '=') {
      o.what = Outcome::kError;
      o.error = "bad flag syntax: " + std::string(s);
      return o;
    }
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string_view::npos) {
      value = std::string(name.substr(eq + 1));
      name = name.substr(0, eq);
      has_value = true;
    }
    const Flag* f = Find(flags, name);
    if (!f) {
      if (name == "help" || name == "h") {
        o.what = Outcome::kHelp;
        return o;
      }
      o.what = Outcome::kError;
      o.error = "flag provided but not defined: -" + std::string(name);
      return o;
    }
    if (f->kind == Kind::kBool) {
      bool b = true;
      if (has_value && !ParseBool(value, &b)) {
        o.what = Outcome::kError;
        o.error = "invalid boolean value " + GoQuote(value) + " for -" +
                  std::string(name) + ": parse error";
        return o;
      }
      o.values[f->name] = b ? "true" : "false";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        o.what = Outcome::kError;
        o.error = "flag needs an argument: -" + std::string(name);
        return o;
      }
      value = argv[++i];
    }
    std::string why;
    if (f->kind == Kind::kInt) why = ParseInt(value);
    if (f->kind == Kind::kDuration && !ParseGoDuration(value).ok()) {
      why = "parse error";
    }
    if (!why.empty()) {
      o.what = Outcome::kError;
      o.error = "invalid value " + GoQuote(value) + " for flag -" +
                std::string(name) + ": " + why;
      return o;
    }
    o.values[f->name] = value;
  }
  o.next = i;
  return o;
}

void Fail(const Outcome& o, std::string_view program,
          const std::vector<Flag>& flags) {
  std::string text;
  if (o.what == Outcome::kError) text = o.error + "\n";
  text += Usage(program, flags);
  fputs(text.c_str(), stderr);
  exit(o.what == Outcome::kHelp ? 0 : 2);
}

}  // namespace chasquid::goflag
