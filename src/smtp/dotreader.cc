#include "smtp/dotreader.h"

#include <algorithm>

namespace chasquid::smtp {

size_t DotReader::Feed(std::string_view in) {
  size_t i = 0;
  while (i < in.size() && state_ == State::kMore) {
    if (prev_ == Prev::kOther) {
      // Mid-line, every byte up to the next CR or LF is plain data: take
      // the run at once (a byte-at-a-time append was the daemon's top
      // user-space cost). Same effect as the loop below, byte for byte.
      size_t j = i;
      while (j < in.size() && in[j] != '\r' && in[j] != '\n') j++;
      if (j > i) {
        const uint64_t n = j - i;
        if (count_ < max_size_) {
          data_.append(in.data() + i,
                       static_cast<size_t>(std::min(n, max_size_ - count_)));
        }
        count_ += n;
        dot_line_ = false;
        i = j;
        continue;
      }
    }
    char b = in[i++];
    count_++;
    bool store = true;
    switch (b) {
      case '\r':
        if (prev_ == Prev::kCR) {
          state_ = State::kInvalidLineEnding;
          return i;
        }
        prev_ = Prev::kCR;
        // Lines are stored LF-terminated: the CR is dropped.
        store = false;
        break;
      case '\n':
        if (prev_ != Prev::kCR) {
          state_ = State::kInvalidLineEnding;
          return i;
        }
        if (dot_line_) {
          // CRLF "." CRLF (or "." CRLF at the very start): the end.
          state_ = State::kDone;
          return i;
        }
        prev_ = Prev::kCRLF;
        break;
      default:
        if (prev_ == Prev::kCR) {
          state_ = State::kInvalidLineEnding;
          return i;
        }
        if (b == '.' && prev_ == Prev::kCRLF) {
          // Dot-stuffing: a leading '.' is removed (RFC 5321 §4.5.2).
          store = false;
          prev_ = Prev::kOther;
          dot_line_ = true;
          continue;
        }
        prev_ = Prev::kOther;
        break;
    }
    // Only "." CR keeps the line a candidate terminator.
    if (!(b == '\r' && dot_line_)) dot_line_ = false;
    if (store && count_ <= max_size_) data_ += b;
  }
  return i;
}

}  // namespace chasquid::smtp
