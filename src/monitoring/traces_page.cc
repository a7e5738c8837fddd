#include "monitoring/traces_page.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <set>

#include "base/strings.h"
#include "monitoring/pages.h"
#include "nettrace/store.h"

namespace chasquid::monitoring {

namespace {

using nettrace::Clock;
using nettrace::kNumBuckets;
using nettrace::TraceData;
using nettrace::TraceEvent;

// Bounds on the trace view: a trace with its descendants and links, which
// may form cycles (links go both ways).
constexpr int kMaxDepth = 8;
constexpr size_t kMaxTracesInView = 200;

// A copy of one trace taken under its lock; rendering works on these only.
struct Snap {
  std::string id, family, title, parent_id;
  Clock::time_point start, end;
  bool finished = false, error = false;
  std::vector<TraceEvent> events;
  std::vector<std::shared_ptr<TraceData>> children;
};

Snap Take(const std::shared_ptr<TraceData>& t) {
  Snap s;
  // id, family, title, parent_id and start never change after creation.
  s.id = t->id;
  s.family = t->family;
  s.title = t->title;
  s.parent_id = t->parent_id;
  s.start = t->start;
  s.events = t->Events();
  std::lock_guard<std::mutex> l(t->mu);
  s.end = t->end;
  s.finished = t->finished;
  s.error = t->error;
  for (const auto& w : t->children) {
    if (auto c = w.lock()) s.children.push_back(std::move(c));
  }
  return s;
}

std::string H(std::string_view s) { return HtmlEscape(s); }
std::string Q(std::string_view s) { return HtmlEscape(QueryEscape(s)); }

std::string Fmt(Clock::time_point t, const char* fmt) {
  time_t tt = Clock::to_time_t(t);
  tm lt;
  localtime_r(&tt, &lt);
  char buf[64];
  strftime(buf, sizeof(buf), fmt, &lt);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                t.time_since_epoch())
                .count() %
            1000000;
  if (us < 0) us += 1000000;
  char out[96];
  snprintf(out, sizeof(out), "%s.%06lld", buf, static_cast<long long>(us));
  return out;
}

// The date is hidden on phones (class "date"), where width is scarce.
std::string Stamp(Clock::time_point t) {
  std::string s = Fmt(t, "%Y-%m-%d %H:%M:%S");
  return "<span class=\"date\">" + s.substr(0, 11) + "</span>" + s.substr(11);
}
std::string TimeOfDay(Clock::time_point t) { return Fmt(t, "%H:%M:%S"); }

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Elapsed since the previous event: ".NNNNNN" under a second, as in Go's
// x/net/trace; "S.NNNNNN" otherwise.
std::string Delta(Clock::duration d) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.6f", Seconds(d));
  std::string s = buf;
  if (HasPrefix(s, "0.")) s = s.substr(1);
  return s;
}

std::string BucketName(int b) {
  if (b == -1) return "active";
  if (b == -2) return "errors";
  return "\xE2\x89\xA5" + FormatGoDuration(nettrace::kBuckets[b]);  // "≥".
}

uint32_t Crc32(std::string_view s) {
  uint32_t c = 0xFFFFFFFF;
  for (unsigned char ch : s) {
    c ^= ch;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320 & (0 - (c & 1)));
  }
  return ~c;
}

const char* Emoji(uint32_t crc) {
  static const char* kEmoji[] = {
      "\xF0\x9F\x8D\x8E", "\xF0\x9F\x8D\x8A", "\xF0\x9F\x8D\x8B",
      "\xF0\x9F\x8D\x87", "\xF0\x9F\x8D\x89", "\xF0\x9F\x8D\x93",
      "\xF0\x9F\x8D\x92", "\xF0\x9F\x8D\x91", "\xF0\x9F\x8D\x8D",
      "\xF0\x9F\xA5\x9D", "\xF0\x9F\x8C\xBD", "\xF0\x9F\xA5\x95",
      "\xF0\x9F\x8C\xB5", "\xF0\x9F\x8C\xBB", "\xF0\x9F\x8D\x84",
      "\xF0\x9F\x90\x9F"};
  return kEmoji[crc % (sizeof(kEmoji) / sizeof(kEmoji[0]))];
}

std::string EventMessage(const TraceEvent& ev, const std::string& owner_id) {
  if (ev.dropped_marker) return "<i>[ events dropped ]</i>";
  std::string cls = HasPrefix(ev.msg, "error: ") ? " class=\"error\"" : "";
  if (ev.child) {
    std::string a = "<a href=\"?trace=" + Q(ev.child->id) +
                    "&amp;ref=" + Q(owner_id) + "\">" + H(ev.child->title) +
                    "</a>";
    if (ev.msg == "new child") return "new child " + a;
    return "<span" + cls + ">" + H(ev.msg) + "</span> (" + a + ")";
  }
  return "<span" + cls + ">" + H(ev.msg) + "</span>";
}

struct View {
  int status = 200;
  std::string error;
  std::string title = "Traces";
  std::string body;
};

std::string FamilyIndex(const std::string& sel_fam, int sel_b, bool sel_lat,
                        bool all) {
  std::string a = all ? "true" : "false";
  std::string o = "<div class=\"scroll\"><table class=\"fam\">\n";
  for (const auto& [name, s] : nettrace::Store::Get().Summaries()) {
    std::string f = Q(name);
    bool here = name == sel_fam;
    auto cell = [&](bool empty, bool sel, const std::string& href,
                    const std::string& text) {
      std::string cls = sel ? "sel" : empty ? "muted" : "";
      return "<td" + (cls.empty() ? "" : " class=\"" + cls + "\"") +
             "><a href=\"" + href + "\">" + text + "</a></td>";
    };
    o += "<tr>";
    o += cell(false, here && !sel_lat && sel_b == 0 && all,
              "?fam=" + f + "&amp;b=0&amp;all=true", H(name));
    o += cell(s.active == 0, here && sel_b == -1,
              "?fam=" + f + "&amp;b=-1&amp;all=" + a,
              std::to_string(s.active) + " active");
    size_t above = 0;
    std::array<size_t, kNumBuckets> cum{};
    for (int i = kNumBuckets - 1; i >= 0; i--) cum[i] = above += s.buckets[i];
    for (int i = 0; i < kNumBuckets; i++) {
      bool empty = (all ? cum[i] : s.buckets[i]) == 0;
      o += cell(empty, here && sel_b == i,
                "?fam=" + f + "&amp;b=" + std::to_string(i) + "&amp;all=" + a,
                H(BucketName(i)));
    }
    o += cell(s.errors == 0, here && sel_b == -2,
              "?fam=" + f + "&amp;b=-2&amp;all=" + a, "errors");
    o += cell(false, here && sel_lat,
              "?fam=" + f + "&amp;lat=true&amp;all=" + a, "[latency]");
    o += "</tr>\n";
  }
  return o + "</table></div>\n";
}

std::string TraceList(const std::vector<std::shared_ptr<TraceData>>& traces) {
  auto now = Clock::now();
  std::string o =
      "<div class=\"scroll\"><table>\n<tr><th>Timestamp</th>"
      "<th class=\"num\">Elapsed (s)</th><th>Message</th></tr>\n";
  for (const auto& t : traces) {
    Snap s = Take(t);
    auto elapsed = (s.finished ? s.end : now) - s.start;
    char el[32];
    snprintf(el, sizeof(el), "%.6f", Seconds(elapsed));
    o += "<tr class=\"title\"><td class=\"nw\">" + Stamp(s.start) +
         "</td><td class=\"num\">" + el +
         "</td><td class=\"msg\"><a href=\"?trace=" + Q(s.id) + "\">" +
         H(s.title) + "</a>";
    if (s.error) o += " <span class=\"error\">(error)</span>";
    if (!s.parent_id.empty()) {
      o += " <small><a href=\"?trace=" + Q(s.parent_id) +
           "&amp;ref=" + Q(s.id) + "\">parent</a></small>";
    }
    o += "</td></tr>\n";
    Clock::time_point prev = s.start;
    for (const auto& ev : s.events) {
      o += "<tr><td class=\"nw\">" + TimeOfDay(ev.when) +
           "</td><td class=\"num\">" + Delta(ev.when - prev) +
           "</td><td class=\"msg\">" + EventMessage(ev, s.id) + "</td></tr>\n";
      prev = ev.when;
    }
  }
  if (traces.empty()) o += "<tr><td colspan=\"3\"><i>none</i></td></tr>\n";
  return o + "</table></div>\n";
}

std::string Latency(const std::string& fam, bool all) {
  nettrace::FamilyStats st = nettrace::Store::Get().Stats(fam);
  auto ms = [](std::chrono::nanoseconds d) {
    return FormatGoDuration(std::chrono::round<std::chrono::milliseconds>(d));
  };
  std::string o = "<p>Count: " + std::to_string(st.total);
  if (st.total > 0) {
    o += "<br>\nAvg: " + ms(st.sum / st.total) + "<br>\nMin: " + ms(st.min) +
         "<br>\nMax: " + ms(st.max);
  }
  o += "</p>\n<div class=\"scroll\"><table>\n"
       "<tr><th>Bucket</th><th class=\"num\">Count</th><th class=\"num\">%"
       "</th><th></th><th class=\"num\">Cumulative</th></tr>\n";
  int64_t cum = 0;
  for (int i = 0; i < kNumBuckets; i++) {
    int64_t n = st.counts[i];
    cum += n;
    double pct = st.total ? 100.0 * n / st.total : 0;
    double cpct = st.total ? 100.0 * cum / st.total : 0;
    char p[32], cp[32];
    snprintf(p, sizeof(p), "%5.2f%%", pct);
    snprintf(cp, sizeof(cp), "%5.2f%%", cpct);
    o += "<tr><td><a href=\"?fam=" + Q(fam) + "&amp;b=" + std::to_string(i) +
         "&amp;all=" + (all ? "true" : "false") + "\">" + H(BucketName(i)) +
         "</a></td><td class=\"num\">" + std::to_string(n) +
         "</td><td class=\"num\">" + p + "</td><td><meter min=\"0\" max=\"" +
         std::to_string(std::max<int64_t>(st.total, 1)) + "\" value=\"" +
         std::to_string(n) + "\"></meter></td><td class=\"num\">" + cp +
         "</td></tr>\n";
  }
  return o + "</table></div>\n";
}

// The trace, its descendants and linked traces, depth-first, each once.
void Collect(const std::shared_ptr<TraceData>& t, int depth,
             std::set<std::string>& seen,
             std::vector<std::pair<int, Snap>>& out) {
  if (depth > kMaxDepth || out.size() >= kMaxTracesInView ||
      !seen.insert(t->id).second) {
    return;
  }
  out.emplace_back(depth, Take(t));
  auto children = out.back().second.children;
  for (const auto& c : children) Collect(c, depth + 1, seen, out);
}

std::string Short(const Snap& s) {
  std::string n = s.family + " - " + s.title;
  if (n.size() > 20) {
    // Keep the end (the distinctive part), on a UTF-8 boundary.
    size_t cut = n.size() - 17;
    while (cut < n.size() && (n[cut] & 0xC0) == 0x80) cut++;
    n = "..." + n.substr(cut);
  }
  return n;
}

std::string TraceTree(const std::shared_ptr<TraceData>& root) {
  std::vector<std::pair<int, Snap>> all;
  std::set<std::string> seen;
  Collect(root, 0, seen, all);
  const Snap& r = all.front().second;
  std::string o;
  if (!r.parent_id.empty()) {
    auto p = nettrace::Store::Get().Find(r.parent_id);
    o += "<p>Parent: <a href=\"?trace=" + Q(r.parent_id) +
         "&amp;ref=" + Q(r.id) + "\">" +
         (p ? H(p->family + " - " + p->title) : H(r.parent_id)) + "</a></p>\n";
  }
  struct Row {
    Clock::time_point when;
    size_t trace;  // Index into `all`.
    const TraceEvent* ev;
  };
  std::vector<Row> rows;
  for (size_t i = 0; i < all.size(); i++) {
    for (const auto& ev : all[i].second.events)
      rows.push_back({ev.when, i, &ev});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.when < b.when; });
  o += "<div class=\"scroll\"><table>\n<tr><th>Trace</th><th>Timestamp</th>"
       "<th class=\"num\">Elapsed</th><th></th><th>Message</th></tr>\n";
  Clock::time_point prev = r.start;
  for (const Row& row : rows) {
    const auto& [depth, s] = all[row.trace];
    uint32_t crc = Crc32(s.id);
    std::string dots;
    for (int d = 0; d < depth; d++) dots += "\xC2\xB7 ";
    o += "<tr class=\"t\" style=\"--h: " + std::to_string(crc % 360) +
         "\"><td title=\"" + H(s.family + " - " + s.title) +
         "\"><a href=\"?trace=" + Q(s.id) + "&amp;ref=" + Q(r.id) + "\">" +
         H(Short(s)) + "</a></td><td>" + TimeOfDay(row.when) +
         "</td><td class=\"num\">" + Delta(row.when - prev) + "</td><td>" +
         Emoji(crc) + "</td><td class=\"msg\">" + dots +
         EventMessage(*row.ev, s.id) + "</td></tr>\n";
    prev = row.when;
  }
  if (rows.empty()) o += "<tr><td colspan=\"5\"><i>no events</i></td></tr>\n";
  return o + "</table></div>\n";
}

// Finds `id` directly, or among the relatives of `ref` (parent, children,
// links) when the store no longer indexes it.
std::shared_ptr<TraceData> FindTrace(const std::string& id,
                                     const std::string& ref) {
  nettrace::Store& store = nettrace::Store::Get();
  if (auto t = store.Find(id)) return t;
  if (ref.empty()) return nullptr;
  auto r = store.Find(ref);
  if (!r) return nullptr;
  Snap s = Take(r);
  for (const auto& c : s.children) {
    if (c->id == id) return c;
  }
  return nullptr;
}

}  // namespace

Response TracesPage(const Request& req) {
  View v;
  nettrace::Store& store = nettrace::Store::Get();
  std::string fam = req.Param("fam");
  std::string bs = req.Param("b");
  std::string trace_id = req.Param("trace");
  bool lat = !req.Param("lat").empty();
  // Go's strconv.ParseBool; anything else keeps the default (true).
  std::string as = req.Param("all", "true");
  bool all = !(as == "0" || as == "f" || as == "F" || as == "false" ||
               as == "FALSE" || as == "False");
  int b = 0;
  bool have_b = false;

  if (!fam.empty() && !store.HasFamily(fam)) {
    v.status = 404;
    v.error = "Unknown family";
  }
  if (v.error.empty() && !bs.empty()) {
    char* end = nullptr;
    errno = 0;
    long n = bs.size() > 20 ? 0 : strtol(bs.c_str(), &end, 10);
    if (bs.size() > 20 || end == bs.c_str() || *end != '\0' || errno) {
      v.status = 400;
      v.error = "Invalid bucket (not a number)";
    } else if (n < -2 || n >= kNumBuckets) {
      v.status = 400;
      v.error = "Invalid bucket number";
    } else {
      b = static_cast<int>(n);
      have_b = true;
    }
  }

  std::string content;
  if (v.error.empty() && !trace_id.empty()) {
    auto t = FindTrace(trace_id, req.Param("ref"));
    if (!t) {
      v.status = 404;
      v.error = "Trace not found";
    } else {
      v.title = t->family + " - " + t->title;
      content = TraceTree(t);
    }
  } else if (v.error.empty() && !fam.empty() && lat) {
    v.title = fam + " - latency";
    content = Latency(fam, all);
  } else if (v.error.empty() && !fam.empty() && have_b) {
    v.title = fam + " - " + BucketName(b);
    std::vector<std::shared_ptr<TraceData>> traces =
        b == -1   ? store.Active(fam)
        : b == -2 ? store.Errors(fam)
                  : store.Bucket(fam, b, all);
    if (b >= 0) {
      std::string base = "?fam=" + Q(fam) + "&amp;b=" + std::to_string(b);
      content += "<p>Show: <a class=\"" + std::string(all ? "" : "sel") +
                 "\" href=\"" + base + "&amp;all=false\">Only in bucket</a>" +
                 " / <a class=\"" + (all ? "sel" : "") + "\" href=\"" + base +
                 "&amp;all=true\">All " + H(BucketName(b)) + "</a></p>\n";
    }
    content += TraceList(traces);
  }

  std::string o = PageHeader(v.title);
  o += "<h1>Traces</h1>\n";
  o += FamilyIndex(fam, have_b ? b : (lat ? -3 : -4), lat, all);
  if (!v.error.empty()) {
    o += "<p class=\"errbox\">Error: " + H(v.error) + "</p>\n";
  } else if (!content.empty()) {
    o += "<h2>" + H(v.title) + "</h2>\n" + content;
  }
  o += PageFooter();
  return Response::Html(std::move(o), v.status);
}

void RegisterTracesPage(Server& s) { s.Handle("/debug/traces", TracesPage); }

}  // namespace chasquid::monitoring
