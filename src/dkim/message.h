// DKIM (RFC 6376, RFC 8463): the DNS- and crypto-free half. Message parsing
// into headers and body, canonicalization, tag lists, DKIM-Signature header
// validation and key record parsing, and base64 with Go's error texts.
//
// This is the small library (chasquid_dkim_parse) the fuzzers link; signing
// and verifying are in dkim.h. Behaviour follows RFC 6376 §3-§6; where
// chasquid deviates from the RFC on crypto-only points (duplicate headers,
// blank-only bodies, l= overflow, b= stripping) we follow the RFC: no
// client can tell, and the RFC's answer is the interoperable one.
//
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/strings.h"

namespace chasquid::dkim {

// One header field: name verbatim (including trailing WSP, if any), value
// verbatim (leading WSP and folding CRLFs kept). raw = name ":" value.
struct Header {
  std::string name;
  std::string value;
  std::string raw;
};

struct Message {
  std::vector<Header> headers;  // Top to bottom.
  std::string body;             // After the empty line, CRLF line ends.
};

// Every LF not preceded by CR gets one (the internal form is LF);
// base/strings.h.
using ::chasquid::ToCRLF;

// Splits a CRLF message. Errors: "invalid header: bad
// continuation", "invalid header: no colon".
Result<Message> ParseMessage(std::string_view crlf);

// Canonicalization (RFC 6376 §3.4). Header results have no trailing CRLF.
std::string RelaxedHeader(std::string_view name, std::string_view value);
std::string SimpleHeader(const Header& h);
std::string RelaxedBody(std::string_view body);
std::string SimpleBody(std::string_view body);

// Base64, standard alphabet, padded. Decode errors are Go's:
// "illegal base64 data at input byte <n>".
std::string Base64Encode(std::string_view data);
Result<std::string> Base64Decode(std::string_view b64);

// A tag list (RFC 6376 §3.2) in order, names and values trimmed. Errors:
// "invalid tag: missing '='", "invalid tag: missing tag name",
// "invalid tag: duplicate tag".
using Tags = std::map<std::string, std::string>;
Result<Tags> ParseTags(std::string_view s);

// Removes SP, TAB, CR and LF (for b=, bh=, h=, p=, ...).
std::string StripWhitespace(std::string_view s);

enum class Canon { kSimple, kRelaxed };

// The body canonicalizations above for a body given in pieces, so that a
// large body is never whole in memory: the bytes handed to `sink`, in
// order, over every Write and the Finish, are RelaxedBody / SimpleBody of
// the pieces joined. The sink gets at most 64 KiB at a time; a run of
// empty lines is held back as a count (they are dropped if nothing but
// empty lines follows), never as bytes.
class BodyCanonicalizer {
 public:
  using Sink = std::function<void(std::string_view)>;
  BodyCanonicalizer(Canon c, Sink sink);
  // A piece of the CRLF body.
  void Write(std::string_view crlf);
  // The end of the body: flushes what is held. Call once.
  void Finish();

 private:
  void Content(char c);
  void Put(char c) {
    buf_ += c;
    if (buf_.size() >= kFlush) Flush();
  }
  void Flush();
  static constexpr size_t kFlush = 64 * 1024;
  Canon canon_;
  Sink sink_;
  std::string buf_;
  bool cr_ = false;     // A CR was last: the start of a CRLF or not.
  bool space_ = false;  // Relaxed: WSP since the last byte put on the line.
  uint64_t crlfs_ = 0;  // Line ends not put yet.
  bool any_ = false;    // Relaxed: any byte but line ends put.
};

// A validated DKIM-Signature header.
struct Signature {
  std::string algorithm;  // "rsa-sha256" / "ed25519-sha256".
  std::string key_type;   // "rsa" / "ed25519".
  std::string b;          // Decoded signature.
  std::string b64;        // b= without whitespace.
  std::string bh;         // Decoded body hash.
  Canon header_canon = Canon::kSimple, body_canon = Canon::kSimple;
  std::string domain, selector;
  std::vector<std::string> headers;  // h=, as written.
  std::optional<uint64_t> length;    // l=
  std::string identity;              // i=
};

// Validates the value of a DKIM-Signature header. Errors are chasquid's
// texts (e.g. "missing required tag: b=").
Result<Signature> ParseSignature(std::string_view value);

// A parsed key record. p is the decoded key data.
struct KeyRecord {
  std::string key_type = "rsa";
  std::vector<std::string> hashes;  // Known hashes of h=; empty = any.
  std::string p;
  bool strict = false;  // t=s
};

// Parses a DKIM key TXT record; an error means the record is skipped
// (including a revoked key, empty p=).
Result<KeyRecord> ParseKeyRecord(std::string_view txt);

// The value of a DKIM-Signature header with the value of its b= tag
// removed (RFC 6376 §3.7; only the b tag, not "bh").
std::string RemoveBValue(std::string_view value);

}  // namespace chasquid::dkim
