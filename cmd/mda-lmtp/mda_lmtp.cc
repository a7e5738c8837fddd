// mda-lmtp: reads a message on stdin and delivers it to one recipient
// through an LMTP server, for use as
// mail_delivery_agent_bin. Exit codes: 0 delivered, 75 (EX_TEMPFAIL) any
// delivery problem (even a 5xx from the server: the queue retries and
// the operator notices), 2 usage errors. Messages go to stdout, one line
// each, so the daemon's "MDA delivery failed" error carries them.
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "base/goflag.h"
#include "base/strings.h"
#include "base/textproto.h"
#include "normalize/punycode.h"

namespace chasquid::mdalmtp {
namespace {

constexpr int kTempFail = 75;
constexpr int kUsage = 2;

const std::vector<goflag::Flag> kFlags = {
    {"addr", goflag::Kind::kString, "LMTP server address to connect to", ""},
    {"addr_network", goflag::Kind::kString,
     "network of the LMTP address (e.g. unix or tcp)", ""},
    {"d", goflag::Kind::kString, "Recipient", ""},
    {"f", goflag::Kind::kString, "Envelope sender", ""},
    {"to_puny", goflag::Kind::kBool, "Encode addresses using punycode",
     "false"},
};

[[noreturn]] void Fail(int code, const std::string& msg) {
  printf("%s\n", msg.c_str());
  fflush(stdout);
  exit(code);
}

struct Flags {
  std::string from, rcpt, addr, network;
  bool to_puny = false;
};

Flags ParseFlags(int argc, char** argv) {
  goflag::Outcome o = goflag::Check(argc, argv, kFlags);
  if (o.what != goflag::Outcome::kOk) goflag::Fail(o, argv[0], kFlags);
  Flags f;
  f.from = o.values["f"];
  f.rcpt = o.values["d"];
  f.addr = o.values["addr"];
  f.network = o.values["addr_network"];
  f.to_puny = o.values["to_puny"] == "true";
  return f;
}

// The whole string as a domain name: labels with non-ASCII are
// punycoded; "xn--" labels must decode.
Result<std::string> ToPuny(const std::string& s) {
  std::string out;
  for (const auto& label : Split(s, ".")) {
    std::string enc = label;
    bool ascii = true;
    for (unsigned char c : label) ascii = ascii && c < 0x80;
    if (!ascii) {
      auto p = normalize::PunycodeEncode(label);
      if (!p.ok()) return p.status();
      enc = "xn--" + *p;
    } else if (HasPrefix(AsciiToLower(label), "xn--")) {
      auto d = normalize::PunycodeDecode(label.substr(4));
      if (!d.ok()) return d.status();
    }
    out += enc + ".";
  }
  if (!out.empty()) out.pop_back();
  return out;
}

// A reply as chasquid's mda-lmtp prints it (Go's textproto.Error): the
// code, then the text Go-quoted, lines of a multi-line reply joined with
// LF, e.g. `452 "Nananana"`.
std::string ReplyText(int code, const std::string& text) {
  return TextprotoError(code, text);
}

// Go's textproto DotWriter: bare LF becomes CRLF, lines starting with '.'
// get another '.', and Close() ends the last line (if unterminated) and
// writes ".\r\n". Like Go, empty input yields "\r\n.\r\n".
std::string DotStuff(const std::string& data) {
  enum { kBegin, kBeginLine, kCR, kData } state = kBegin;
  std::string out;
  out.reserve(data.size() + data.size() / 16 + 8);
  for (char ch : data) {
    if ((state == kBegin || state == kBeginLine) && ch == '.') out += '.';
    if (ch == '\r') {
      state = kCR;
    } else if (ch == '\n') {
      if (state != kCR) out += '\r';
      state = kBeginLine;
    } else {
      state = kData;
    }
    out += ch;
  }
  switch (state) {
    case kBegin:
    case kData:
      out += "\r\n";
      break;
    case kCR:
      out += "\n";
      break;
    case kBeginLine:
      break;
  }
  out += ".\r\n";
  return out;
}

class Conn {
 public:
  explicit Conn(int fd) : fd_(fd) {}
  ~Conn() { close(fd_); }
  bool Write(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = write(fd_, s.data() + off, s.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        err_ = std::string("write: ") + ErrnoText(errno);
        return false;
      }
      off += n;
    }
    return true;
  }
  // Reads one (possibly multi-line) reply; false on I/O error.
  bool ReadReply(int* code, std::string* text) {
    text->clear();
    for (;;) {
      std::string line;
      if (!ReadLine(&line)) return false;
      if (line.size() < 3) {
        err_ = "short response: " + line;
        return false;
      }
      *code = atoi(line.substr(0, 3).c_str());
      if (!text->empty()) *text += "\n";
      *text += line.size() > 4 ? line.substr(4) : "";
      if (line.size() < 4 || line[3] != '-') return true;
    }
  }
  // "<command>" reply must be `want`; else prints and exits 75.
  void Expect(const std::string& cmd, int want) {
    int code;
    std::string text;
    if (!cmd.empty() && !Write(cmd + "\r\n")) {
      Fail(kTempFail, "Sent " + GoQuote(cmd) + ", got " + err_);
    }
    if (!ReadReply(&code, &text)) {
      Fail(kTempFail, "Sent " + GoQuote(cmd) + ", got " + err_);
    }
    if (code != want) {
      Fail(kTempFail,
           "Sent " + GoQuote(cmd) + ", got " + ReplyText(code, text));
    }
  }
  const std::string& err() const { return err_; }

 private:
  bool ReadLine(std::string* line) {
    for (;;) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        *line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (!line->empty() && line->back() == '\r') line->pop_back();
        return true;
      }
      char tmp[4096];
      ssize_t n = read(fd_, tmp, sizeof(tmp));
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) {
        err_ = "EOF";
        return false;
      }
      if (n < 0) {
        err_ = std::string("read: ") + ErrnoText(errno);
        return false;
      }
      buf_.append(tmp, n);
    }
  }
  int fd_;
  std::string buf_, err_;
};

int Dial(const std::string& network, const std::string& addr,
         std::string* err) {
  if (network == "unix") {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      *err = "dial unix " + addr + ": socket: " + ErrnoText(errno);
      return -1;
    }
    struct sockaddr_un sa = {};
    if (addr.size() >= sizeof(sa.sun_path)) {  // Go: EINVAL, not truncation.
      *err = "dial unix " + addr + ": connect: " + ErrnoText(EINVAL);
      close(fd);
      return -1;
    }
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", addr.c_str());
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
      *err = "dial unix " + addr + ": connect: " + ErrnoText(errno);
      close(fd);
      return -1;
    }
    return fd;
  }
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) {
    *err = "dial " + network + " " + addr + ": address " + addr +
           ": missing port in address";
    return -1;
  }
  std::string host = addr.substr(0, colon), port = addr.substr(colon + 1);
  if (host.size() > 1 && host[0] == '[') host = host.substr(1, host.size() - 2);
  struct addrinfo hints = {}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    *err = "dial " + network + " " + addr + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (auto* ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    *err = "dial " + network + " " + addr + ": connect: " + ErrnoText(errno);
    if (fd >= 0) close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

int Main(int argc, char** argv) {
  // A server that hangs up mid-DATA must give "Error writing DATA" and
  // exit 75, not kill us with SIGPIPE (Go ignores SIGPIPE on sockets).
  signal(SIGPIPE, SIG_IGN);
  Flags f = ParseFlags(argc, argv);
  if (f.addr.empty()) Fail(kUsage, "No LMTP server address given (use --addr)");
  if (f.network.empty()) f.network = HasPrefix(f.addr, "/") ? "unix" : "tcp";
  if (f.to_puny) {
    auto from = ToPuny(f.from);
    if (!from.ok()) {
      Fail(kUsage, "cannot puny-encode from: " + from.status().message());
    }
    auto rcpt = ToPuny(f.rcpt);
    if (!rcpt.ok()) {
      Fail(kUsage, "cannot puny-encode recipient: " + rcpt.status().message());
    }
    f.from = *from;
    f.rcpt = *rcpt;
  }
  if (f.from == "<>") f.from = "";
  if (f.rcpt == "<>") f.rcpt = "";

  std::string err;
  int fd = Dial(f.network, f.addr, &err);
  if (fd < 0) {
    Fail(kTempFail,
         "Error connecting to (" + f.network + ", " + f.addr + "): " + err);
  }
  Conn c(fd);
  int code;
  std::string text;
  if (!c.ReadReply(&code, &text)) {
    Fail(kTempFail, "Server greeting error: " + c.err());
  }
  if (code != 220) {
    Fail(kTempFail, "Server greeting error: " + ReplyText(code, text));
  }
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) {
    Fail(kTempFail, std::string("Could not get hostname: ") + ErrnoText(errno));
  }
  c.Expect(std::string("LHLO ") + host, 250);
  c.Expect("MAIL FROM:<" + f.from + ">", 250);
  c.Expect("RCPT TO:<" + f.rcpt + ">", 250);
  c.Expect("DATA", 354);

  // stdin with CRLF line endings and dot-stuffing, then ".".
  std::string data((std::istreambuf_iterator<char>(std::cin)),
                   std::istreambuf_iterator<char>());
  std::string out = DotStuff(data);
  if (!c.Write(out)) Fail(kTempFail, "Error writing DATA: " + c.err());
  if (!c.ReadReply(&code, &text)) {
    Fail(kTempFail, "Delivery failed remotely: " + c.err());
  }
  if (code != 250) {
    Fail(kTempFail, "Delivery failed remotely: " + ReplyText(code, text));
  }
  c.Expect("QUIT", 221);
  return 0;
}

}  // namespace
}  // namespace chasquid::mdalmtp

int main(int argc, char** argv) { return chasquid::mdalmtp::Main(argc, argv); }
