// SMTP wire helpers for the receiving side, free of any I/O so they can be
// unit-tested and fuzzed without a socket:
//   command.h   splitting a command line into verb and params
//               and the metric label of unknown verbs;
//   address.h   the address syntax accepted in MAIL/RCPT;
//   dotreader.h the DATA body state machine (§5, RFC 5321 §4.5.2);
//   auth.h      AUTH PLAIN/LOGIN response decoding.
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace chasquid::smtp {

// Max length of a command line, excluding its line ending (RFC 5321
// §4.5.3.1.4 says 512; chasquid allows 1000).
constexpr size_t kMaxLineLength = 1000;

struct Command {
  std::string verb;    // Upper-cased (Unicode), e.g. "EHLO".
  std::string params;  // Everything after the first space, untouched.
};

// Splits a line (without its line ending) at the first space. Tabs are not
// separators. Invalid UTF-8 in the verb becomes U+FFFD, as Go's ToUpper.
Command ParseCommand(std::string_view line);

// The commandCount key of an unknown verb: "unknown<" + Go %q of its first
// 6 runes + ">", e.g. `unknown<"WHATIS">`.
std::string UnknownCommandLabel(std::string_view verb);

// Go's strings.ToUpper (simple case mapping per rune).
std::string ToUpperUnicode(std::string_view s);

}  // namespace chasquid::smtp
