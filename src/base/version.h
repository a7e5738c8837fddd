// Build identification: chasquid/version, chasquid/sourceDateStr and
// chasquid/sourceDateTimestamp, fixed at configure
// time from SOURCE_DATE_EPOCH or the git commit.
#pragma once

#include <cstdint>
#include <string>

namespace chasquid::version {

// "<YYYYMMDD>-<9 hex of the git revision>[-dirty]", or the release version.
std::string Version();
// "YYYY-MM-DD HH:MM:SS ±ZZZZ".
std::string SourceDateStr();
int64_t SourceDateTimestamp();
// "g++ 12.2.0".
std::string Compiler();

}  // namespace chasquid::version
