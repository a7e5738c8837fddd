// smtp-check: checks a domain's mail servers from the outside: its MTA-STS
// policy, its MXs, and that each one speaks STARTTLS with a valid
// certificate.
//
//   smtp-check [-port P] [-localname NAME] [-skip_tls_check] <domain>
//
// Ours: for each MX, its TLSA records and the DANE result ("DANE:
// verified", "mismatch", ...), checked as the courier does; DANE needs a
// resolver on loopback (see the README).
//
// Output is Go's log format on stderr. Exit codes: 0 success, 1 any
// failure, 2 bad flags. --testing__dns_addr=<host:port> sends every DNS
// query to a test server (ONLY FOR TESTING).
#include <netdb.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "base/goflag.h"
#include "base/strings.h"
#include "courier/dane.h"
#include "courier/smtp.h"
#include "courier/smtp_client.h"
#include "dns/dns.h"
#include "spf/spf.h"
#include "sts/sts.h"
#include "tlsroots/tlsroots.h"

namespace chasquid {
namespace {

namespace net = boost::asio;

void Log(const std::string& msg) {
  char ts[32];
  time_t now = time(nullptr);
  strftime(ts, sizeof(ts), "%Y/%m/%d %H:%M:%S", localtime(&now));
  fprintf(stderr, "%s %s\n", ts, msg.c_str());
}

[[noreturn]] void Fatal(const std::string& msg) {
  Log(msg);
  fflush(stderr);
  _exit(1);
}

struct Flags {
  std::string port = "smtp";
  std::string localname = "localhost";
  bool skip_tls_check = false;
  std::string dns_addr;
  std::string domain;
};

const std::vector<goflag::Flag> kFlags = {
    {"localname", goflag::Kind::kString, "local name to use for the EHLO",
     "localhost"},
    {"port", goflag::Kind::kString,
     "port to use for connecting to the MX servers", "smtp"},
    {"skip_tls_check", goflag::Kind::kBool,
     "skip TLS check (useful if connections are blocked)", "false"},
    {"testing__dns_addr", goflag::Kind::kString, "", "", /*hidden=*/true},
};

// Go's flag package: parsing stops at the first non-flag argument, the
// domain.
Flags ParseFlags(int argc, char** argv) {
  goflag::Outcome o = goflag::Check(argc, argv, kFlags);
  if (o.what != goflag::Outcome::kOk) goflag::Fail(o, argv[0], kFlags);
  Flags f;
  if (o.values.count("port")) f.port = o.values["port"];
  if (o.values.count("localname")) f.localname = o.values["localname"];
  f.skip_tls_check = o.values["skip_tls_check"] == "true";
  f.dns_addr = o.values["testing__dns_addr"];
  if (o.next < argc) f.domain = argv[o.next];
  return f;
}

std::string HexOf(const std::string& data) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : data) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

std::string ServicePort(const std::string& port) {
  if (!port.empty() &&
      port.find_first_not_of("0123456789") == std::string::npos) {
    return port;
  }
  if (servent* s = getservbyname(port.c_str(), "tcp")) {
    return std::to_string(ntohs(s->s_port));
  }
  return port == "smtp" ? "25" : port;
}

net::awaitable<void> Check(Flags f, dns::Resolver* resolver,
                           std::shared_ptr<net::ssl::context> tls) {
  auto ascii = courier::DomainToAscii(f.domain);
  if (!ascii.ok()) {
    Fatal("IDNA conversion failed: " + ascii.status().message());
  }
  std::string domain = *ascii;
  std::vector<std::string> errs;

  Log("=== STS policy");
  std::string https_port = "443";
  auto policy = co_await sts::UncheckedFetch(
      resolver, *tls, domain, std::chrono::seconds(5), std::move(https_port));
  if (!policy.ok()) {
    Log("Not available (" + policy.status().message() + ")");
  } else {
    Log("Parsed contents:  [" + sts::DebugString(*policy) + "]");
    if (Status s = sts::Check(*policy); !s.ok()) {
      Fatal("Invalid: " + s.message());
    }
    Log("OK");
  }
  Log("");

  auto mxs = co_await resolver->LookupMX(domain);
  if (!mxs.ok()) {
    std::string msg = mxs.status().message();
    if (mxs.status().not_found()) msg = "lookup " + domain + ": " + msg;
    Fatal("MX lookup: " + msg);
  }
  if (mxs->empty()) Fatal("MX lookup returned no results");
  std::string port = ServicePort(f.port);
  // RFC 7672 §2.2.1, as the courier: hosts named by an MX answer that was
  // not authenticated get no DANE.
  std::string mx_domain = domain;
  const bool mx_insecure = co_await resolver->MXInsecure(mx_domain);

  for (const auto& mx : *mxs) {
    char pref[8];
    snprintf(pref, sizeof(pref), "%2d", mx.preference);
    Log(std::string("=== MX: ") + pref + "  " + mx.host);
    auto ips = co_await resolver->LookupIP(mx.host);
    if (!ips.ok()) Fatal("lookup " + mx.host + ": " + ips.status().message());
    for (const auto& ip : *ips) {
      std::string sender = "test@" + domain;
      auto r = co_await spf::CheckHostWithSender(*resolver, ip, domain, sender);
      Log("SPF " + std::string(spf::ToString(r.verdict)) + " for " + ip + ": " +
          r.ErrorText());
      if (r.verdict != spf::Verdict::kPass) {
        errs.push_back(mx.host + ": SPF failed (" + ip + ")");
      }
    }
    // DANE (RFC 7672): the TLSA records of the host, as the courier sees
    // them (SMTP's port 25, whatever -port says).
    std::string smtp_port = "25";
    courier::DanePolicy dane =
        co_await courier::LookupDane(resolver, mx.host, smtp_port);
    if (mx_insecure) {
      dane = courier::DanePolicy{};
      dane.lookup = courier::DaneResult::kInsecure;
    }
    if (!resolver->TrustsAD()) {
      Log("TLSA: not checked, the DNS resolver is not on loopback (no "
          "DANE)");
    } else {
      dns::TLSAAnswer tlsa = co_await resolver->LookupTLSA(mx.host, smtp_port);
      for (const auto& t : tlsa.records) {
        Log(std::string("TLSA: ")
                .append(std::to_string(t.usage))
                .append(" ")
                .append(std::to_string(t.selector))
                .append(" ")
                .append(std::to_string(t.matching_type))
                .append(" ")
                .append(HexOf(t.data))
                .append(courier::UsableForSmtp(t) ? ""
                                                  : " (not usable for SMTP)"));
      }
      switch (dane.lookup) {
        case courier::DaneResult::kInsecure:
          Log(mx_insecure ? "DANE: insecure (MX answer not authenticated), "
                            "does not apply"
                          : "DANE: insecure (no DNSSEC), does not apply");
          break;
        case courier::DaneResult::kNoRecords:
          Log("DANE: no TLSA records, does not apply");
          break;
        case courier::DaneResult::kBogus:
        case courier::DaneResult::kLookupError:
          Log(std::string("DANE: ")
                  .append(courier::DaneResultName(dane.lookup))
                  .append(" (")
                  .append(dane.error)
                  .append(")"));
          errs.push_back(mx.host + ": DANE failed");
          break;
        case courier::DaneResult::kUnusable:
          Log("DANE: no usable TLSA records, TLS required");
          break;
        default:
          break;
      }
    }
    if (f.skip_tls_check) {
      Log("TLS check skipped");
    } else {
      courier::SourceAddrs source;  // The kernel's choice.
      auto c = co_await courier::Client::Dial(resolver, mx.host, port,
                                              std::chrono::hours(24),
                                              std::chrono::hours(24), source);
      if (!c.ok()) Fatal(c.status().message());
      auto greeting = co_await (*c)->ReadReply(220);
      if (!greeting.ok()) Fatal(greeting.status().message());
      if (Status s = co_await (*c)->Hello(f.localname); !s.ok()) {
        Fatal(s.message());
      }
      const bool dane_match = dane.lookup == courier::DaneResult::kVerified;
      if (dane_match) (*c)->SetDane(dane.usable);
      Status s;
      if (dane.RequiresTLS() && !(*c)->HasExtension("STARTTLS")) {
        s = Status::Transient("STARTTLS not offered");
      } else {
        s = co_await (*c)->StartTLS(*tls, mx.host, /*strict=*/true);
      }
      if (!s.ok()) {
        Log("TLS error: " + s.message());
        errs.push_back(mx.host + ": TLS failed");
        if (dane.RequiresTLS()) {
          Log(dane_match ? "DANE: mismatch" : "DANE: nostarttls");
          errs.push_back(mx.host + ": DANE failed");
        }
      } else {
        Log("TLS OK: " + tlsroots::VersionName((*c)->ssl()) + " - " +
            tlsroots::CipherName((*c)->ssl()));
        if (dane_match) {
          std::string why;
          if (courier::DaneMatched((*c)->ssl(), &why)) {
            Log("DANE: verified");
          } else {
            Log(std::string("DANE: mismatch (").append(why).append(")"));
            errs.push_back(mx.host + ": DANE failed");
          }
        }
      }
      (*c)->Close();
    }
    if (policy.ok()) {
      if (!sts::MXIsAllowed(*policy, mx.host)) {
        Log("NOT allowed by STS policy");
        errs.push_back(mx.host + ": STS failed");
      }
      Log("Allowed by policy");  // chasquid's quirk: always printed.
    }
    Log("");
  }

  if (errs.empty()) {
    Log("=== Success");
    exit(0);
  }
  Log("=== FAILED");
  for (const auto& e : errs) Log(e);
  Fatal("");
}

int Main(int argc, char** argv) {
  Flags f = ParseFlags(argc, argv);
  if (f.domain.empty()) Fatal("Use: smtp-check <domain>");
  net::io_context io;
  auto resolver = dns::NewCaresResolver(io.get_executor(), f.dns_addr);
  if (!resolver.ok()) Fatal(resolver.status().message());
  auto tls = tlsroots::NewClientContext();
  if (!tls.ok()) Fatal(tls.status().message());
  if (Status s = courier::EnableDaneContext((*tls)->native_handle()); !s.ok()) {
    Fatal(s.message());
  }
  net::co_spawn(io, Check(f, resolver->get(), *tls), net::detached);
  io.run();
  return 1;
}

}  // namespace
}  // namespace chasquid

int main(int argc, char** argv) { return chasquid::Main(argc, argv); }
