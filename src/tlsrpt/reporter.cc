#include "tlsrpt/reporter.h"

#include <ctime>

#include <openssl/rand.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"
#include "base/strings.h"
#include "nettrace/trace.h"
#include "tlsrpt/https.h"
#include "tlsrpt/report.h"

namespace chasquid::tlsrpt {

namespace {

std::string RandomHex(size_t n) {
  unsigned char buf[16];
  if (n > sizeof(buf)) n = sizeof(buf);
  RAND_bytes(buf, static_cast<int>(n));
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; i++) {
    out += kHex[buf[i] >> 4];
    out += kHex[buf[i] & 15];
  }
  return out;
}

// Seconds since the epoch of "YYYY-MM-DD" at 00:00:00 UTC.
int64_t DayStart(const std::string& day) {
  struct tm tm = {};
  tm.tm_year = std::stoi(day.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(day.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(day.substr(8, 2));
  return static_cast<int64_t>(timegm(&tm));
}

// The address of a mailto: URI (RFC 6068), without "?..." or a "!size"
// suffix; empty when it is not one.
std::string MailtoAddress(const std::string& uri) {
  if (!HasPrefix(AsciiToLower(uri.substr(0, 7)), "mailto:")) return "";
  std::string a = uri.substr(7);
  a = a.substr(0, a.find_first_of("?!"));
  if (a.find('@') == std::string::npos || a.size() > 256) return "";
  for (char c : a) {
    if (c == '<' || c == '>' || c == '\n' || c == '\r' || c == ' ' ||
        c == ',') {
      return "";
    }
  }
  return a;
}

}  // namespace

void Reporter::Start(net::any_io_executor ex) {
  net::co_spawn(ex, Loop(ex), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      CLOG_ERROR(std::string("tlsrpt: reporter stopped: ").append(x.what()));
    }
  });
}

net::awaitable<void> Reporter::Loop(net::any_io_executor ex) {
  net::steady_timer timer(ex);
  for (;;) {
    std::chrono::nanoseconds wait = opts_.period;
    if (wait.count() <= 0) {
      // Five minutes after the next UTC midnight.
      int64_t now = time(nullptr);
      int64_t next = (now / 86400 + 1) * 86400 + 300;
      wait = std::chrono::seconds(next - now);
    }
    timer.expires_after(wait);
    auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    if (ec) co_return;
    auto run = RunOnce(/*include_today=*/opts_.period.count() > 0);
    co_await std::move(run);
  }
}

net::awaitable<void> Reporter::RunOnce(bool include_today) {
  std::string today = Store::DayOf(std::chrono::system_clock::now());
  for (const std::string& day : opts_.store->Days()) {
    if (!include_today && day >= today) continue;
    for (DomainDay& d : opts_.store->Day(day)) {
      auto one = ReportDomain(std::move(d));
      co_await std::move(one);
    }
  }
}

net::awaitable<void> Reporter::ReportDomain(DomainDay d) {
  nettrace::Trace tr("TLSRPT.Report", d.domain + " " + d.day);
  std::string name = std::string("_smtp._tls.").append(d.domain);
  auto txt = co_await opts_.resolver->LookupTXT(std::move(name));
  if (!txt.ok() && !txt.status().permanent()) {
    tr.Error("TXT lookup: " + txt.status().message() + "; retrying later");
    co_return;
  }
  std::vector<std::string> rua;
  if (txt.ok()) {
    for (const auto& t : *txt) {
      auto r = ParseRecord(t);
      if (r.ok()) {
        rua = std::move(*r);
        break;
      }
    }
  }
  if (rua.empty()) {
    tr.Printf("no TLSRPTv1 record: no report");
    opts_.store->Forget(d.day, d.domain);
    co_return;
  }

  int64_t start = DayStart(d.day);
  std::string id = d.day + "." + RandomHex(8) + "@" + opts_.submitter;
  ReportParams rp{opts_.submitter,
                  opts_.contact.empty() ? opts_.from : opts_.contact, id,
                  d.day + "T00:00:00Z", d.day + "T23:59:59Z"};
  auto gz = Gzip(ReportJson(d, rp));
  if (!gz.ok()) {
    ReportCount()->Add("failed", static_cast<int64_t>(rua.size()));
    tr.Error("gzip: " + gz.status().message());
    co_return;
  }

  std::vector<std::string> mailto;
  for (const auto& u : rua) {
    std::string a = MailtoAddress(u);
    if (!a.empty()) {
      mailto.push_back(a);
      continue;
    }
    if (opts_.tls && ParseHttpsUrl(u).ok()) {
      std::string url = u;
      std::string body = *gz;
      auto post = HttpsPost(opts_.resolver, opts_.tls.get(), std::move(url),
                            std::move(body), opts_.https_timeout);
      Status ps = co_await std::move(post);
      if (ps.ok()) {
        ReportCount()->Add("sent");
        tr.Printf("report " + id + " posted to " + u);
      } else {
        ReportCount()->Add("failed");
        tr.Error("POST to " + u + ": " + ps.message());
        CLOG_ERROR("tlsrpt: " + d.domain + ": POST to " + u + ": " +
                   ps.message());
      }
      continue;
    }
    ReportCount()->Add("failed");
    tr.Error("rua not served: " + u);
    CLOG_ERROR("tlsrpt: " + d.domain + ": rua not served: " + u);
  }
  if (!mailto.empty()) {
    MailParams mp;
    mp.from = opts_.from;
    mp.to = mailto;
    mp.domain = d.domain;
    mp.submitter = opts_.submitter;
    mp.report_id = id;
    mp.date = Rfc1123ZNow();
    mp.begin_ts = std::to_string(start);
    mp.end_ts = std::to_string(start + 86399);
    mp.boundary = RandomHex(12);
    mp.message_id = RandomHex(12) + "@" + opts_.submitter;
    std::string mail = ReportMail(mp, *gz);
    if (opts_.sign) {
      size_t at = opts_.from.rfind('@');
      std::string from_domain =
          at == std::string::npos ? "" : opts_.from.substr(at + 1);
      auto sign_op = opts_.sign(std::move(from_domain), &mail);
      auto signed_n = co_await std::move(sign_op);
      if (!signed_n.ok()) {
        tr.Error("DKIM signing: " + signed_n.status().message());
      } else if (*signed_n > 0) {
        tr.Printf("DKIM-signed");
      }
    }
    auto data = std::make_shared<const std::string>(std::move(mail));
    std::string from = opts_.from;
    std::vector<std::string> to = mailto;
    auto put_op = opts_.put(std::move(from), std::move(to), std::move(data));
    auto queued = co_await std::move(put_op);
    if (!queued.ok()) {
      // Kept for the next run (the store drops days beyond its limit).
      ReportCount()->Add("failed", static_cast<int64_t>(mailto.size()));
      tr.Error("queueing the report: " + queued.status().message());
      co_return;
    }
    ReportCount()->Add("sent", static_cast<int64_t>(mailto.size()));
    tr.Printf("report " + id + " queued as " + *queued);
  }
  opts_.store->Forget(d.day, d.domain);
}

}  // namespace chasquid::tlsrpt
