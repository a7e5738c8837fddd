// The message header block as the receiving side needs it: parsing with
// Go net/mail.ReadMessage's permissive rules to count
// Received headers (loop detection), and prepending trace headers with
// chasquid's folding. Messages here use LF line endings. Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace chasquid::smtp {

// The number of "Received" headers (any case) in the header block of
// `data`. Errors, as Go's: "malformed initial line: <line>",
// "malformed header line: <line>", "EOF" (empty message).
Result<int> CountReceivedHeaders(std::string_view data);

// Prepends "<name>: <value>\n" to `*data`, where every "\n" inside value
// is followed by a TAB (folding) and a trailing "\n" of value is dropped.
void PrependHeader(std::string* data, std::string_view name,
                   std::string_view value);

}  // namespace chasquid::smtp
