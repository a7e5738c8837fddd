// Sender authorization (our extension, off by default): which addresses an
// authenticated user may send as. The pure half: comparing addresses the
// way the aliases file does (the From: header's addresses are read by
// smtp/from_header.h). The connection (conn_sender.cc) adds the alias
// resolution.
//
// The rule: an authenticated session may use as MAIL FROM (and, if asked,
// in From:) only
//   - its own address,
//   - an address whose alias resolution includes the user (a catch-all
//     alias counts: it makes every address of the domain that is not a
//     user resolve to its targets),
//   - "<>" (MAIL FROM only).
// Addresses are compared after normalisation (PRECIS user, Unicode
// domain) with drop characters and the suffix removed, so "u.ser+tag@d"
// may be sent by user@d.
//
// Thread-safe (pure functions).
#pragma once

#ifndef CHASQUID_INSIDE_SMTPSRV
#error "smtpsrv/sender_auth.h is private to smtpsrv/"
#endif

#include <string>

namespace chasquid::smtpsrv {

// The comparison form of `addr`: normalised, then drop characters and
// suffix removed with `seps` and `drops` (the config's). An address that
// does not normalise is compared as it is.
std::string SenderKey(const std::string& addr, const std::string& seps,
                      const std::string& drops);

}  // namespace chasquid::smtpsrv
