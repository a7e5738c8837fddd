// RenderOverview: the HTML of /debug/overview (see overview.h).
#include <cstdio>

#include "base/strings.h"
#include "monitoring/chart.h"
#include "monitoring/overview.h"
#include "monitoring/pages.h"

namespace chasquid::monitoring {

namespace {

using Clock = std::chrono::system_clock;

// Besides the common stylesheet: cards that wrap on a phone, chart colours
// for light and dark mode.
constexpr const char* kStyle = R"(<meta http-equiv="refresh" content="60">
<style>
  .cards { display: flex; flex-wrap: wrap; gap: 0 2em; }
  .card { flex: 1 1 17em; min-width: 0; }
  h2 { font-size: 1.1em; margin: 1.2em 0 0.4em; }
  .status { font-size: 1.1em; font-weight: bold; padding: 0.4em 0.6em;
            border-left: 0.4em solid #1e8e3e; }
  .status.warn { border-color: #f9ab00; }
  .status.bad { border-color: #d93025; }
  .chartbox { max-width: 40em; }
  svg.chart { display: block; height: auto; font-size: 15px; }
  svg.chart text { fill: currentColor; }
  svg.chart .axis { stroke: #999; stroke-width: 1; }
  svg.chart .grid { stroke: #999; stroke-width: 0.5; stroke-dasharray: 3 3; }
  .sent { fill: #1e8e3e; background: #1e8e3e; }
  .deferred { fill: #f9ab00; background: #f9ab00; }
  .failed { fill: #d93025; background: #d93025; }
  .key { display: inline-block; width: 0.8em; height: 0.8em;
         margin: 0 0.3em 0 0.8em; vertical-align: baseline; }
  /* Phones: each error is a block, its message under its facts. */
  @media (max-width: 40em) {
    #errors, #errors tbody, #errors tr { display: block; }
    #errors tr:first-child { display: none; }
    #errors tr { margin-bottom: 0.6em; }
    #errors td { display: inline-block; padding: 0 0.4em 0 0; }
    #errors td.msg { display: block; }
  }
  @media (prefers-color-scheme: dark) {
    .sent { fill: #81c995; background: #81c995; }
    .deferred { fill: #fdd663; background: #fdd663; }
    .failed { fill: #f28b82; background: #f28b82; }
    .status { border-color: #81c995; }
    .status.warn { border-color: #fdd663; }
    .status.bad { border-color: #f28b82; }
  }
</style>
)";

std::string Row(const std::string& label, const std::string& id,
                const std::string& value, const std::string& note = "") {
  std::string o = "<tr><td>" + HtmlEscape(label) +
                  "</td><td class=\"num\" id=\"" + id + "\">" +
                  HtmlEscape(value) + "</td>";
  if (!note.empty()) o += "<td class=\"muted\">" + HtmlEscape(note) + "</td>";
  return o + "</tr>\n";
}

std::string Bytes(int64_t n) {
  if (n < 1024) return std::to_string(n) + " bytes";
  char buf[64];
  const char* unit = n < 1024 * 1024 ? "KiB" : "MiB";
  double v = n < 1024 * 1024 ? n / 1024.0 : n / (1024.0 * 1024.0);
  snprintf(buf, sizeof(buf), "%.1f %s", v, unit);
  return buf;
}

std::string Age(Clock::duration d) {
  if (d < Clock::duration(0)) d = Clock::duration(0);
  return FormatGoDuration(std::chrono::round<std::chrono::seconds>(d));
}

// "75% (3 of 4)", or "none yet".
std::string Share(int64_t part, int64_t other) {
  int64_t total = part + other;
  if (total <= 0) return "none yet";
  return std::to_string((part * 100 + total / 2) / total) + "% (" +
         std::to_string(part) + " of " + std::to_string(total) + ")";
}

std::vector<std::string> BarNames(int n, const char* one, const char* many,
                                  const char* current) {
  std::vector<std::string> out;
  for (int i = 0; i < n; i++) {
    int ago = n - 1 - i;
    out.push_back(ago == 0   ? std::string(current)
                  : ago == 1 ? std::string("1 ").append(one).append(" ago")
                             : std::to_string(ago) + " " + many + " ago");
  }
  return out;
}

std::string Status(const OverviewData& d, const Counts& hour) {
  auto age = d.now - Clock::time_point(std::chrono::seconds(d.queue_oldest));
  std::string cls = "ok", text;
  if (d.queue_length > 0 && d.queue_oldest > 0 && age > std::chrono::hours(1) &&
      hour.sent == 0) {
    cls = "bad";
    text = "Mail is not getting out: nothing delivered in the last hour, " +
           std::to_string(d.queue_length) + " queued, the oldest for " +
           Age(age) + ".";
  } else if (hour.failed > 0 || hour.deferred > 0) {
    cls = "warn";
    text = "Mail is flowing, with errors: in the last hour " +
           std::to_string(hour.sent) + " sent, " +
           std::to_string(hour.deferred) + " deferred, " +
           std::to_string(hour.failed) + " failed.";
  } else if (hour.sent > 0) {
    text = "Mail is flowing: " + std::to_string(hour.sent) +
           " delivered in the last hour.";
  } else if (d.queue_length > 0) {
    text = std::to_string(d.queue_length) + " queued, waiting for delivery.";
  } else {
    text = "Quiet: nothing to deliver in the last hour.";
  }
  return "<p class=\"status " + cls + "\" id=\"status\">" + HtmlEscape(text) +
         "</p>\n";
}

std::string Flow(const Counts& hour, const Counts& day, const Counts& all) {
  std::string o =
      "<div class=\"scroll\"><table>\n<tr><th></th><th class=\"num\">last "
      "hour</th><th class=\"num\">last day</th><th class=\"num\">since "
      "start</th></tr>\n";
  auto row = [&](const char* label, const char* id, int64_t Counts::*f) {
    o += std::string("<tr><td>").append(label) + "</td>";
    for (auto [suffix, c] : {std::pair{"hour", &hour}, std::pair{"day", &day},
                             std::pair{"total", &all}}) {
      o += std::string("<td class=\"num\" id=\"").append(id) + "-" + suffix +
           "\">" + std::to_string(c->*f) + "</td>";
    }
    o += "</tr>\n";
  };
  row("sent", "sent", &Counts::sent);
  row("deferred", "deferred", &Counts::deferred);
  row("failed", "failed", &Counts::failed);
  row("AUTH failures", "authfail", &Counts::auth_failures);
  return o + "</table></div>\n";
}

std::string Certificates(const OverviewData& d) {
  if (d.cert_not_after.empty()) return "<p class=\"muted\">none</p>\n";
  std::string o =
      "<div class=\"scroll\"><table>\n<tr><th>certificate</th>"
      "<th class=\"num\">days left</th><th>expires</th></tr>\n";
  for (const auto& [name, not_after] : d.cert_not_after) {
    auto expiry = Clock::time_point(std::chrono::seconds(not_after));
    auto left = std::chrono::floor<std::chrono::seconds>(expiry - d.now);
    int64_t days = left.count() >= 0 ? left.count() / 86400
                                     : -((-left.count() + 86399) / 86400);
    const char* cls = days < 14 ? " error" : "";
    o += "<tr class=\"cert\" data-cert=\"" + HtmlEscape(name) +
         "\" data-not-after=\"" + std::to_string(not_after) + "\"><td>" +
         HtmlEscape(name) + "</td><td class=\"num" + cls + "\">" +
         std::to_string(days) + "</td><td class=\"nw\">" +
         HtmlEscape(FormatTime(expiry)) + "</td></tr>\n";
  }
  return o + "</table></div>\n";
}

std::string Errors(const OverviewData& d) {
  if (d.errors.empty()) {
    return "<p class=\"muted\" id=\"no-errors\">none since start</p>\n";
  }
  std::string o =
      "<div class=\"scroll\"><table id=\"errors\">\n<tr><th>when</th>"
      "<th>domain</th><th>type</th><th>kind</th><th>error</th></tr>\n";
  for (const auto& e : d.errors) {
    o += "<tr class=\"err\"><td class=\"nw\">" +
         HtmlEscape(FormatTime(e.when)) + "</td><td class=\"domain\">" +
         HtmlEscape(e.domain) + "</td><td>" + HtmlEscape(e.recipient_type) +
         "</td><td class=\"" +
         (e.permanent ? "error\">permanent" : "muted\">temporary") +
         "</td><td class=\"msg\">" + HtmlEscape(e.message) + "</td></tr>\n";
  }
  return o + "</table></div>\n";
}

}  // namespace

std::string RenderOverview(const OverviewData& d) {
  std::string o = PageHeader(d.hostname + ": chasquid overview");
  o.insert(o.find("</head>"), kStyle);
  Counts hour = Total(d.minutes), day = Total(d.hours);
  o += "<h1>chasquid @" + HtmlEscape(d.hostname) + ": overview</h1>\n";
  o += Status(d, hour);

  o += "<div class=\"cards\">\n<section class=\"card\"><h2>Queue</h2>"
       "<table>\n";
  o += Row("items", "q-length", std::to_string(d.queue_length));
  std::string oldest = "-";
  if (d.queue_oldest > 0) {
    oldest =
        Age(d.now - Clock::time_point(std::chrono::seconds(d.queue_oldest)));
  }
  o += Row("oldest item", "q-oldest", oldest);
  o += Row(
      "size", "q-bytes", Bytes(d.queue_bytes),
      d.queue_bytes >= 1024 ? std::to_string(d.queue_bytes) + " bytes" : "");
  o += "</table></section>\n";
  o += "<section class=\"card\"><h2>Connections</h2><table>\n";
  o += Row("incoming, open now", "live", std::to_string(d.live_connections));
  o += Row("TLS in", "tls-in", Share(d.tls_in, d.plain_in));
  o += Row("TLS out", "tls-out", Share(d.tls_out, d.plain_out));
  o += "</table><p><small class=\"muted\">TLS shares since start"
       "</small></p></section>\n";
  o += "<section class=\"card\"><h2>Deliveries</h2>\n" +
       Flow(hour, day, d.since_start) + "</section>\n</div>\n";

  std::string legend =
      "<p><small><span class=\"key sent\"></span>sent<span class=\"key "
      "deferred\"></span>deferred<span class=\"key failed\"></span>failed"
      "</small></p>\n";
  o += "<h2>Deliveries per minute, last hour</h2>\n" + legend;
  o += "<div class=\"chartbox\" id=\"chart-minutes\">" +
       DeliveryChart(
           d.minutes,
           {"deliveries per minute, last hour", "-60 min", "-30 min", "now",
            BarNames(History::kMinutes, "minute", "minutes", "this minute")}) +
       "</div>\n";
  o += "<h2>Deliveries per hour, last day</h2>\n";
  o += "<div class=\"chartbox\" id=\"chart-hours\">" +
       DeliveryChart(
           d.hours, {"deliveries per hour, last day", "-24 h", "-12 h", "now",
                     BarNames(History::kHours, "hour", "hours", "this hour")}) +
       "</div>\n";

  o += "<h2>Certificates</h2>\n" + Certificates(d);
  o += "<h2>Last " + std::to_string(metrics::kMaxDeliveryErrors) +
       " delivery errors</h2>\n" + Errors(d);
  o += "<p><small class=\"muted\">Failed counts permanent failures and "
       "recipients given up; AUTH failures are wrong credentials. The "
       "numbers come from <a href=\"/debug/vars\">/debug/vars</a>; the "
       "history is kept in memory and starts again with the "
       "daemon.</small></p>\n";
  o += PageFooter();
  return o;
}

}  // namespace chasquid::monitoring
