#include "smtp/headers.h"

#include <vector>

namespace chasquid::smtp {

namespace {

// Reads one line (without "\n"); false at the end of data.
bool NextLine(std::string_view data, size_t* pos, std::string_view* line,
              bool* complete) {
  if (*pos >= data.size()) return false;
  size_t nl = data.find('\n', *pos);
  if (nl == std::string_view::npos) {
    *line = data.substr(*pos);
    *pos = data.size();
    *complete = false;
  } else {
    *line = data.substr(*pos, nl - *pos);
    *pos = nl + 1;
    *complete = true;
  }
  if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
  return true;
}

bool IsTokenChar(char c) {
  if (c <= ' ' || c >= 0x7F) return false;
  return std::string_view("()<>@,;:\\\"/[]?={}").find(c) ==
         std::string_view::npos;
}

// textproto.CanonicalMIMEHeaderKey(k) == "Received".
bool IsReceived(std::string_view k) {
  if (k.size() != 8) return false;
  constexpr std::string_view kName = "received";
  for (size_t i = 0; i < 8; i++) {
    char c = k[i];
    if (c >= 'A' && c <= 'Z') c = c - 'A' + 'a';
    if (c != kName[i] || !IsTokenChar(k[i])) return false;
  }
  return true;
}

}  // namespace

Result<int> CountReceivedHeaders(std::string_view data) {
  size_t pos = 0;
  if (!data.empty() && (data[0] == ' ' || data[0] == '\t')) {
    std::string_view line;
    bool complete;
    NextLine(data, &pos, &line, &complete);
    return Status::Permanent("malformed initial line: " + std::string(line));
  }
  int headers = 0, received = 0;
  while (true) {
    // A logical line: the line plus its continuations (Go's
    // ReadContinuedLine joins them with a single space, trimmed).
    std::string_view line;
    bool complete = true;
    if (!NextLine(data, &pos, &line, &complete)) {
      // End of data without a blank line: fine if there were headers.
      if (headers == 0) return Status::Permanent("EOF");
      return received;
    }
    if (line.empty()) return received;  // The blank line ending the block.
    std::string kv(line);
    while (pos < data.size() && (data[pos] == ' ' || data[pos] == '\t')) {
      std::string_view cont;
      NextLine(data, &pos, &cont, &complete);
      size_t b = cont.find_first_not_of(" \t");
      if (b != std::string_view::npos) {
        kv += " ";
        kv += cont.substr(b);
      }
    }
    size_t colon = kv.find(':');
    if (colon == std::string::npos) {
      return Status::Permanent("malformed header line: " + kv);
    }
    if (colon == 0) continue;  // Empty names are ignored, as Go does.
    headers++;
    if (IsReceived(std::string_view(kv).substr(0, colon))) received++;
  }
}

void PrependHeader(std::string* data, std::string_view name,
                   std::string_view value) {
  if (!value.empty() && value.back() == '\n') value.remove_suffix(1);
  std::string h;
  h.reserve(name.size() + value.size() + 8);
  h += name;
  h += ": ";
  for (char c : value) {
    h += c;
    if (c == '\n') h += '\t';
  }
  h += '\n';
  data->insert(0, h);
}

}  // namespace chasquid::smtp
