// Building one TLS report (RFC 8460 §4.4 JSON, §5.3 mail) and reading a
// domain's reporting policy (§3, the `_smtp._tls` TXT record). Pure
// functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "tlsrpt/store.h"

namespace chasquid::tlsrpt {

// The rua URIs of a `_smtp._tls.<domain>` TXT record
// ("v=TLSRPTv1; rua=mailto:a@b,https://c/d"), in order; at most 8.
// Errors: not a TLSRPTv1 record, no rua.
Result<std::vector<std::string>> ParseRecord(const std::string& txt);

struct ReportParams {
  std::string organization;  // organization-name, TLS-Report-Submitter.
  std::string contact;       // contact-info.
  std::string report_id;
  std::string start, end;  // RFC 3339 date-times.
};

// The §4.4 JSON of one domain's day.
std::string ReportJson(const DomainDay& d, const ReportParams& p);

// gzip (RFC 1952) of `data`, through zlib.
Result<std::string> Gzip(const std::string& data);

struct MailParams {
  std::string from;  // RFC 5322 From address.
  std::vector<std::string> to;
  std::string domain;     // The policy domain: TLS-Report-Domain.
  std::string submitter;  // TLS-Report-Submitter.
  std::string report_id;
  std::string date;              // RFC 5322 date.
  std::string begin_ts, end_ts;  // Unix seconds, for the file name.
  std::string boundary;
  std::string message_id;
};

// The §5.3 multipart/report mail (report-type=tlsrpt) with the gzip'd
// JSON as an application/tlsrpt+gzip attachment, base64, LF line endings
// (the queue's form).
std::string ReportMail(const MailParams& p, const std::string& gzipped);

}  // namespace chasquid::tlsrpt
