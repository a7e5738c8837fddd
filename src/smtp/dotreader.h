// The DATA body reader, as a byte-at-a-time
// state machine fed with whatever the socket delivered, so it can be
// tested and fuzzed without one.
//
// It un-stuffs leading dots, stores lines with LF endings, finds the
// CRLF "." CRLF terminator, and rejects any bare CR or bare LF. The latter
// is the SMTP smuggling protection (CVE-2023-52354): a peer must never be
// able to end the body with a sequence that another server would not see
// as the end, and then have the rest read as commands.
//
// Not thread-safe (one per DATA command).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chasquid::smtp {

class DotReader {
 public:
  enum class State {
    kMore,               // Needs more input.
    kDone,               // Terminator seen; data() is complete.
    kInvalidLineEnding,  // Bare CR/LF: stop reading, close the connection.
  };

  // Bytes beyond `max_size` (counted on the wire, including CRs, stuffing
  // dots and the terminator) are not stored, but reading goes on to the
  // terminator; then too_big() is true.
  explicit DotReader(uint64_t max_size) : max_size_(max_size) {}

  // Consumes bytes from `in` up to and including the terminator (or the
  // offending byte). Returns how many bytes were consumed; the rest of `in`
  // belongs to the next command.
  size_t Feed(std::string_view in);

  State state() const { return state_; }
  bool too_big() const { return count_ > max_size_; }
  uint64_t count() const { return count_; }
  // The body with LF line endings; move it out once kDone.
  std::string& data() { return data_; }

 private:
  enum class Prev { kOther, kCR, kCRLF };

  uint64_t max_size_;
  uint64_t count_ = 0;
  State state_ = State::kMore;
  // Start as if we just came from a CRLF: handles stuffing at the very
  // beginning, and ".\r\n" as an empty body.
  Prev prev_ = Prev::kCRLF;
  bool dot_line_ = false;  // The current line is "." so far (after CRLF).
  std::string data_;
};

}  // namespace chasquid::smtp
