// The pages the monitoring server renders itself: index, flags, vars and
// metrics. Pure functions over process state; thread-safe.
#pragma once

#ifndef CHASQUID_INSIDE_MONITORING
#error "monitoring/pages.h is private to monitoring/"
#endif

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace chasquid::monitoring {

struct IndexLink {
  std::string section;  // "" for top level, else "monitoring", ...
  std::string label;
  std::string href;
  bool available = true;  // False: shown as "coming", not as a link.
};

struct IndexData {
  std::string config_hostname;
  std::chrono::system_clock::time_point started;
  int blocking_threads = 0;  // 0: not shown.
  std::vector<IndexLink> links;
};

std::string HtmlEscape(std::string_view s);

// The common start and end of our HTML pages (traces, tasks, pprof): an
// escaped <title>, the viewport for phones, the stylesheet (light and
// dark via prefers-color-scheme, no fixed widths, wide tables scroll
// inside their own box) and a link back to the index.
std::string PageHeader(std::string_view title);
std::string PageFooter();
std::string RenderIndex(const IndexData& d);
// /debug/flags: flags set on the command line, a blank line, the rest.
std::string FlagsText();
std::string VarsText();
std::string MetricsText();

// "YYYY-MM-DD HH:MM:SS ±ZZZZ" in local time.
std::string FormatTime(std::chrono::system_clock::time_point t);

}  // namespace chasquid::monitoring
