#include "courier/mda.h"

#include <unistd.h>

#include <cstdint>
#include <optional>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/strings.h"
#include "base/utf8.h"
#include "nettrace/trace.h"
#include "process/process.h"

namespace chasquid::courier {

namespace {

// unicode.IsSpace || unicode.IsControl.
bool IsSpaceOrControl(int32_t r) {
  return r < 0x20 || (r >= 0x7F && r <= 0x9F) || IsUnicodeSpace(r);
}

std::pair<std::string, std::string> SplitAddr(const std::string& a) {
  auto at = a.find('@');
  if (at == std::string::npos) return {a, ""};
  return {a.substr(0, at), a.substr(at + 1)};
}

// Closes the copy of a spooled message made for one child's stdin.
struct StdinCopy {
  explicit StdinCopy(int fd) : fd(fd) {}
  ~StdinCopy() { close(fd); }
  StdinCopy(const StdinCopy&) = delete;
  StdinCopy& operator=(const StdinCopy&) = delete;
  int fd;
};

}  // namespace

std::string SanitizeForMDA(std::string_view s) {
  static constexpr std::string_view kBad = "/;\"'\\|*&$%()[]{}`!";
  std::string out;
  for (size_t i = 0; i < s.size();) {
    // An invalid byte (r < 0) is neither space nor control: it is kept.
    auto [r, len] = DecodeRune(s, i);
    bool drop = IsSpaceOrControl(r) ||
                (r >= 0 && r < 0x80 &&
                 kBad.find(static_cast<char>(r)) != std::string_view::npos);
    if (!drop) out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

std::string SubstituteArg(std::string_view arg, const std::string& from,
                          const std::string& to) {
  auto [fu, fd] = SplitAddr(from);
  auto [tu, td] = SplitAddr(to);
  const std::pair<std::string_view, const std::string*> kTokens[] = {
      {"%from%", &from}, {"%from_user%", &fu}, {"%from_domain%", &fd},
      {"%to%", &to},     {"%to_user%", &tu},   {"%to_domain%", &td},
  };
  std::string out;
  for (size_t i = 0; i < arg.size();) {
    bool replaced = false;
    if (arg[i] == '%') {
      for (const auto& [tok, val] : kTokens) {
        if (arg.substr(i, tok.size()) == tok) {
          out += *val;
          i += tok.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += arg[i++];
  }
  return out;
}

struct AsyncSemaphore::Waiter {
  explicit Waiter(net::any_io_executor ex)
      : timer(ex, net::steady_timer::time_point::max()) {}
  net::steady_timer timer;
  bool go = false;  // Only touched on the waiter's executor.
};

net::awaitable<void> AsyncSemaphore::Acquire() {
  auto ex = co_await net::this_coro::executor;
  std::shared_ptr<Waiter> w;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (free_ > 0) {
      free_--;
      co_return;
    }
    w = std::make_shared<Waiter>(ex);
    waiters_.push_back(w);
  }
  // The wake-up runs on our executor, so it comes either before this
  // check or while we wait: never lost.
  while (!w->go) {
    co_await w->timer.async_wait(net::as_tuple(net::use_awaitable));
  }
}

void AsyncSemaphore::Release() {
  std::shared_ptr<Waiter> w;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (waiters_.empty()) {
      free_++;
      return;
    }
    w = std::move(waiters_.front());
    waiters_.pop_front();
  }
  // The slot passes straight to the waiter.
  net::post(w->timer.get_executor(), [w] {
    w->go = true;
    w->timer.cancel();
  });
}

MDA::MDA(std::string binary, std::vector<std::string> args,
         std::chrono::nanoseconds timeout)
    : binary_(std::move(binary)),
      args_(std::move(args)),
      timeout_(timeout),
      running_(std::make_unique<AsyncSemaphore>(
          std::max<size_t>(8, 4 * std::thread::hardware_concurrency()))) {}

net::awaitable<Status> MDA::Deliver(std::string from, std::string to,
                                    std::shared_ptr<const std::string> data) {
  // Named: a shared_ptr made from nullptr inside the co_await would be a
  // temporary with a destructor there (GCC 12; scripts/check-coroutines.py).
  std::shared_ptr<const safeio::Spool> no_body;
  co_return co_await RunMDA(std::move(from), std::move(to), std::move(data),
                            std::move(no_body));
}

net::awaitable<Status> MDA::DeliverSpooled(
    std::string from, std::string to, std::shared_ptr<const std::string> head,
    std::shared_ptr<const safeio::Spool> body) {
  co_return co_await RunMDA(std::move(from), std::move(to), std::move(head),
                            std::move(body));
}

net::awaitable<Status> MDA::RunMDA(std::string from, std::string to,
                                   std::shared_ptr<const std::string> data,
                                   std::shared_ptr<const safeio::Spool> body) {
  nettrace::Trace tr("Courier.MDA", to);
  from = SanitizeForMDA(from);
  to = SanitizeForMDA(to);
  process::Options o;
  o.argv.push_back(binary_);
  for (const auto& a : args_) o.argv.push_back(SubstituteArg(a, from, to));
  tr.Debugf("MDA: " + binary_);
  o.timeout = timeout_;
  co_await running_->Acquire();
  // The copy is made once this MDA may run: at most as many copies as
  // MDAs running (a message to 100 local users waits with 100 attempts,
  // which held a CRLF copy each while they waited).
  if (!body) {
    o.stdin_data = std::make_shared<const std::string>(
        ToCRLF(data ? *data : std::string()));
  }
  std::optional<StdinCopy> copy;
  if (body) {
    auto fd = body->Materialize(data ? *data : std::string(), /*crlf=*/true);
    if (!fd.ok()) {
      running_->Release();
      tr.Error(fd.status().message());
      co_return Status::Transient("MDA delivery failed: " +
                                  fd.status().message());
    }
    copy.emplace(*fd);
    o.stdin_fd = *fd;
  }
  process::Outcome r = co_await process::Run(std::move(o));
  running_->Release();
  if (r.timed_out) {
    tr.Error("operation timed out");
    co_return Status::Transient("operation timed out");
  }
  if (!r.ok()) {
    std::string msg =
        "MDA delivery failed: " + r.error + " - " + GoQuote(r.output);
    tr.Error(msg);
    if (r.exit_code == 75) co_return Status::Transient(msg);
    co_return Status::Permanent(msg);
  }
  tr.Debugf("delivered");
  co_return Status::Ok();
}

net::awaitable<Status> MDA::Forward(std::string from, std::string to,
                                    std::vector<std::string> servers,
                                    std::shared_ptr<const std::string> data) {
  co_return Status::Permanent("forwarding not supported by the MDA courier");
}

Pipe::Pipe(std::chrono::nanoseconds timeout) : timeout_(timeout) {}

net::awaitable<Status> Pipe::Deliver(std::string from, std::string to,
                                     std::shared_ptr<const std::string> data) {
  co_return co_await RunPipe(std::move(to), std::move(data), -1);
}

net::awaitable<Status> Pipe::DeliverSpooled(
    std::string from, std::string to, std::shared_ptr<const std::string> head,
    std::shared_ptr<const safeio::Spool> body) {
  if (!body) co_return co_await RunPipe(std::move(to), std::move(head), -1);
  auto fd = body->Materialize(head ? *head : std::string(), /*crlf=*/false);
  if (!fd.ok()) co_return Status::Permanent(fd.status().message());
  StdinCopy copy(*fd);
  std::shared_ptr<const std::string> no_data;  // Named, as in Deliver.
  co_return co_await RunPipe(std::move(to), std::move(no_data), *fd);
}

net::awaitable<Status> Pipe::RunPipe(std::string to,
                                     std::shared_ptr<const std::string> data,
                                     int stdin_fd) {
  process::Options o;
  for (const auto& w : Split(to, " ")) {
    // strings.Fields: runs of any ASCII whitespace separate words.
    std::string word;
    for (char c : w) {
      if (c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        if (!word.empty()) o.argv.push_back(std::move(word));
        word.clear();
      } else {
        word += c;
      }
    }
    if (!word.empty()) o.argv.push_back(std::move(word));
  }
  if (o.argv.empty()) co_return Status::Permanent("empty pipe");
  o.stdin_data = std::move(data);
  o.stdin_fd = stdin_fd;
  o.timeout = timeout_;
  o.capture_stdout = o.capture_stderr = false;
  process::Outcome r = co_await process::Run(std::move(o));
  if (!r.ok()) co_return Status::Permanent(r.error);
  co_return Status::Ok();
}

}  // namespace chasquid::courier
