// Addresses in MAIL FROM / RCPT TO.
// Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace chasquid::smtp {

// The first whitespace-delimited token of `s` (leading spaces skipped), as
// Go's fmt.Sscanf("%s") reads it; nullopt if there is none ("unexpected
// EOF"). Whitespace includes the Unicode spaces fmt knows.
std::optional<std::string> FirstToken(std::string_view s);

// If `params` starts with `prefix` ("from:" / "to:", ASCII
// case-insensitive), returns the rest.
std::optional<std::string_view> StripVerbPrefix(std::string_view params,
                                                std::string_view prefix);

// Go's net/mail.ParseAddress applied to one token: `<addr-spec>`, a bare
// addr-spec, or `phrase<addr-spec>`, optionally followed by a (comment).
// Returns the bare "local@domain" with quotes removed from a quoted local
// part. The error text is only for logs (never shown to the client).
Result<std::string> ParseAddress(std::string_view token);

}  // namespace chasquid::smtp
