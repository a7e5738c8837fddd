// Punycode (RFC 3492), as golang.org/x/net/idna implements it: decode and
// encode one label (without the "xn--" prefix). Pure functions,
// thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace chasquid::normalize {

// Decodes the Punycode part of a label (after "xn--") into UTF-8. Errors
// are Go's `idna: invalid label "<encoded>"`.
Result<std::string> PunycodeDecode(std::string_view encoded);

// Encodes a UTF-8 label as Punycode (without the "xn--" prefix). Invalid
// UTF-8 is an error.
Result<std::string> PunycodeEncode(std::string_view label);

}  // namespace chasquid::normalize
