// The /debug/queue page: chasquid's plain-text layout, item by item, with
// our additions after each item's recipients: how many delivery attempts
// it had and the last ones (Item::attempts), and when the next is due.
// Items come in ID order, a page at a time when asked (debug_page.h).
// Read-only: the monitoring server has no authentication, so changing the
// queue is left to chasquid-util over the local RPC.
#include "queue/queue.h"

#include <cstdio>
#include <ctime>
#include <iterator>

#include "base/strings.h"
#include "queue/item.h"

namespace chasquid::queue {

namespace {

using std::chrono::system_clock;

// Go's time.Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST".
std::string GoTimeString(system_clock::time_point t, bool utc) {
  auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch())
          .count();
  time_t secs = ns / 1000000000;
  long frac = ns % 1000000000;
  if (frac < 0) frac += 1000000000, secs -= 1;
  struct tm tm;
  if (utc) {
    gmtime_r(&secs, &tm);
  } else {
    localtime_r(&secs, &tm);
  }
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  std::string out = buf;
  if (frac) {
    char f[16];
    snprintf(f, sizeof(f), ".%09ld", frac);
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  if (utc) return out + " +0000 UTC";
  strftime(buf, sizeof(buf), " %z %Z", &tm);
  return out + buf;
}

}  // namespace

std::string DiskQueue::DumpText(const std::string& after, size_t limit) const {
  std::vector<std::shared_ptr<Item>> items;
  size_t total = 0, more = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    total = items_.size();
    auto it = after.empty() ? items_.begin() : items_.upper_bound(after);
    for (; it != items_.end() && (limit == 0 || items.size() < limit); ++it) {
      items.push_back(it->second);
    }
    more = static_cast<size_t>(std::distance(it, items_.end()));
  }
  std::string o = "# Queue status\n\n";
  o += "date: " + GoTimeString(system_clock::now(), false) + "\n";
  o += "length: " + std::to_string(total) + "\n\n";
  for (const auto& item : items) {
    o += "## Item " + item->id + "\n";
    o += "created at: " + GoTimeString(item->created_at, item->loaded) + "\n";
    o += "from: " + item->from + "\n";
    o += "to: [";
    for (size_t i = 0; i < item->to.size(); i++) {
      if (i) o += " ";
      o += item->to[i];
    }
    o += "]\n";
    std::lock_guard<std::mutex> l(item->mu);
    for (const auto& r : item->rcpt) {
      o += std::string(StatusName(r.status)) + " " + r.address + " (" +
           TypeName(r.type) + ")\n";
      o += "  original address: " + r.original_address + "\n";
      o += "  last failure: " + GoQuote(r.last_failure_message) + "\n";
    }
    o += "attempts: " + std::to_string(item->attempt_count);
    if (item->attempt_count > item->attempts.size()) {
      o += " (the last " + std::to_string(item->attempts.size()) + " below)";
    }
    o += "\n";
    for (const auto& a : item->attempts) {
      o += "  " + FormatTime(a.when) + " " + a.address + " " +
           ResultName(a.result) + " in " + FormatGoDuration(a.duration);
      if (!a.message.empty()) o += ": " + GoQuote(a.message);
      o += "\n";
    }
    if (item->next_attempt.time_since_epoch().count() != 0) {
      o += "next attempt: " + FormatTime(item->next_attempt) + "\n";
    }
    o += "\n";
  }
  if (more > 0) {
    // Ours: the page stops at `limit` items (see debug_page.h); this line
    // says where the rest is.
    o += "# " + std::to_string(more) +
         " more items: /debug/queue?after=" + items.back()->id +
         "&limit=" + std::to_string(limit) + "\n";
  }
  return o;
}

}  // namespace chasquid::queue
