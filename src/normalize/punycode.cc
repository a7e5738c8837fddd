#include "normalize/punycode.h"

#include <cstdint>
#include <vector>

#include "base/strings.h"
#include "normalize/utf8.h"

namespace chasquid::normalize {

namespace {

constexpr int32_t kBase = 36;
constexpr int32_t kDamp = 700;
constexpr int32_t kInitialBias = 72;
constexpr int32_t kInitialN = 128;
constexpr int32_t kSkew = 38;
constexpr int32_t kTmax = 26;
constexpr int32_t kTmin = 1;
constexpr int32_t kMaxRune = 0x10FFFF;
// Go's decoder refuses labels that would decode to more runes than this:
// it bounds the quadratic insertion work on hostile input.
constexpr size_t kMaxDecodedRunes = 1024;

Status PunyError(std::string_view encoded) {
  return Status::Error("idna: invalid label " + GoQuote(encoded));
}

// a + b*c with int32 overflow detection, as Go's madd.
bool MulAdd(int32_t a, int32_t b, int32_t c, int32_t* out) {
  int64_t p = static_cast<int64_t>(b) * c;
  if (p > INT32_MAX - a) return false;
  *out = a + static_cast<int32_t>(p);
  return true;
}

bool DecodeDigit(unsigned char x, int32_t* digit) {
  if (x >= '0' && x <= '9') {
    *digit = x - ('0' - 26);
  } else if (x >= 'A' && x <= 'Z') {
    *digit = x - 'A';
  } else if (x >= 'a' && x <= 'z') {
    *digit = x - 'a';
  } else {
    return false;
  }
  return true;
}

char EncodeDigit(int32_t digit) {
  if (digit < 26) return static_cast<char>('a' + digit);
  return static_cast<char>('0' + digit - 26);
}

int32_t Adapt(int32_t delta, int32_t num_points, bool first_time) {
  delta = first_time ? delta / kDamp : delta / 2;
  delta += delta / num_points;
  int32_t k = 0;
  while (delta > ((kBase - kTmin) * kTmax) / 2) {
    delta /= kBase - kTmin;
    k += kBase;
  }
  return k + (kBase - kTmin + 1) * delta / (delta + kSkew);
}

}  // namespace

Result<std::string> PunycodeDecode(std::string_view encoded) {
  if (encoded.empty()) return std::string();
  size_t last_dash = encoded.rfind('-');
  size_t pos = last_dash == std::string_view::npos ? 0 : last_dash + 1;
  // A lone leading '-' delimits nothing: Go rejects it ("xn---").
  if (pos == 1) return PunyError(encoded);
  if (pos == encoded.size()) {
    return std::string(encoded.substr(0, encoded.size() - 1));
  }
  std::vector<char32_t> output;
  if (pos != 0) {
    // The basic code points, copied as runes (Go ranges over the string).
    std::string_view basic = encoded.substr(0, pos - 1);
    output = DecodeUtf8Lossy(basic);
  }
  int32_t i = 0, n = kInitialN, bias = kInitialBias;
  while (pos < encoded.size()) {
    int32_t old_i = i, w = 1;
    for (int32_t k = kBase;; k += kBase) {
      if (pos == encoded.size()) return PunyError(encoded);
      int32_t digit;
      if (!DecodeDigit(static_cast<unsigned char>(encoded[pos]), &digit)) {
        return PunyError(encoded);
      }
      pos++;
      if (!MulAdd(i, digit, w, &i)) return PunyError(encoded);
      int32_t t = k - bias;
      if (k <= bias) {
        t = kTmin;
      } else if (k >= bias + kTmax) {
        t = kTmax;
      }
      if (digit < t) break;
      if (!MulAdd(0, w, kBase - t, &w)) return PunyError(encoded);
    }
    if (output.size() >= kMaxDecodedRunes) return PunyError(encoded);
    int32_t x = static_cast<int32_t>(output.size() + 1);
    bias = Adapt(i - old_i, x, old_i == 0);
    n += i / x;
    i %= x;
    if (n < 0 || n > kMaxRune) return PunyError(encoded);
    output.insert(output.begin() + i, static_cast<char32_t>(n));
    i++;
  }
  return EncodeUtf8(output);
}

Result<std::string> PunycodeEncode(std::string_view label) {
  if (!IsValidUtf8(label)) {
    return Status::Error("idna: invalid label " + GoQuote(label));
  }
  std::vector<char32_t> runes = DecodeUtf8Lossy(label);
  std::string out;
  int32_t delta = 0, n = kInitialN, bias = kInitialBias;
  int32_t b = 0, remaining = 0;
  for (char32_t r : runes) {
    if (r < 0x80) {
      b++;
      out.push_back(static_cast<char>(r));
    } else {
      remaining++;
    }
  }
  int32_t h = b;
  if (b > 0) out.push_back('-');
  while (remaining != 0) {
    int32_t m = INT32_MAX;
    for (char32_t r : runes) {
      int32_t ri = static_cast<int32_t>(r);
      if (m > ri && ri >= n) m = ri;
    }
    if (!MulAdd(delta, m - n, h + 1, &delta)) {
      return Status::Error("idna: invalid label " + GoQuote(label));
    }
    n = m;
    for (char32_t r : runes) {
      int32_t ri = static_cast<int32_t>(r);
      if (ri < n) {
        delta++;
        if (delta < 0) {
          return Status::Error("idna: invalid label " + GoQuote(label));
        }
        continue;
      }
      if (ri > n) continue;
      int32_t q = delta;
      for (int32_t k = kBase;; k += kBase) {
        int32_t t = k - bias;
        if (k <= bias) {
          t = kTmin;
        } else if (k >= bias + kTmax) {
          t = kTmax;
        }
        if (q < t) break;
        out.push_back(EncodeDigit(t + (q - t) % (kBase - t)));
        q = (q - t) / (kBase - t);
      }
      out.push_back(EncodeDigit(q));
      bias = Adapt(delta, h + 1, h == b);
      delta = 0;
      h++;
      remaining--;
    }
    delta++;
    n++;
  }
  return out;
}

}  // namespace chasquid::normalize
