#include "dovecot/dovecot.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/strings.h"
#include "base/utf8.h"
#include "normalize/utf8.h"

namespace chasquid::dovecot {

namespace {

using Clock = std::chrono::steady_clock;

const char* const kUserdbDefaults[] = {"/var/run/dovecot/auth-chasquid-userdb",
                                       "/var/run/dovecot/auth-userdb"};
const char* const kClientDefaults[] = {"/var/run/dovecot/auth-chasquid-client",
                                       "/var/run/dovecot/auth-client"};

std::string Base64(const std::string& in) {
  static const char* t =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += t[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// A line-oriented unix stream connection with one deadline for the whole
// exchange, like Go's textproto.Conn after SetDeadline.
class LineConn {
 public:
  ~LineConn() {
    if (fd_ >= 0) close(fd_);
  }

  Status Dial(const std::string& path, std::chrono::milliseconds timeout) {
    path_ = path;
    deadline_ = Clock::now() + timeout;
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) return DialError(errno);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) return DialError(EINVAL);
    memcpy(addr.sun_path, path.data(), path.size());
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      if (errno != EINPROGRESS && errno != EAGAIN) return DialError(errno);
      if (!Wait(POLLOUT))
        return Status::Transient("dial unix " + path + ": i/o timeout");
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return DialError(err);
    }
    return Status::Ok();
  }

  Status Write(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          if (!Wait(POLLOUT)) return Timeout("write");
          continue;
        }
        return Status::Transient("write unix ->" + path_ + ": " +
                                 ErrnoText(errno));
      }
      off += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  // One line without its "\n" (and "\r"). EOF with nothing read: "EOF".
  Result<std::string> ReadLine() {
    while (true) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      if (buf_.size() > 65536) return Status::Transient("line too long");
      char tmp[4096];
      ssize_t n = recv(fd_, tmp, sizeof(tmp), 0);
      if (n > 0) {
        buf_.append(tmp, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        if (buf_.empty()) return Status::Transient("EOF");
        std::string line = std::move(buf_);
        buf_.clear();
        return line;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        if (!Wait(POLLIN)) return Timeout("read");
        continue;
      }
      return Status::Transient("read unix ->" + path_ + ": " +
                               ErrnoText(errno));
    }
  }

 private:
  Status DialError(int err) {
    return Status::Transient("dial unix " + path_ +
                             ": connect: " + ErrnoText(err));
  }
  Status Timeout(const char* op) {
    return Status::Transient(std::string(op) + " unix ->" + path_ +
                             ": i/o timeout");
  }
  bool Wait(short events) {
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline_ - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, events, 0};
      int r = poll(&p, 1, static_cast<int>(left.count()));
      if (r > 0) return true;
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) return false;
      return false;
    }
  }

  int fd_ = -1;
  std::string path_;
  std::string buf_;
  Clock::time_point deadline_;
};

// Read one line; it must start with `prefix`, else `got "<line>"`.
Status Expect(LineConn& c, const std::string& prefix) {
  auto line = c.ReadLine();
  if (!line.ok()) return line.status();
  if (!HasPrefix(*line, prefix)) {
    return Status::Transient("got " + GoQuote(*line));
  }
  return Status::Ok();
}

bool SocketAccepts(const std::string& path) {
  LineConn c;
  return c.Dial(path, std::chrono::milliseconds(5000)).ok();
}

}  // namespace

bool IsUsernameSafe(const std::string& user) {
  for (char32_t r : normalize::DecodeUtf8Lossy(user)) {
    if (IsUnicodeSpace(static_cast<int32_t>(r))) return false;
  }
  return true;
}

Auth::Auth(std::string userdb_path, std::string client_path)
    : userdb_(std::move(userdb_path)), client_(std::move(client_path)) {}

std::string Auth::String() const {
  std::lock_guard<std::mutex> l(mu_);
  return "DovecotAuth(" + GoQuote(userdb_) + ", " + GoQuote(client_) + ")";
}

std::pair<std::string, std::string> Auth::Addrs() {
  std::lock_guard<std::mutex> l(mu_);
  if (userdb_.empty()) {
    for (const char* p : kUserdbDefaults) {
      if (SocketAccepts(p)) {
        userdb_ = p;
        break;
      }
    }
  }
  if (client_.empty()) {
    for (const char* p : kClientDefaults) {
      if (SocketAccepts(p)) {
        client_ = p;
        break;
      }
    }
  }
  return {userdb_, client_};
}

Status Auth::Check() {
  auto [userdb, client] = Addrs();
  if (userdb.empty()) return Status::Transient("unable to find userdb socket");
  LineConn u;
  if (Status s = u.Dial(userdb, timeout_); !s.ok()) return s;
  if (client.empty()) return Status::Transient("unable to find client socket");
  LineConn c;
  return c.Dial(client, timeout_);
}

Result<bool> Auth::Exists(const std::string& user) {
  if (!IsUsernameSafe(user)) {
    return Status::Transient("username not safe (contains spaces)");
  }
  std::string userdb = Addrs().first;
  if (userdb.empty()) return Status::Transient("unable to find userdb socket");
  LineConn c;
  if (Status s = c.Dial(userdb, timeout_); !s.ok()) return s;
  if (Status s = Expect(c, "VERSION\t1"); !s.ok()) {
    return s.Prefixed("error receiving version: ");
  }
  if (Status s = Expect(c, "SPID\t"); !s.ok()) {
    return s.Prefixed("error receiving SPID: ");
  }
  if (Status s = c.Write("VERSION\t1\t1\n"); !s.ok()) {
    return s.Prefixed("error sending version: ");
  }
  if (Status s = c.Write("USER\t1\t" + user + "\tservice=smtp\n"); !s.ok()) {
    return s.Prefixed("error sending user request: ");
  }
  auto resp = c.ReadLine();
  if (!resp.ok()) return resp.status().Prefixed("error receiving response: ");
  if (HasPrefix(*resp, "USER\t1\t")) return true;
  if (HasPrefix(*resp, "NOTFOUND\t")) return false;
  return Status::Transient("invalid response: " + GoQuote(*resp));
}

Result<bool> Auth::Authenticate(const std::string& user,
                                const std::string& password) {
  if (!IsUsernameSafe(user)) {
    return Status::Transient("username not safe (contains spaces)");
  }
  std::string client = Addrs().second;
  if (client.empty()) return Status::Transient("unable to find client socket");
  LineConn c;
  if (Status s = c.Dial(client, timeout_); !s.ok()) return s;
  if (Status s =
          c.Write("VERSION\t1\t1\nCPID\t" + std::to_string(getpid()) + "\n");
      !s.ok()) {
    return s.Prefixed("error sending version: ");
  }
  // The server handshake (mechanisms etc.) does not matter: PLAIN is all
  // we use. Read until DONE.
  while (true) {
    auto line = c.ReadLine();
    if (!line.ok()) {
      return line.status().Prefixed("error receiving handshake: ");
    }
    if (*line == "DONE") break;
  }
  // "secured": chasquid only takes passwords over TLS, by design.
  std::string resp = Base64(user + '\0' + user + '\0' + password);
  if (Status s = c.Write("AUTH\t1\tPLAIN\tservice=smtp\tsecured\tno-penalty\t"
                         "nologin\tresp=" +
                         resp + "\n");
      !s.ok()) {
    return s.Prefixed("error sending request: ");
  }
  auto line = c.ReadLine();
  if (!line.ok()) return line.status().Prefixed("error receiving response: ");
  if (HasPrefix(*line, "OK\t1")) return true;
  if (HasPrefix(*line, "FAIL\t1")) return false;
  return Status::Transient("invalid response: " + GoQuote(*line));
}

}  // namespace chasquid::dovecot
