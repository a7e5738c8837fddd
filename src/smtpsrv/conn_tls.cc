// TLS for a connection: STARTTLS, the implicit-TLS
// handshake (§2 step 2), and reads/writes over whichever layer is active.
#include <tuple>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "smtpsrv/conn.h"
#include "smtpsrv/tls.h"
#include "smtpsrv/vars.h"

namespace chasquid::smtpsrv {

namespace {
constexpr auto kTuple = net::as_tuple(net::use_awaitable);
}  // namespace

net::awaitable<std::tuple<boost::system::error_code, size_t>> Conn::ReadOp(
    net::mutable_buffer buf) {
  if (tls_) return tls_->async_read_some(buf, kTuple);
  return sock_.async_read_some(buf, kTuple);
}

net::awaitable<boost::system::error_code> Conn::ReadSome(size_t max) {
  size_t old = inbuf_.size();
  inbuf_.resize(old + max);
  auto [ec, n] = co_await ReadOp(net::buffer(inbuf_.data() + old, max));
  inbuf_.resize(old + n);
  co_return ec;
}

net::awaitable<boost::system::error_code> Conn::WriteRaw(std::string data) {
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) =
        co_await net::async_write(*tls_, net::buffer(data), kTuple);
  } else {
    std::tie(ec, std::ignore) =
        co_await net::async_write(sock_, net::buffer(data), kTuple);
  }
  co_return ec;
}

net::awaitable<Status> Conn::Handshake() {
  std::shared_ptr<TlsContext> snapshot = deps_.tls ? deps_.tls->Get() : nullptr;
  if (!snapshot) co_return Status::Permanent("no TLS configuration");
  MutableSession().tls_ctx = snapshot;
  tls_ =
      std::make_unique<ssl::stream<tcp::socket&>>(sock_, snapshot->context());
  auto [ec] = co_await tls_->async_handshake(ssl::stream_base::server, kTuple);
  if (ec) {
    // The TLS layer is unusable; what follows (if anything) is plaintext.
    tls_.reset();
    if (io_deadline_.Fired()) co_return Status::Transient("i/o timeout");
    co_return Status::Permanent(TlsErrorText(ec));
  }
  AdoptTlsState();
  co_return Status::Ok();
}

void Conn::AdoptTlsState() {
  on_tls_ = true;
  SSL* ssl = tls_->native_handle();
  MutableSession().tls_version = TlsVersionName(SSL_version(ssl));
  // OpenSSL's names ("TLSv1.3"), the same as for outgoing sessions.
  GetVars().tls_versions->Add(SSL_get_version(ssl));
  MutableSession().tls_cipher = TlsCipherName(SSL_get_current_cipher(ssl));
  // The client's SNI name replaces the configured hostname for the rest of
  // the connection (greeting, EHLO, Received "by").
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (sni && *sni) hostname_ = sni;
}

net::awaitable<Conn::Reply> Conn::StartTls() {
  if (on_tls_) co_return Reply{503, "5.5.1 You are already wearing that!"};
  std::string ready = "2.0.0 You experience a strange sense of peace";
  Status s = co_await WriteReply(220, std::move(ready));
  if (!s.ok()) co_return Reply{-1, "error writing STARTTLS reply"};

  // Discard whatever the client pipelined after STARTTLS: it arrived in
  // plaintext and must never be read as if it came over TLS
  // (CVE-2011-0411 and friends).
  inbuf_.clear();
  inbuf_.shrink_to_fit();

  task_.SetState("TLS handshake");
  s = co_await Handshake();
  if (!s.ok()) {
    // Nothing useful can follow a failed handshake, and its read may have
    // taken the client's EOF: reading again would wait for an edge that
    // already came, holding the connection until the command timeout
    // (found by session_fuzz). Go's chasquid ends here too, on its next
    // read of the broken TLS connection.
    close_after_reply_ = true;
    co_return Reply{554, "5.5.0 Error in TLS handshake: " + s.message()};
  }
  // Everything before STARTTLS is forgotten (RFC 3207 §4.2), except the
  // EHLO domain; AUTH cannot have happened in plaintext.
  ResetEnvelope();
  tr_.Debugf("<> ...  jump to TLS was successful");
  co_return Reply{};
}

}  // namespace chasquid::smtpsrv
