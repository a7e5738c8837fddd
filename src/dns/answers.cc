#include "dns/answers.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <string_view>

namespace chasquid::dns {

namespace {

const unsigned char* Bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string WithoutTrailingDot(const char* name) {
  std::string n = name ? name : "";
  if (!n.empty() && n.back() == '.') n.pop_back();
  return n;
}

// c-ares escapes what a label holds beyond a host name's characters ("\."
// for a dot inside a label, "\DDD" for other bytes). Such a name can be
// no host to connect to, and stripping a "trailing dot" from "mx\." would
// make another name: Go's resolver drops these records too (found by
// dns_answer_fuzz).
bool IsEscaped(const char* name) {
  return name && std::string_view(name).find('\\') != std::string_view::npos;
}

}  // namespace

int ParseMXAnswer(const std::string& answer, std::vector<MX>* out) {
  ares_mx_reply* reply = nullptr;
  int status = ares_parse_mx_reply(Bytes(answer),
                                   static_cast<int>(answer.size()), &reply);
  if (status != ARES_SUCCESS) return status;
  for (auto* r = reply; r; r = r->next) {
    if (IsEscaped(r->host)) continue;
    out->push_back(MX{WithoutTrailingDot(r->host), r->priority});
  }
  ares_free_data(reply);
  return ARES_SUCCESS;
}

int ParseTXTAnswer(const std::string& answer, std::vector<std::string>* out) {
  ares_txt_ext* reply = nullptr;
  int status = ares_parse_txt_reply_ext(
      Bytes(answer), static_cast<int>(answer.size()), &reply);
  if (status != ARES_SUCCESS) return status;
  // c-ares lists every string; record_start marks the first one of each
  // record, whose strings are joined (RFC 7208 §3.3).
  std::vector<std::string> txts;
  for (auto* r = reply; r; r = r->next) {
    std::string part(reinterpret_cast<char*>(r->txt), r->length);
    if (r->record_start || txts.empty()) {
      txts.push_back(std::move(part));
    } else {
      txts.back() += part;
    }
  }
  ares_free_data(reply);
  for (auto& t : txts) out->push_back(std::move(t));
  return ARES_SUCCESS;
}

int ParseAddrAnswer(const std::string& answer, int family,
                    std::vector<std::string>* out) {
  char text[INET6_ADDRSTRLEN];
  int n = 64;
  if (family == AF_INET) {
    ares_addrttl addrs[64];
    int rc = ares_parse_a_reply(Bytes(answer), static_cast<int>(answer.size()),
                                nullptr, addrs, &n);
    if (rc != ARES_SUCCESS) return rc;
    for (int i = 0; i < n; i++) {
      if (inet_ntop(AF_INET, &addrs[i].ipaddr, text, sizeof(text))) {
        out->push_back(text);
      }
    }
    return ARES_SUCCESS;
  }
  ares_addr6ttl addrs[64];
  int rc = ares_parse_aaaa_reply(Bytes(answer), static_cast<int>(answer.size()),
                                 nullptr, addrs, &n);
  if (rc != ARES_SUCCESS) return rc;
  for (int i = 0; i < n; i++) {
    if (inet_ntop(AF_INET6, &addrs[i].ip6addr, text, sizeof(text))) {
      out->push_back(text);
    }
  }
  return ARES_SUCCESS;
}

int ParsePTRAnswer(const std::string& ip, const std::string& answer,
                   std::vector<std::string>* out) {
  unsigned char addr[sizeof(in6_addr)];
  int family = AF_INET, len = sizeof(in_addr);
  if (inet_pton(AF_INET, ip.c_str(), addr) != 1) {
    if (inet_pton(AF_INET6, ip.c_str(), addr) != 1) return ARES_EBADNAME;
    family = AF_INET6;
    len = sizeof(in6_addr);
  }
  hostent* host = nullptr;
  int rc = ares_parse_ptr_reply(Bytes(answer), static_cast<int>(answer.size()),
                                addr, len, family, &host);
  if (rc != ARES_SUCCESS) return rc;
  // ares_parse_ptr_reply lists every PTR name in h_aliases (h_name is only
  // the last one).
  for (char** a = host->h_aliases; a && *a; a++) {
    if (IsEscaped(*a)) continue;
    std::string n = WithoutTrailingDot(*a);
    if (!n.empty()) out->push_back(n);
  }
  ares_free_hostent(host);
  return ARES_SUCCESS;
}

}  // namespace chasquid::dns
