#include "tlsrpt/report.h"

#include <zlib.h>

#include <openssl/evp.h>
#include <boost/json.hpp>

#include "base/strings.h"

namespace chasquid::tlsrpt {

namespace json = boost::json;

Result<std::vector<std::string>> ParseRecord(const std::string& txt) {
  // §3: "v=TLSRPTv1" first, then "rua=" with comma-separated URIs;
  // fields separated by ";", whitespace around them allowed.
  std::vector<std::string> fields = Split(txt, ";");
  if (fields.empty() || TrimSpace(fields[0]) != "v=TLSRPTv1") {
    return Status::Error("not a TLSRPTv1 record");
  }
  std::vector<std::string> rua;
  for (size_t i = 1; i < fields.size(); i++) {
    std::string_view f = TrimSpace(fields[i]);
    if (!HasPrefix(f, "rua=")) continue;
    for (const auto& u : Split(f.substr(4), ",")) {
      std::string_view uri = TrimSpace(u);
      if (uri.empty() || rua.size() >= 8) continue;
      rua.emplace_back(uri);
    }
  }
  if (rua.empty()) return Status::Error("no rua");
  return rua;
}

std::string ReportJson(const DomainDay& d, const ReportParams& p) {
  json::array policies;
  for (const auto& pr : d.policies) {
    json::object policy{{"policy-type", PolicyTypeName(pr.type)},
                        {"policy-domain", d.domain}};
    if (!pr.strings.empty()) {
      json::array a;
      for (const auto& s : pr.strings) a.emplace_back(s);
      policy["policy-string"] = std::move(a);
    }
    if (!pr.mx_patterns.empty()) {
      json::array a;
      for (const auto& s : pr.mx_patterns) a.emplace_back(s);
      policy["mx-host"] = std::move(a);
    }
    json::object entry{
        {"policy", std::move(policy)},
        {"summary",
         json::object{{"total-successful-session-count", pr.successes},
                      {"total-failure-session-count", pr.failures}}}};
    if (!pr.rows.empty()) {
      json::array rows;
      for (const auto& r : pr.rows) {
        json::object row{{"result-type", ResultTypeName(r.result)},
                         {"receiving-mx-hostname", r.mx_host},
                         {"failed-session-count", r.count}};
        if (!r.receiving_ip.empty()) row["receiving-ip"] = r.receiving_ip;
        if (!r.sending_ip.empty()) row["sending-mta-ip"] = r.sending_ip;
        if (!r.detail.empty()) row["failure-reason-code"] = r.detail;
        rows.push_back(std::move(row));
      }
      entry["failure-details"] = std::move(rows);
    }
    policies.push_back(std::move(entry));
  }
  json::object o{{"organization-name", p.organization},
                 {"date-range", json::object{{"start-datetime", p.start},
                                             {"end-datetime", p.end}}},
                 {"contact-info", p.contact},
                 {"report-id", p.report_id},
                 {"policies", std::move(policies)}};
  return json::serialize(o);
}

Result<std::string> Gzip(const std::string& data) {
  z_stream zs{};
  // 15 + 16: a gzip header and trailer, not zlib's.
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::Error("deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::Error("deflate failed");
  return out;
}

namespace {

std::string Base64Lines(const std::string& in) {
  std::string enc(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(enc.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  enc.resize(n);
  std::string out;
  for (size_t i = 0; i < enc.size(); i += 76) {
    out += enc.substr(i, 76);
    out += "\n";
  }
  return out;
}

}  // namespace

std::string ReportMail(const MailParams& p, const std::string& gzipped) {
  // §5.1: sender!policy-domain!begin-timestamp!end-timestamp!unique-id.
  std::string filename = std::string(p.submitter)
                             .append("!")
                             .append(p.domain)
                             .append("!")
                             .append(p.begin_ts)
                             .append("!")
                             .append(p.end_ts)
                             .append("!")
                             .append(p.report_id)
                             .append(".json.gz");
  std::string to;
  for (const auto& t : p.to) to.append(to.empty() ? "" : ", ").append(t);
  std::string m;
  m.append("From: ").append(p.from).append("\n");
  m.append("To: ").append(to).append("\n");
  m.append("Subject: Report Domain: ")
      .append(p.domain)
      .append(" Submitter: ")
      .append(p.submitter)
      .append(" Report-ID: <")
      .append(p.report_id)
      .append(">\n");
  m.append("Date: ").append(p.date).append("\n");
  m.append("Message-ID: <").append(p.message_id).append(">\n");
  m.append("TLS-Report-Domain: ").append(p.domain).append("\n");
  m.append("TLS-Report-Submitter: ").append(p.submitter).append("\n");
  m += "Auto-Submitted: auto-generated\n";
  m += "MIME-Version: 1.0\n";
  m += "Content-Type: multipart/report; report-type=\"tlsrpt\";\n";
  m.append("    boundary=\"").append(p.boundary).append("\"\n");
  m += "\n";
  m.append("--").append(p.boundary).append("\n");
  m += "Content-Type: text/plain; charset=\"utf-8\"\n";
  m += "\n";
  m.append("This is an aggregate TLS report (RFC 8460) from ")
      .append(p.submitter)
      .append(" for ")
      .append(p.domain)
      .append(".\n");
  m += "\n";
  m.append("--").append(p.boundary).append("\n");
  m += "Content-Type: application/tlsrpt+gzip\n";
  m += "Content-Transfer-Encoding: base64\n";
  m += "Content-Disposition: attachment;\n";
  m.append("    filename=\"").append(filename).append("\"\n");
  m += "\n";
  m += Base64Lines(gzipped);
  m += "\n";
  m.append("--").append(p.boundary).append("--\n");
  return m;
}

}  // namespace chasquid::tlsrpt
