// SMTP and LMTP error replies as chasquid prints them: in DSNs, the mail
// log, traces, mda-lmtp and smtp-check. chasquid's client side is Go's
// net/textproto, whose error text (in the Go releases chasquid 1.18 is
// built with) is the code, a space and the reply text Go-quoted, so that a
// remote server cannot put line breaks or terminal escapes into our logs.
//
// Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace chasquid {

// "<code in 3 digits> <GoQuote(text)>", with the lines of a multi-line
// reply joined with LF in `text`: TextprotoError(452, "Nananana") is
// `452 "Nananana"`.
std::string TextprotoError(int code, std::string_view text);

}  // namespace chasquid
