// Shared helpers for the unit tests: a temporary directory that cleans up
// after itself, a fake DNS resolver with ordinary DNS semantics, and
// Await(), which runs one coroutine to completion.
//
// Test-only: nothing outside *_test.cc links chasquid_testlib. Not
// thread-safe (each test owns its helpers).
#pragma once

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "base/status.h"
#include "dns/dns.h"

namespace chasquid::testlib {

namespace net = boost::asio;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it
// when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + rel.
  std::string operator/(const std::string& rel) const;
  // Writes `content` to path()/rel, creating the parent directories.
  void Write(const std::string& rel, const std::string& content) const;

 private:
  std::string path_;
};

// What thread `tid` of this process has read or written so far, from
// /proc/self/task/<tid>/io: "rchar" counts the bytes of read(2),
// pread(2) and their kin, "wchar" those of write(2) and kin; socket I/O
// through recvmsg(2) and sendmsg(2), which Asio uses, counts in neither.
// For tests that check which thread did a file's I/O. Throws
// std::runtime_error (a test failure) if it cannot be read.
uint64_t ThreadIoBytes(int tid, const std::string& key);

namespace internal {
template <typename T>
net::awaitable<void> Store(net::awaitable<T> a, std::optional<T>* out) {
  out->emplace(co_await std::move(a));
}
}  // namespace internal

// Runs `a` on a private io_context until it finishes, and returns its
// value (T need not be default-constructible: Result<T> works).
// Exceptions propagate.
template <typename T>
T Await(net::awaitable<T> a) {
  net::io_context io;
  std::optional<T> out;
  std::exception_ptr error;
  net::co_spawn(io, internal::Store(std::move(a), &out),
                [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

inline void Await(net::awaitable<void> a) {
  net::io_context io;
  std::exception_ptr error;
  net::co_spawn(io, std::move(a), [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
}

// A dns::Resolver over an in-memory zone, with real DNS semantics: a name
// that is not in the zone is "no such host" (Status::NotFound); a name
// that is, but has no records of the asked type, gives an empty answer.
// Names compare case-insensitively, without a trailing dot.
class FakeResolver : public dns::Resolver {
 public:
  // type: "A", "AAAA" (both answer LookupIP), "MX" (value is the host,
  // `pref` its preference), "TXT", "PTR" (name is the IP text).
  void Add(const std::string& name, const std::string& type,
           const std::string& value, uint16_t pref = 0);
  // Every lookup of `name`, of any type, fails with `s`.
  void Fail(const std::string& name, Status s);
  // Every lookup fails with a transient error (a DNS server gone).
  bool all_transient = false;

  // How many lookups of each type ("MX", "IP", "TXT", "PTR") were made.
  std::map<std::string, int> queries;

  net::awaitable<Result<std::vector<dns::MX>>> LookupMX(
      std::string name) override;
  net::awaitable<Result<std::vector<std::string>>> LookupIP(
      std::string name) override;
  net::awaitable<Result<std::vector<std::string>>> LookupTXT(
      std::string name) override;
  net::awaitable<Result<std::vector<std::string>>> LookupAddr(
      std::string ip) override;

 private:
  struct Record {
    std::string type, value;
    uint16_t pref = 0;
  };
  // The records of `type` at `name`, or the error for the name.
  Result<std::vector<Record>> Find(const std::string& name,
                                   const std::string& kind,
                                   std::initializer_list<const char*> types);
  std::map<std::string, std::vector<Record>> zone_;
  std::map<std::string, Status> failures_;
};

}  // namespace chasquid::testlib
