// Loading chasquid.conf: defaults, the file, then
// --config_overrides, merged field by field with chasquid's "is it set"
// rules; then the hostname is filled in and give_up_send_after validated.
//
// Errors name the file and, for parse errors, the line and column and the
// field the parser stopped at.
#pragma once

#include <chrono>
#include <string>

#include "base/status.h"
#include "config/config.pb.h"

namespace chasquid::config {

// The defaults of every field, before the file.
Config Defaults();

// Loads `path` over the defaults, then `overrides` (may be empty).
// Error texts: `failed to read config at "<path>": <open error>`,
// `parsing config: <path>:<line>:<col>: <what>`,
// `parsing override: <line>:<col>: <what>`,
// `invalid give_up_send_after value "<v>": <err>`.
Result<Config> Load(const std::string& path, const std::string& overrides);

// Parses text-format Config; `source` names the input in errors.
Result<Config> ParseText(const std::string& text, const std::string& source);

// Copies into `dst` every field that is "set" in `src`.
void Merge(const Config& src, Config* dst);

// Multi-line text format in field-number order, as /debug/config and
// `chasquid-util print-config` show it.
std::string ToText(const Config& c);

// One line per field for the start-up log ("Configuration:" block).
std::string LogLines(const Config& c);

// give_up_send_after as a duration (already validated by Load).
std::chrono::nanoseconds GiveUpSendAfter(const Config& c);

}  // namespace chasquid::config
