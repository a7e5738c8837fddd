// The TLS reporter's options, built from the daemon's configuration.
#pragma once

#include "config/config.h"
#include "config/testing.h"
#include "tlsrpt/reporter.h"

namespace chasquid::tlsrpt {

// The identity of the reports from chasquid.conf's `tls_reporting`
// (submitter and From default to the hostname; contact-info to From) and
// the period from --testing__tlsrpt_period. The caller sets the store,
// resolver, TLS roots, and the queue and DKIM hooks, which live elsewhere.
ReporterOptions ReporterOptionsFrom(const Config& conf,
                                    const config::Testing& testing);

}  // namespace chasquid::tlsrpt
