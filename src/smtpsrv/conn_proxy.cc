// The HAProxy PROXY header at the start of a connection (haproxy.h):
// version 1 or 2, told apart by v2's signature. Every read is bounded.
#include "haproxy/haproxy.h"
#include "smtpsrv/conn.h"

namespace chasquid::smtpsrv {

namespace {

// The PROXY v1 line is at most 107 bytes; this cap only bounds a peer
// that never sends "\n" (chasquid reads without a limit).
constexpr size_t kMaxProxyLine = 4096;
constexpr size_t kProxyReadChunk = 512;

}  // namespace

net::awaitable<Result<haproxy::Endpoints>> Conn::ReadProxyHeader() {
  // Enough bytes to tell the versions apart: v1 starts "PROXY ", which
  // leaves v2's signature at the first byte.
  while (inbuf_.size() < haproxy::kV2Signature.size() &&
         haproxy::MaybeV2(inbuf_)) {
    auto ec = co_await ReadSome(kProxyReadChunk);
    if (ec) co_return Status::Transient(ReadErrorText(ec));
  }
  if (haproxy::MaybeV2(inbuf_)) {
    while (inbuf_.size() < haproxy::kV2FixedSize) {
      auto ec = co_await ReadSome(kProxyReadChunk);
      if (ec) co_return Status::Transient(ReadErrorText(ec));
    }
    auto size = haproxy::V2Size(inbuf_);
    if (!size.ok()) co_return size.status();
    while (inbuf_.size() < *size) {
      auto ec = co_await ReadSome(*size - inbuf_.size());
      if (ec) co_return Status::Transient(ReadErrorText(ec));
    }
    auto ep = haproxy::ParseV2(std::string_view(inbuf_).substr(0, *size));
    // Bytes after the header stay buffered for the SMTP dialog.
    inbuf_.erase(0, *size);
    co_return ep;
  }
  size_t nl;
  while ((nl = inbuf_.find('\n')) == std::string::npos) {
    if (inbuf_.size() > kMaxProxyLine) {
      co_return Status::Permanent("line too long");
    }
    auto ec = co_await ReadSome(kProxyReadChunk);
    if (ec) co_return Status::Transient(ReadErrorText(ec));
  }
  auto ep = haproxy::Parse(std::string_view(inbuf_).substr(0, nl + 1));
  inbuf_.erase(0, nl + 1);
  co_return ep;
}

}  // namespace chasquid::smtpsrv
