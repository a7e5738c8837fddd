// /debug/traces: the traces UI, rendered from
// nettrace::Store. Query parameters, status codes and retention are
// chasquid's:
//
//   fam    family; unknown -> 404 "Error: Unknown family"
//   b      -2 errors, -1 active, 0..7 latency bucket; not a number -> 400
//          "Error: Invalid bucket (not a number)", out of range -> 400
//          "Error: Invalid bucket number"
//   all    Go bool (default true): a latency bucket and all above it
//   lat    non-empty: the family's latency histogram
//   trace  one trace with all its descendants; unknown -> 404
//          "Error: Trace not found"
//   ref    a related (parent/child) trace, to find `trace` through it
//
// The page is always rendered, also on errors. The store is copied under
// its locks first and rendered afterwards; every interpolated value is
// HTML-escaped and every link's query value URL-escaped. Thread-safe.
#pragma once

#ifndef CHASQUID_INSIDE_MONITORING
#error "monitoring/traces_page.h is private to monitoring/"
#endif

#include "monitoring/server.h"

namespace chasquid::monitoring {

Response TracesPage(const Request& r);
// Serves TracesPage at /debug/traces (the index already links to it).
void RegisterTracesPage(Server& s);

}  // namespace chasquid::monitoring
