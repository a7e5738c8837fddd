// The post-data hook's rules: whether its output looks like headers, the
// reply text of a failed run, and the EHLO_DOMAIN it is given. The hook
// itself runs through process::Run, like every other child of the daemon
// (conn_data.cc). Pure and thread-safe.
#pragma once

#ifndef CHASQUID_INSIDE_SMTPSRV
#error "smtpsrv/hook.h is private to smtpsrv/"
#endif

#include <string>
#include <string_view>

namespace chasquid::smtpsrv {

// chasquid's rules for a successful hook's stdout: empty is
// fine; otherwise it must end in "\n", contain no blank line, and each
// line be a "name:value" header or a continuation of the previous one.
bool LooksLikeHeaders(std::string_view out);

// The reply text of a failed hook: the last complete stdout line.
std::string HookErrorText(std::string_view out);

// Keeps only [a-zA-Z0-9.\-\[\]:] (EHLO_DOMAIN).
std::string SanitizeEhloDomain(std::string_view s);

}  // namespace chasquid::smtpsrv
