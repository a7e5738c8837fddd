// Verification and Authentication-Results.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>

#include <optional>

#include "base/async.h"
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

// One DKIM-Signature header being verified.
struct Candidate {
  size_t index;  // In the message's headers.
  SignatureResult res;
  std::optional<Signature> sig;  // Unset when the header did not parse.
  std::unique_ptr<internal::BodyHash> hash;  // With sig.
};

class Verifier {
 public:
  Verifier(dns::Resolver& r, const Message& m, nettrace::Trace* tr)
      : r_(r), m_(m), tr_(tr) {}

  // The rest of the verification once the body hash is known.
  net::awaitable<SignatureResult> Verify(size_t index, Signature sig,
                                         SignatureResult res,
                                         std::string body_hash,
                                         uint64_t body_size);

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

net::awaitable<SignatureResult> Verifier::Verify(size_t index, Signature sig,
                                                 SignatureResult res,
                                                 std::string bh,
                                                 uint64_t body_size) {
  const Header& h = m_.headers[index];
  // chasquid panics when l= is larger than the body; RFC 6376 §3.5 makes
  // such a signature fail.
  if (sig.length && *sig.length > body_size) {
    co_return Fail(res, "body hash mismatch (l= larger than the body)");
  }
  if (bh != sig.bh) {
    co_return Fail(res, "body hash mismatch (got " + Base64Encode(bh) + ")");
  }

  // Key lookup.
  std::string name = sig.selector + "._domainkey." + sig.domain;
  if (!IsASCII(name)) co_return Fail(res, "lookup " + name + ": no such host");
  auto lookup = r_.LookupTXT(name);
  auto txts = co_await std::move(lookup);
  if (!txts.ok()) {
    res.state = txts.status().transient() ? State::kTempFail : State::kPermFail;
    res.error = txts.status().message();
    co_return res;
  }

  std::string data =
      internal::SelectedHeaders(m_, sig.headers, sig.header_canon, index);
  std::string stripped = RemoveBValue(h.value);
  data += sig.header_canon == Canon::kRelaxed ? RelaxedHeader(h.name, stripped)
                                              : h.name + ":" + stripped;

  std::string idom;
  if (!sig.identity.empty()) {
    idom = AsciiToLower(sig.identity.substr(sig.identity.rfind('@') + 1));
  }
  for (const std::string& txt : *txts) {
    auto rec = ParseKeyRecord(txt);
    if (!rec.ok()) {
      if (tr_) tr_->Debugf("skipping key record: " + rec.status().message());
      continue;
    }
    if (rec->key_type != sig.key_type) continue;
    // RFC 6376 §3.6.1: a key restricted to other hashes is not usable.
    if (!rec->hashes.empty() &&
        std::find(rec->hashes.begin(), rec->hashes.end(), "sha256") ==
            rec->hashes.end()) {
      continue;
    }
    if (rec->strict && !idom.empty() && idom != AsciiToLower(sig.domain)) {
      continue;
    }
    internal::PKey key = PublicKey(*rec);
    if (!key) continue;
    if (internal::VerifyData(key.get(), data, sig.b)) {
      res.state = State::kSuccess;
      res.error.clear();
      co_return res;
    }
  }
  co_return Fail(res, "verification failed");
}

// Verifies a parsed message whose body is m.body followed by what `rest`
// streams (internal form, made CRLF after `prev`, the byte before it);
// `rest` may be empty. The body is read and hashed on `blocking` if set.
net::awaitable<Result<VerifyResult>> VerifyParsed(dns::Resolver& resolver,
                                                  Message m, ChunkReader rest,
                                                  char prev,
                                                  nettrace::Trace* trp,
                                                  net::thread_pool* blocking) {
  // The signatures first (at most 5), so that the body is read once for
  // all of their hashes.
  std::vector<Candidate> cands;
  for (size_t i = 0; i < m.headers.size() && cands.size() < kMaxSignatures;
       ++i) {
    if (AsciiToLower(m.headers[i].name) != "dkim-signature") continue;
    Candidate c;
    c.index = i;
    const Header& h = m.headers[i];
    if (auto tags = ParseTags(h.value); tags.ok()) {
      c.res.domain = (*tags)["d"];
      c.res.selector = (*tags)["s"];
    }
    auto sig = ParseSignature(h.value);
    if (!sig.ok()) {
      c.res.state = State::kPermFail;
      c.res.error = sig.status().message();
    } else {
      c.res.b = sig->b64;
      c.hash =
          std::make_unique<internal::BodyHash>(sig->body_canon, sig->length);
      c.sig = std::move(*sig);
    }
    cands.push_back(std::move(c));
  }

  bool hashing = false;
  for (const Candidate& c : cands) hashing = hashing || c.hash;
  if (hashing) {
    // Touches only this frame's hashes, the body and `rest`; on the pool,
    // this coroutine stays suspended (and its frame alive) until it is
    // done, and the result is posted back, which orders the hashes'
    // writes before the reads below.
    auto hash_body = [&cands, &m, &rest, prev]() -> Status {
      for (Candidate& c : cands) {
        if (c.hash) c.hash->Write(m.body);
      }
      if (rest) {
        internal::CrlfPieces crlf(prev);
        Status read = rest([&](std::string_view piece) {
          std::string_view p = crlf.Convert(piece);
          for (Candidate& c : cands) {
            if (c.hash) c.hash->Write(p);
          }
          return Status::Ok();
        });
        if (!read.ok()) return read;
      }
      for (Candidate& c : cands) {
        if (c.hash) c.hash->Finish();
      }
      return Status::Ok();
    };
    Status read;
    if (blocking && rest) {
      read = co_await RunBlocking(*blocking, std::move(hash_body));
    } else {
      read = hash_body();
    }
    if (!read.ok()) {
      if (trp) trp->Error("reading the body: " + read.message());
      co_return read;
    }
  }
  m.body.clear();

  VerifyResult out;
  Verifier v(resolver, m, trp);
  for (Candidate& c : cands) {
    ++out.found;
    SignatureResult r = c.res;
    if (c.sig) {
      auto verifying = v.Verify(c.index, std::move(*c.sig), std::move(c.res),
                                c.hash->digest(), c.hash->size());
      r = co_await std::move(verifying);
    }
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
  crlf_message = std::string();
  auto verifying =
      VerifyParsed(resolver, std::move(*msg), nullptr, '\n', trp, nullptr);
  co_return co_await std::move(verifying);
}

net::awaitable<Result<VerifyResult>> VerifyMessageStream(
    dns::Resolver& resolver, std::string head, ChunkReader rest,
    nettrace::Trace* parent, std::string trace_title, nettrace::Trace* trace,
    net::thread_pool* blocking) {
  std::optional<nettrace::Trace> tr;
  if (parent) tr.emplace(parent->NewChild("DKIM.Verify", trace_title));
  nettrace::Trace* trp = tr ? &*tr : trace;

  // The headers end inside `head`: what of the body is there is parsed
  // with them, the rest streams.
  auto msg = ParseMessage(ToCRLF(head));
  if (!msg.ok()) {
    if (trp) trp->Error("parsing message: " + msg.status().message());
    co_return msg.status();
  }
  char prev = head.empty() ? '\n' : head.back();
  head = std::string();
  auto verifying = VerifyParsed(resolver, std::move(*msg), std::move(rest),
                                prev, trp, blocking);
  co_return co_await std::move(verifying);
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
