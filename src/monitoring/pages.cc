#include "monitoring/pages.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <set>

#include <gflags/gflags.h>

#include "base/strings.h"
#include "base/version.h"
#include "metrics/metrics.h"

namespace chasquid::monitoring {

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string PageHeader(std::string_view title) {
  std::string o = "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n";
  o += "<title>" + HtmlEscape(title) + "</title>\n";
  o += "<meta name=\"viewport\" content=\"width=device-width, "
       "initial-scale=1\">\n";
  o += R"(<style>
  body { font-family: sans-serif; margin: 1em; }
  a { color: #0b57d0; }
  .scroll { overflow-x: auto; max-width: 100%; }
  table { border-collapse: collapse; font-size: small; }
  th, td { padding: 0.15em 0.5em; text-align: left; vertical-align: top; }
  th { border-bottom: 1px solid #999; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  td.msg { white-space: pre-wrap; overflow-wrap: anywhere; }
  td.nw, table.fam td { white-space: nowrap; }
  /* Phones: the families' rows of links wrap instead of scrolling. */
  @media (max-width: 40em) {
    table.fam, table.fam tbody { display: block; }
    table.fam tr { display: block; margin-bottom: 0.4em; }
    table.fam td { display: inline-block; padding: 0.1em 0.4em; }
    .date { display: none; }
  }
  tr.title td { border-top: 1px solid #999; font-weight: bold; }
  .muted, .muted a { color: #999; }
  .sel { text-decoration: underline; font-weight: bold; }
  .error { color: #c5221f; }
  .errbox { color: #c5221f; font-weight: bold; }
  tr.t { background: hsl(var(--h) 70% 93%); }
  pre { white-space: pre-wrap; overflow-wrap: break-word; }
  meter { width: 8em; }
  @media (prefers-color-scheme: dark) {
    body { background: #121212; color: #c9d1d9; }
    a { color: #44b4ec; }
    .muted, .muted a { color: #6e7681; }
    .error, .errbox { color: #ff7b72; }
    tr.t { background: hsl(var(--h) 35% 18%); }
  }
</style>
</head>
<body>
)";
  return o;
}

std::string PageFooter() {
  return "<p><small><a href=\"/\">chasquid monitoring</a></small></p>\n"
         "</body>\n</html>\n";
}

std::string FormatTime(std::chrono::system_clock::time_point t) {
  time_t tt = std::chrono::system_clock::to_time_t(t);
  tm lt;
  localtime_r(&tt, &lt);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %z", &lt);
  return buf;
}

namespace {

std::string OsHostname() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return host;
}

std::string Link(const IndexLink& l) {
  if (!l.available) {
    return "<li>" + HtmlEscape(l.label) + " <small>(coming)</small></li>\n";
  }
  std::string a =
      "<a href=\"" + HtmlEscape(l.href) + "\">" + HtmlEscape(l.label) + "</a>";
  if (l.href == "/debug/vars") {
    a += " <small><a href=\"https://golang.org/pkg/expvar/\">(ref)</a></small>";
  } else if (l.href == "/metrics") {
    a += " <small><a href=\"https://openmetrics.io/\">(ref)</a></small>";
  }
  return "<li>" + a + "</li>\n";
}

}  // namespace

std::string RenderIndex(const IndexData& d) {
  auto now = std::chrono::system_clock::now();
  auto up = std::chrono::duration_cast<std::chrono::seconds>(now - d.started);
  std::string host = OsHostname();
  time_t st = std::chrono::system_clock::to_time_t(d.started);
  tm lt;
  localtime_r(&st, &lt);
  char started[64];
  strftime(started, sizeof(started), "%a, %Y-%m-%d %H:%M:%S %z", &lt);

  std::string o;
  o += "<!DOCTYPE html>\n<html>\n<head>\n";
  o += "<title>" + HtmlEscape(host) + ": chasquid monitoring</title>\n";
  o += "<meta name=\"viewport\" content=\"width=device-width, "
       "initial-scale=1\">\n";
  o += "<style>\n"
       "  body { font-family: sans-serif; margin: 1em; }\n"
       "  @media (prefers-color-scheme: dark) {\n"
       "    body { background: #121212; color: #c9d1d9; }\n"
       "    a { color: #44b4ec; }\n"
       "  }\n"
       "</style>\n</head>\n<body>\n";
  o += "<h1>chasquid @" + HtmlEscape(d.config_hostname) + "</h1>\n";
  o += "<p>\nchasquid " + HtmlEscape(version::Version()) + "<br>\n";
  o += "source date " + HtmlEscape(version::SourceDateStr()) + "<br>\n";
  o += "built with " + HtmlEscape(version::Compiler()) + "\n</p>\n";
  o += "<p>\nstarted " + HtmlEscape(started) + "<br>\n";
  o += "up for " + FormatGoDuration(up) + "<br>\n";
  o += "os hostname <i>" + HtmlEscape(host) + "</i>\n";
  if (d.blocking_threads > 0) {
    o += "<br>\n" + std::to_string(d.blocking_threads) +
         " threads for blocking work (fsync, scrypt, hooks)\n";
  }
  o += "</p>\n";
  o += "<ul>\n";
  std::vector<std::string> sections;
  for (const auto& l : d.links) {
    if (l.section.empty()) {
      o += Link(l);
    } else if (std::find(sections.begin(), sections.end(), l.section) ==
               sections.end()) {
      sections.push_back(l.section);
      o += "<li>" + HtmlEscape(l.section) + "\n<ul>\n";
      for (const auto& m : d.links) {
        if (m.section == l.section) o += Link(m);
      }
      o += "</ul>\n</li>\n";
    }
  }
  o += "</ul>\n";
  o += "<p><small>Variables are documented at <a "
       "href=\"https://blitiri.com.ar/p/chasquid/monitoring/#variables\">"
       "exported variables</a>.</small></p>\n";
  o += "</body>\n</html>\n";
  return o;
}

std::string FlagsText() {
  // Only the daemon's own flags: gflags also registers its built-ins
  // (helpfull, flagfile, ...), which chasquid does not have.
  static const std::set<std::string> kOurs = {"alsologtostderr",
                                              "config_dir",
                                              "config_overrides",
                                              "logfile",
                                              "logtime",
                                              "logtosyslog",
                                              "testing__dns_addr",
                                              "testing__max_received_headers",
                                              "testing__outgoing_smtp_port",
                                              "testing__reload_every",
                                              "v",
                                              "version"};
  std::vector<gflags::CommandLineFlagInfo> all;
  gflags::GetAllFlags(&all);
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::string set, rest;
  for (const auto& f : all) {
    if (!kOurs.count(f.name)) continue;
    // testing__dns_addr exists only in chasquid's test builds; show it
    // only when it is in use.
    if (f.name == "testing__dns_addr" && f.is_default) continue;
    std::string line = "-" + f.name + "=" + f.current_value + "\n";
    (f.is_default ? rest : set) += line;
  }
  return set + "\n" + rest;
}

std::string VarsText() { return metrics::RenderExpvar(); }
std::string MetricsText() { return metrics::RenderOpenMetrics(); }

}  // namespace chasquid::monitoring
