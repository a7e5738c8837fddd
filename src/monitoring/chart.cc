#include "monitoring/chart.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <utility>

#include "monitoring/pages.h"

namespace chasquid::monitoring {

namespace {

// The drawing, in viewBox units. The width is small so that the text
// stays legible when a phone scales the chart down to ~350 pixels.
constexpr double kWidth = 480, kHeight = 170;
constexpr double kLeft = 50, kRight = 474, kTop = 12, kBottom = 142;

std::string Num(double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

std::string Rect(const char* cls, double x, double y, double w, double h) {
  return std::string("<rect class=\"").append(cls).append("\" x=\"") + Num(x) +
         "\" y=\"" + Num(y) + "\" width=\"" + Num(w) + "\" height=\"" + Num(h) +
         "\"/>";
}

std::string Text(double x, double y, const char* anchor, std::string_view s) {
  return std::string("<text x=\"").append(Num(x)) + "\" y=\"" + Num(y) +
         "\" text-anchor=\"" + anchor + "\">" + HtmlEscape(s) + "</text>\n";
}

}  // namespace

int64_t NiceCeil(int64_t v) {
  int64_t p = 1;
  for (;;) {
    for (int64_t m : {1, 2, 5}) {
      if (m * p >= v) return m * p;
    }
    if (p > INT64_MAX / 100) return v;  // No nicer number fits.
    p *= 10;
  }
}

std::string DeliveryChart(const std::vector<Counts>& buckets,
                          const ChartLabels& labels) {
  int64_t max = 0;
  for (const Counts& c : buckets) {
    max = std::max(max, c.sent + c.deferred + c.failed);
  }
  int64_t top = NiceCeil(max);
  double plot_h = kBottom - kTop;
  double slot = buckets.empty() ? 0 : (kRight - kLeft) / buckets.size();
  double bar_w = slot * 0.8;

  std::string o =
      std::string("<svg class=\"chart\" viewBox=\"0 0 ").append(Num(kWidth)) +
      " " + Num(kHeight) + "\" width=\"100%\" role=\"img\" aria-label=\"" +
      HtmlEscape(labels.title) + "\">\n";
  // Axes and a half-way grid line, with the scale on the left.
  o += "<line class=\"axis\" x1=\"" + Num(kLeft) + "\" y1=\"" + Num(kBottom) +
       "\" x2=\"" + Num(kRight) + "\" y2=\"" + Num(kBottom) + "\"/>\n";
  for (double f : {0.5, 1.0}) {
    double y = kBottom - plot_h * f;
    o += "<line class=\"grid\" x1=\"" + Num(kLeft) + "\" y1=\"" + Num(y) +
         "\" x2=\"" + Num(kRight) + "\" y2=\"" + Num(y) + "\"/>\n";
  }
  o += Text(kLeft - 4, kBottom + 4, "end", "0");
  if (top % 2 == 0) {
    o += Text(kLeft - 4, kBottom - plot_h / 2 + 4, "end",
              std::to_string(top / 2));
  }
  o += Text(kLeft - 4, kTop + 4, "end", std::to_string(top));

  for (size_t i = 0; i < buckets.size(); i++) {
    const Counts& c = buckets[i];
    double x = kLeft + slot * i + (slot - bar_w) / 2;
    std::string name = i < labels.bar_names.size() ? labels.bar_names[i] : "";
    o += "<g class=\"bar\" data-sent=\"" + std::to_string(c.sent) +
         "\" data-deferred=\"" + std::to_string(c.deferred) +
         "\" data-failed=\"" + std::to_string(c.failed) + "\"><title>" +
         HtmlEscape(name) + ": " + std::to_string(c.sent) + " sent, " +
         std::to_string(c.deferred) + " deferred, " + std::to_string(c.failed) +
         " failed</title>";
    double y = kBottom;
    for (auto [cls, v] :
         {std::pair{"sent", c.sent}, std::pair{"deferred", c.deferred},
          std::pair{"failed", c.failed}}) {
      if (v <= 0) continue;
      double h = plot_h * static_cast<double>(v) / static_cast<double>(top);
      // A bar of one is still visible next to a bar of thousands.
      if (h < 1.5) h = 1.5;
      y -= h;
      o += Rect(cls, x, y, bar_w, h);
    }
    o += "</g>\n";
  }
  o += Text(kLeft, kHeight - 8, "start", labels.left);
  o += Text((kLeft + kRight) / 2, kHeight - 8, "middle", labels.mid);
  o += Text(kRight, kHeight - 8, "end", labels.right);
  o += "</svg>\n";
  return o;
}

}  // namespace chasquid::monitoring
