#include "base/version.h"

#include <ctime>

#ifndef CHASQUID_VERSION
#define CHASQUID_VERSION "undefined"
#endif
#ifndef CHASQUID_SOURCE_DATE
#define CHASQUID_SOURCE_DATE 0
#endif

namespace chasquid::version {

std::string Version() { return CHASQUID_VERSION; }

int64_t SourceDateTimestamp() { return CHASQUID_SOURCE_DATE; }

std::string SourceDateStr() {
  time_t t = SourceDateTimestamp();
  tm lt;
  localtime_r(&t, &lt);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %z", &lt);
  return buf;
}

std::string Compiler() {
#if defined(__clang__)
  return "clang++ " __clang_version__;
#elif defined(__GNUC__)
  return "g++ " __VERSION__;
#else
  return "unknown compiler";
#endif
}

}  // namespace chasquid::version
