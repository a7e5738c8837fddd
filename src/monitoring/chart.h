// Charts for the overview page, drawn by the server as inline SVG: no
// script, no font and nothing else is fetched by the browser. The SVG
// scales to its box (viewBox, width 100%), and its colours are CSS
// classes, so the page's stylesheet picks them for light or dark mode:
// .sent, .deferred and .failed for the series, .axis for the lines.
// Pure functions; thread-safe.
#pragma once

#ifndef CHASQUID_INSIDE_MONITORING
#error "monitoring/chart.h is private to monitoring/"
#endif

#include <string>
#include <string_view>
#include <vector>

#include "monitoring/history.h"

namespace chasquid::monitoring {

struct ChartLabels {
  std::string title;             // The SVG's accessible name.
  std::string left, mid, right;  // Under the x axis (e.g. "-60m", "now").
  // Tooltip of bar i (oldest first), e.g. "12 minutes ago".
  std::vector<std::string> bar_names;
};

// A stacked bar per bucket: sent at the bottom, then deferred, then failed.
// Each bar is a <g class="bar"> with data-sent, data-deferred and
// data-failed attributes (what it draws) and a <title> tooltip.
std::string DeliveryChart(const std::vector<Counts>& buckets,
                          const ChartLabels& labels);

// The smallest 1, 2 or 5 times a power of ten that is >= v (and >= 1).
int64_t NiceCeil(int64_t v);

}  // namespace chasquid::monitoring
