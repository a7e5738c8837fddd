// The remote courier's options, built from the daemon's configuration.
#pragma once

#include "config/config.h"
#include "config/testing.h"
#include "courier/smtp.h"

namespace chasquid::courier {

// The EHLO name, DANE and the outgoing source addresses from
// chasquid.conf, and the outgoing port and session deadline from the test
// knobs. The caller sets the resolver, domaininfo,
// TLS context and STS lookup, which live elsewhere.
SmtpOptions SmtpOptionsFrom(const Config& conf, const config::Testing& testing);

}  // namespace chasquid::courier
