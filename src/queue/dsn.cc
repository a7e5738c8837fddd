#include "queue/dsn.h"

#include <time.h>

#include <algorithm>
#include <set>

#include "base/strings.h"
#include "normalize/normalize.h"

namespace chasquid::queue {

namespace {

bool AddrIsLocal(const DSNParams& p, const std::string& addr) {
  if (addr.find('@') == std::string::npos) return true;
  return p.is_local && p.is_local(normalize::Split(addr).second);
}

// MSG(R): trimmed, continuation lines indented by 4.
std::string Msg(const Recipient& r) {
  std::string m(TrimSpace(r.last_failure_message));
  std::string out;
  for (char c : m) {
    out += c;
    if (c == '\n') out += "    ";
  }
  return out;
}

}  // namespace

std::string ReportingDomain(const DSNParams& p) {
  if (AddrIsLocal(p, p.from)) return normalize::Split(p.from).second;
  for (const auto& r : p.rcpt) {
    if (r.original_address.find('@') != std::string::npos &&
        AddrIsLocal(p, r.original_address)) {
      return normalize::Split(r.original_address).second;
    }
  }
  return "unknown";
}

std::string MessageIDOf(const std::string& data) {
  // The header block ends at the first empty line (or the end of data).
  std::string current_name, current_value, found;
  bool have = false, done = false;
  auto flush = [&] {
    if (have && found.empty() && AsciiToLower(current_name) == "message-id") {
      found = std::string(TrimSpace(current_value));
      done = true;
    }
    have = false;
  };
  size_t pos = 0;
  while (pos < data.size() && !done) {
    size_t nl = data.find('\n', pos);
    std::string_view line(data.data() + pos,
                          (nl == std::string::npos ? data.size() : nl) - pos);
    pos = nl == std::string::npos ? data.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') {
      if (!have) return "";  // Continuation without a header: malformed.
      current_value += " ";
      current_value += TrimSpace(line);
      continue;
    }
    flush();
    if (done) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return "";
    current_name = std::string(TrimSpace(line.substr(0, colon)));
    current_value = std::string(TrimSpace(line.substr(colon + 1)));
    have = true;
  }
  flush();
  return found;
}

std::string BuildDSN(const DSNParams& p) {
  const std::string d = ReportingDomain(p);
  const std::string mid = p.data ? MessageIDOf(*p.data) : "";
  std::set<std::string> fset;
  for (const auto& r : p.rcpt) {
    if (r.status != Recipient::Status::kSent) fset.insert(r.original_address);
  }
  std::string flist;
  for (const auto& f : fset) flist += f + ", ";

  std::string o;
  o += "From: Mail Delivery System <postmaster-dsn@" + d + ">\n";
  o += "To: <" + p.from + ">\n";
  o += "Subject: Mail delivery failed: returning message to sender\n";
  o += "Message-ID: <chasquid-dsn-" + p.id2 + "@" + d + ">\n";
  o += "Date: " + p.date + "\n";
  o += "In-Reply-To: " + mid + "\n";
  o += "References: " + mid + "\n";
  o += "X-Failed-Recipients: " + flist + "\n";
  o += "Auto-Submitted: auto-replied\n";
  o += "MIME-Version: 1.0\n";
  o += "Content-Type: multipart/report; report-type=delivery-status;\n";
  o += "    boundary=\"" + p.boundary + "\"\n";
  o += "\n\n";
  o += "--" + p.boundary + "\n";
  o += "Content-Type: text/plain; charset=\"utf-8\"\n";
  o += "Content-Disposition: inline\n";
  o += "Content-Description: Notification\n";
  o += "Content-Transfer-Encoding: 8bit\n";
  o += "\n";
  o += "Delivery of your message to the following recipient(s) failed "
       "permanently:\n";
  o += "\n";
  for (const auto& f : fset) o += "  - " + f + "\n";
  o += "\n\n";
  o += "Technical details:\n";
  for (const auto& r : p.rcpt) {
    if (r.status != Recipient::Status::kFailed) continue;
    o += "- \"" + r.address + "\" (" + TypeName(r.type) +
         ") failed permanently with error:\n";
    o += "    " + Msg(r) + "\n";
  }
  for (const auto& r : p.rcpt) {
    if (r.status != Recipient::Status::kPending) continue;
    o += "- \"" + r.address + "\" (" + TypeName(r.type) +
         ") failed repeatedly and timed out, last error:\n";
    o += "    " + Msg(r) + "\n";
  }
  o += "\n\n";
  o += "--" + p.boundary + "\n";
  o += "Content-Type: message/global-delivery-status\n";
  o += "Content-Description: Delivery Report\n";
  o += "Content-Transfer-Encoding: 8bit\n";
  o += "\n";
  o += "Reporting-MTA: dns; " + d + "\n";
  o += "\n";
  for (auto want : {Recipient::Status::kFailed, Recipient::Status::kPending}) {
    for (const auto& r : p.rcpt) {
      if (r.status != want) continue;
      o += "Original-Recipient: utf-8; " + r.original_address + "\n";
      o += "Final-Recipient: utf-8; " + r.address + "\n";
      o += "Action: failed\n";
      o += want == Recipient::Status::kFailed ? "Status: 5.0.0\n"
                                              : "Status: 4.0.0\n";
      o += "Diagnostic-Code: smtp; " + Msg(r) + "\n";
      o += "\n";
    }
  }
  o += "\n\n";
  o += "--" + p.boundary + "\n";
  o += "Content-Type: message/rfc822\n";
  o += "Content-Description: Undelivered Message\n";
  o += "Content-Transfer-Encoding: 8bit\n";
  o += "\n";
  if (p.data) {
    o.append(*p.data, 0, std::min<size_t>(p.data->size(), kDSNQuoteMax));
  }
  o += "\n\n--" + p.boundary + "--\n";
  return o;
}

}  // namespace chasquid::queue
