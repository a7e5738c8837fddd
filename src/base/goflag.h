// Command lines the way Go's `flag` package reads them, so that our tools
// answer a bad flag exactly as chasquid's do: the same error line, the
// same "Usage of <argv[0]>:" listing, and exit status 2 (0 for -h/-help).
//
// Syntax accepted: -name, --name, -name=value, and -name value for flags
// that are not booleans. Parsing stops at "--", at "-" alone, and at the
// first argument that does not start with "-". Thread-compatible, pure
// except for Fail(), which exits.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace chasquid::goflag {

enum class Kind { kBool, kInt, kString, kDuration };

struct Flag {
  std::string name;
  Kind kind = Kind::kString;
  std::string usage;
  std::string default_value;  // As text: "false", "0", "30s", "/etc/x".
  bool hidden = false;        // Accepted, not listed (testing switches).
};

// Go's PrintDefaults listing, flags sorted by name, after the
// "Usage of <program>:" line.
std::string Usage(std::string_view program, std::vector<Flag> flags);

struct Outcome {
  enum { kOk, kHelp, kError } what = kOk;
  std::string error;  // Go's text, without the trailing newline.
  int next = 0;       // Index of the first argument that is not a flag.
  // The flags given, by name, last one winning; booleans as "true" or
  // "false" whatever their spelling.
  std::map<std::string, std::string> values;
};

// Parses argv[1..argc) against `flags` as Go's flag.Parse would,
// validating booleans, ints and durations.
Outcome Check(int argc, const char* const* argv,
              const std::vector<Flag>& flags);

// What flag.Parse does with an Outcome that is not kOk: the error line
// and the usage on stderr, then exit(2); or, for kHelp, the usage and
// exit(0).
[[noreturn]] void Fail(const Outcome& o, std::string_view program,
                       const std::vector<Flag>& flags);

}  // namespace chasquid::goflag
