// The SMTP client's wire helpers, free of sockets so they can be tested and
// fuzzed alone: reply parsing with Go's net/textproto rules (chasquid's
// client is Go's net/smtp), the error texts built from replies, and the
// encoding of the message body for DATA.
//
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace chasquid::courier::wire {

// One parsed reply line: "250-PIPELINING" gives {250, true, "PIPELINING"}.
struct CodeLine {
  int code = 0;
  bool continued = false;
  std::string text;
};

// Parses one line (without CRLF) as textproto.parseCodeLine. Errors:
// "short response: <line>", "invalid response code: <line>".
Result<CodeLine> ParseCodeLine(std::string_view line);

// Accumulates the lines of one (possibly multi-line) reply, with
// textproto.ReadResponse's leniency: a continuation line with another code
// or malformed is appended raw.
class ReplyReader {
 public:
  // Feeds one line (without CRLF). Returns an error only for a malformed
  // first line. After it returns OK, done() says whether the reply ended.
  Status Feed(std::string_view line);
  bool done() const { return done_; }
  int code() const { return code_; }
  // The reply text after the codes, lines joined with LF.
  const std::string& text() const { return text_; }

 private:
  bool started_ = false, done_ = false;
  int code_ = 0;
  std::string text_;
};

// "<code> <Go-quoted text>", the text of a textproto.Error.
std::string ReplyError(int code, std::string_view text);

// Whether `code` matches `expect` as textproto does: 1 digit (class), 2
// digits (e.g. 25 for 250/251) or 3 digits (exact).
bool CodeMatches(int code, int expect);

// The status for an unexpected reply: permanent iff 5xx.
Status ReplyStatus(int code, std::string_view text);

// The body for DATA: bare LF becomes CRLF (CRLF kept), lines starting with
// '.' are dot-stuffed, a final CRLF is added if missing, then ".\r\n".
std::string EncodeData(std::string_view data);

// EncodeData for a body that comes in pieces (a spooled message): Feed
// each piece in order, then Finish; the concatenated output is
// EncodeData of the concatenated input. Not thread-safe.
class DataEncoder {
 public:
  void Feed(std::string_view data, std::string* out);
  void Finish(std::string* out);

 private:
  bool line_start_ = true;
  char last_ = 0;  // The last byte written, 0 before any.
};

}  // namespace chasquid::courier::wire
