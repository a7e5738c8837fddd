// Status and Result<T>: errors as values.
//
// In a mail server nearly every failure is expected (a peer hangs up, DNS
// times out, a user does not exist), and each caller must choose between a
// 4xx and a 5xx, or between retrying and bouncing. So a Status carries
// chasquid's transient/permanent split, and a message meant for logs and,
// where the spec says so, for the SMTP peer.
//
// Both types are cheap to move and are not thread-safe (values, not shared
// objects).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace chasquid {

class [[nodiscard]] Status {
 public:
  enum class Code { kOk = 0, kTransient, kPermanent };

  Status() = default;  // OK.
  static Status Ok() { return Status(); }
  static Status Transient(std::string msg) {
    return Status(Code::kTransient, std::move(msg));
  }
  static Status Permanent(std::string msg) {
    return Status(Code::kPermanent, std::move(msg));
  }
  // A plain error where transient/permanent does not matter (config
  // loading, tools): treated as permanent.
  static Status Error(std::string msg) { return Permanent(std::move(msg)); }
  // A permanent error that says the thing looked up does not exist (a DNS
  // name with no records, NXDOMAIN): callers that have a fallback for
  // "absent" (the implicit MX, no MTA-STS policy) test not_found() rather
  // than the message.
  static Status NotFound(std::string msg) {
    Status s(Code::kPermanent, std::move(msg));
    s.not_found_ = true;
    return s;
  }

  bool ok() const { return code_ == Code::kOk; }
  bool transient() const { return code_ == Code::kTransient; }
  bool permanent() const { return code_ == Code::kPermanent; }
  bool not_found() const { return not_found_; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }

  // Returns a copy whose message is "<prefix><message>", same code.
  Status Prefixed(const std::string& prefix) const {
    Status s(code_, prefix + msg_);
    s.not_found_ = not_found_;
    return s;
  }

 private:
  Status(Code code, std::string msg) : code_(code), msg_(std::move(msg)) {}
  Code code_ = Code::kOk;
  bool not_found_ = false;
  std::string msg_;
};

// Result<T> holds either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design.
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The error; OK when the result holds a value.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace chasquid
