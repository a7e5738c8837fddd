#include "courier/dane.h"

#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

namespace chasquid::courier {

const char* DaneResultName(DaneResult r) {
  switch (r) {
    case DaneResult::kOff:
      return "off";
    case DaneResult::kInsecure:
      return "insecure";
    case DaneResult::kNoRecords:
      return "none";
    case DaneResult::kVerified:
      return "verified";
    case DaneResult::kMismatch:
      return "mismatch";
    case DaneResult::kNoStartTLS:
      return "nostarttls";
    case DaneResult::kUnusable:
      return "unusable";
    case DaneResult::kBogus:
      return "bogus";
    case DaneResult::kLookupError:
      return "lookuperror";
  }
  return "off";
}

bool UsableForSmtp(const dns::TLSA& t) {
  if (t.usage != 2 && t.usage != 3) return false;
  if (t.selector > 1) return false;
  switch (t.matching_type) {
    case 0:
      return !t.data.empty();
    case 1:
      return t.data.size() == 32;  // SHA2-256
    case 2:
      return t.data.size() == 64;  // SHA2-512
  }
  return false;
}

std::string TlsaText(const dns::TLSA& t) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = std::to_string(t.usage)
                        .append(" ")
                        .append(std::to_string(t.selector))
                        .append(" ")
                        .append(std::to_string(t.matching_type))
                        .append(" ");
  for (unsigned char c : t.data) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

DanePolicy PolicyFrom(const dns::TLSAAnswer& answer) {
  DanePolicy p;
  switch (answer.kind) {
    case dns::TLSAAnswer::Kind::kInsecure:
      p.lookup = DaneResult::kInsecure;
      return p;
    case dns::TLSAAnswer::Kind::kBogus:
      p.lookup = DaneResult::kBogus;
      p.error = answer.error;
      return p;
    case dns::TLSAAnswer::Kind::kError:
      p.lookup = DaneResult::kLookupError;
      p.error = answer.error;
      return p;
    case dns::TLSAAnswer::Kind::kSecure:
      break;
  }
  if (answer.records.empty()) {
    p.lookup = DaneResult::kNoRecords;
    return p;
  }
  for (const auto& t : answer.records) {
    if (UsableForSmtp(t)) p.usable.push_back(t);
  }
  p.records = answer.records;
  // RFC 7672 §2.2: records that are all unusable still mean the server
  // is meant to speak TLS; it is used without authentication.
  p.lookup = p.usable.empty() ? DaneResult::kUnusable : DaneResult::kVerified;
  return p;
}

boost::asio::awaitable<DanePolicy> LookupDane(dns::Resolver* resolver,
                                              std::string host,
                                              std::string port) {
  if (!host.empty() && host.back() == '.') host.pop_back();
  dns::TLSAAnswer answer = co_await resolver->LookupTLSA(host, port);
  co_return PolicyFrom(answer);
}

Status EnableDaneContext(SSL_CTX* ctx) {
  if (SSL_CTX_dane_enable(ctx) <= 0) {
    return Status::Error("cannot enable DANE on the TLS context");
  }
  return Status::Ok();
}

Status PrepareDane(SSL* ssl, const std::string& host,
                   const std::vector<dns::TLSA>& records) {
  std::string name = host;
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (SSL_dane_enable(ssl, name.c_str()) <= 0) {
    return Status::Transient(
        std::string("DANE: cannot enable for ").append(name));
  }
  // §3.2.3: the subjectAltName (or, without one, the CN) names the host;
  // a wildcard only as the whole leftmost label. §3.1.1: DANE-EE records
  // match whatever the certificate says.
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  int added = 0;
  for (const auto& t : records) {
    int rc = SSL_dane_tlsa_add(
        ssl, t.usage, t.selector, t.matching_type,
        reinterpret_cast<const unsigned char*>(t.data.data()), t.data.size());
    if (rc > 0) added++;
  }
  if (added == 0) {
    return Status::Transient(std::string("DANE: no TLSA record of ")
                                 .append(name)
                                 .append(" could be used"));
  }
  return Status::Ok();
}

bool DaneMatched(SSL* ssl, std::string* why) {
  long v = SSL_get_verify_result(ssl);
  if (v != X509_V_OK) {
    if (why) *why = X509_verify_cert_error_string(v);
    return false;
  }
  if (SSL_get0_dane_authority(ssl, nullptr, nullptr) < 0) {
    if (why) *why = "no TLSA record matched";
    return false;
  }
  return true;
}

}  // namespace chasquid::courier
