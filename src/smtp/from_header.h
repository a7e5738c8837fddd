// The addresses of a message's From: header (RFC 5322 §3.6.2, §3.4), for
// sender authorization: a mailbox-list whose mailboxes are "addr-spec" or
// "display-name <addr-spec>", with quoted strings, comments, groups and
// obsolete source routes understood, so that a display name can never
// pass for the address. Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace chasquid::smtp {

// The addr-specs of the From: header of `data` (a message, or its header
// block, with LF or CRLF line endings), in order. Errors: "no From
// header", "more than one From header", "empty From header", "malformed
// From header" (unbalanced quotes, comments or angle brackets, text after
// the angle brackets, or a mailbox without '@').
Result<std::vector<std::string>> HeaderFromAddresses(std::string_view data);

}  // namespace chasquid::smtp
