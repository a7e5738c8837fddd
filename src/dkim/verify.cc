// Verification and Authentication-Results.
#include <openssl/x509.h>

#include <optional>

#include "base/strings.h"
#include "dkim/dkim.h"
#include "dkim/internal.h"
#include "nettrace/trace.h"

namespace chasquid::dkim {

namespace {

constexpr int kMaxSignatures = 5;

// The public key of a key record, or nullptr if unusable.
internal::PKey PublicKey(const KeyRecord& k) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(k.p.data());
  long len = static_cast<long>(k.p.size());
  if (k.key_type == "ed25519") {
    return internal::PKey(
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, p, k.p.size()));
  }
  // SubjectPublicKeyInfo (RFC 6376 §3.6.1), or a bare PKCS#1 RSAPublicKey
  // as some publishers use.
  internal::PKey key(d2i_PUBKEY(nullptr, &p, len));
  if (!key) {
    p = reinterpret_cast<const unsigned char*>(k.p.data());
    key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, len));
  }
  // RFC 8301: RSA keys below 1024 bits are refused.
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA ||
      EVP_PKEY_get_bits(key.get()) < 1024) {
    return nullptr;
  }
  return key;
}

bool IsASCII(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

class Verifier {
 public:
  Verifier(dns::Resolver& r, const Message& m, nettrace::Trace* tr)
      : r_(r), m_(m), tr_(tr) {}

  net::awaitable<SignatureResult> Verify(size_t index);

 private:
  SignatureResult Fail(SignatureResult r, std::string err) {
    r.state = State::kPermFail;
    r.error = std::move(err);
    return r;
  }

  dns::Resolver& r_;
  const Message& m_;
  nettrace::Trace* tr_;
};

net::awaitable<SignatureResult> Verifier::Verify(size_t index) {
  const Header& h = m_.headers[index];
  SignatureResult res;
  if (auto tags = ParseTags(h.value); tags.ok()) {
    res.domain = (*tags)["d"];
    res.selector = (*tags)["s"];
  }
  auto sig = ParseSignature(h.value);
  if (!sig.ok()) co_return Fail(res, sig.status().message());
  res.b = sig->b64;

  // Body hash (RFC 6376 §3.7).
  std::string body = sig->body_canon == Canon::kRelaxed ? RelaxedBody(m_.body)
                                                        : SimpleBody(m_.body);
  if (sig->length) {
    // chasquid panics here when l= is larger than the body; RFC 6376 §3.5
    // makes such a signature fail.
    if (*sig->length > body.size()) {
      co_return Fail(res, "body hash mismatch (l= larger than the body)");
    }
    body.resize(*sig->length);
  }
  std::string bh = internal::Sha256(body);
  if (bh != sig->bh) {
    co_return Fail(res, "body hash mismatch (got " + Base64Encode(bh) + ")");
  }

  // Key lookup.
  std::string name = sig->selector + "._domainkey." + sig->domain;
  if (!IsASCII(name)) co_return Fail(res, "lookup " + name + ": no such host");
  auto txts = co_await r_.LookupTXT(name);
  if (!txts.ok()) {
    res.state = txts.status().transient() ? State::kTempFail : State::kPermFail;
    res.error = txts.status().message();
    co_return res;
  }

  std::string data =
      internal::SelectedHeaders(m_, sig->headers, sig->header_canon, index);
  std::string stripped = RemoveBValue(h.value);
  data += sig->header_canon == Canon::kRelaxed ? RelaxedHeader(h.name, stripped)
                                               : h.name + ":" + stripped;

  std::string idom;
  if (!sig->identity.empty()) {
    idom = AsciiToLower(sig->identity.substr(sig->identity.rfind('@') + 1));
  }
  for (const std::string& txt : *txts) {
    auto rec = ParseKeyRecord(txt);
    if (!rec.ok()) {
      if (tr_) tr_->Debugf("skipping key record: " + rec.status().message());
      continue;
    }
    if (rec->key_type != sig->key_type) continue;
    // RFC 6376 §3.6.1: a key restricted to other hashes is not usable.
    if (!rec->hashes.empty() &&
        std::find(rec->hashes.begin(), rec->hashes.end(), "sha256") ==
            rec->hashes.end()) {
      continue;
    }
    if (rec->strict && !idom.empty() && idom != AsciiToLower(sig->domain)) {
      continue;
    }
    internal::PKey key = PublicKey(*rec);
    if (!key) continue;
    if (internal::VerifyData(key.get(), data, sig->b)) {
      res.state = State::kSuccess;
      res.error.clear();
      co_return res;
    }
  }
  co_return Fail(res, "verification failed");
}

}  // namespace

net::awaitable<Result<VerifyResult>> VerifyMessage(dns::Resolver& resolver,
                                                   std::string crlf_message,
                                                   nettrace::Trace* parent,
                                                   std::string trace_title,
                                                   nettrace::Trace* trace) {
  std::optional<nettrace::Trace> tr;
  if (parent) tr.emplace(parent->NewChild("DKIM.Verify", trace_title));
  nettrace::Trace* trp = tr ? &*tr : trace;

  auto msg = ParseMessage(crlf_message);
  if (!msg.ok()) {
    if (trp) trp->Error("parsing message: " + msg.status().message());
    co_return msg.status();
  }
  VerifyResult out;
  Verifier v(resolver, *msg, trp);
  for (size_t i = 0; i < msg->headers.size() && out.found < kMaxSignatures;
       ++i) {
    if (AsciiToLower(msg->headers[i].name) != "dkim-signature") continue;
    ++out.found;
    SignatureResult r = co_await v.Verify(i);
    if (r.state == State::kSuccess) ++out.valid;
    if (trp) {
      trp->Debugf("signature d=" + r.domain + " s=" + r.selector + ": " +
                  (r.state == State::kSuccess ? "valid" : r.error));
    }
    out.results.push_back(std::move(r));
  }
  if (trp) {
    trp->Printf("Found " + std::to_string(out.found) + " signatures, " +
                std::to_string(out.valid) + " valid");
  }
  co_return out;
}

std::string AuthenticationResultsDKIM(const VerifyResult& r) {
  if (r.results.empty()) return ";dkim=none";
  std::string out;
  for (const SignatureResult& s : r.results) {
    if (!out.empty()) out += "\r\n";
    std::string ids;
    if (!s.b.empty()) ids += "  header.b=" + s.b.substr(0, 12);
    ids += "  header.d=" + s.domain;
    if (s.state == State::kSuccess) {
      out += ";dkim=pass" + ids;
      continue;
    }
    std::string kind = "permerror";
    if (s.state == State::kTempFail) {
      kind = "temperror";
    } else if (s.error == "verification failed" ||
               HasPrefix(s.error, "body hash mismatch")) {
      kind = "fail";
    }
    out += ";dkim=" + kind + "  reason=" + GoQuote(s.error) + "\r\n" + ids;
  }
  return out;
}

std::string AuthenticationResultsHeaderLF(
    const std::string& hostname, const std::optional<std::string>& spf,
    const std::optional<VerifyResult>& dkim) {
  if (!spf && !dkim) return "";
  std::string v = hostname + "\r\n";
  if (spf) v += ";spf=" + *spf + "\r\n";
  if (dkim) v += AuthenticationResultsDKIM(*dkim);
  std::string_view t = TrimSpace(v);
  std::string out = "Authentication-Results: ";
  for (size_t i = 0; i < t.size(); ++i) {
    if (t.compare(i, 2, "\r\n") == 0) {
      out += "\n\t";
      ++i;
    } else {
      out += t[i];
    }
  }
  return out + "\n";
}

}  // namespace chasquid::dkim
