#include "base/textproto.h"

#include <cstdio>

#include "base/strings.h"

namespace chasquid {

std::string TextprotoError(int code, std::string_view text) {
  char c[16];
  snprintf(c, sizeof(c), "%03d ", code);
  return c + GoQuote(text);
}

}  // namespace chasquid
