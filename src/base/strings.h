// Small string helpers that reproduce Go's observable text formats, since
// chasquid's logs, replies and files contain them (Go's %q quoting, in
// particular).
//
// All functions are pure and thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace chasquid {

// Go's strconv.Quote (ascii_only=false) or QuoteToASCII / %+q (true).
std::string GoQuote(std::string_view s, bool ascii_only = false);

// A JSON string as Go's encoding/json writes it: quoted, HTML-safe (<, >
// and & as \u003c...), U+2028 and U+2029 escaped, \b \f \n \r \t, other
// control bytes as \u00XX, and each invalid UTF-8 byte as \ufffd.
std::string GoJsonQuote(std::string_view s);

// Now as Go's time.RFC1123Z in local time ("Mon, 02 Jan 2006 15:04:05
// -0700"): the Date of the messages the daemon writes (DSNs, Received).
std::string Rfc1123ZNow();

// Go's lower-case errno text, e.g. "no such file or directory".
std::string ErrnoText(int err);

// Go's *PathError text: "<op> <path>: <errno text>".
std::string PathError(std::string_view op, std::string_view path, int err);

// Go duration syntax ("300ms", "1h30m", "-1.5h"). Error texts match Go's
// time.ParseDuration, e.g. `time: missing unit in duration "10"`.
Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view s);

// Go's time.Duration.String(): "1h2m3s", "5ms", "0s", "1.5s".
std::string FormatGoDuration(std::chrono::nanoseconds d);

// Splitting and trimming (ASCII whitespace).
std::vector<std::string> Split(std::string_view s, std::string_view sep);
std::string_view TrimSpace(std::string_view s);
bool HasPrefix(std::string_view s, std::string_view prefix);
std::string AsciiToLower(std::string_view s);
std::string AsciiToUpper(std::string_view s);
bool IsValidUtf8(std::string_view s);

// Every LF not already preceded by CR becomes CRLF; the rest is copied.
// (The queue keeps messages with LF endings; the MDA and DKIM want CRLF.)
std::string ToCRLF(std::string_view s);

// Go's url.QueryEscape / QueryUnescape (form encoding: space <-> '+').
std::string QueryEscape(std::string_view s);
Result<std::string> QueryUnescape(std::string_view s);

}  // namespace chasquid
