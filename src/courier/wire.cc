#include "courier/wire.h"

#include "base/strings.h"
#include "base/textproto.h"

namespace chasquid::courier::wire {

Result<CodeLine> ParseCodeLine(std::string_view line) {
  if (line.size() < 4 || (line[3] != ' ' && line[3] != '-')) {
    return Status::Transient("short response: " + std::string(line));
  }
  int code = 0;
  for (int i = 0; i < 3; i++) {
    if (line[i] < '0' || line[i] > '9') {
      return Status::Transient("invalid response code: " + std::string(line));
    }
    code = code * 10 + (line[i] - '0');
  }
  if (code < 100) {
    return Status::Transient("invalid response code: " + std::string(line));
  }
  return CodeLine{code, line[3] == '-', std::string(line.substr(4))};
}

Status ReplyReader::Feed(std::string_view line) {
  if (!started_) {
    auto cl = ParseCodeLine(line);
    if (!cl.ok()) return cl.status();
    started_ = true;
    code_ = cl->code;
    text_ = cl->text;
    done_ = !cl->continued;
    return Status::Ok();
  }
  auto cl = ParseCodeLine(line);
  if (!cl.ok() || cl->code != code_) {
    // textproto keeps reading, appending the odd line as it came.
    // Two appends, not "\n" + std::string(line): GCC 12 warns
    // (-Wrestrict, a false positive) on that operator+ once inlined.
    text_ += '\n';
    text_ += line;
    return Status::Ok();
  }
  text_ += "\n" + cl->text;
  done_ = !cl->continued;
  return Status::Ok();
}

std::string ReplyError(int code, std::string_view text) {
  return TextprotoError(code, text);
}

bool CodeMatches(int code, int expect) {
  if (expect >= 1 && expect < 10) return code / 100 == expect;
  if (expect >= 10 && expect < 100) return code / 10 == expect;
  if (expect >= 100 && expect < 1000) return code == expect;
  return true;
}

Status ReplyStatus(int code, std::string_view text) {
  std::string msg = ReplyError(code, text);
  if (code >= 500 && code < 600) return Status::Permanent(msg);
  return Status::Transient(msg);
}

std::string EncodeData(std::string_view data) {
  std::string out;
  out.reserve(data.size() + data.size() / 50 + 8);
  DataEncoder enc;
  enc.Feed(data, &out);
  enc.Finish(&out);
  return out;
}

void DataEncoder::Feed(std::string_view data, std::string* out_p) {
  std::string& out = *out_p;
  for (size_t i = 0; i < data.size(); i++) {
    char c = data[i];
    if (line_start_ && c == '.') out += '.';
    line_start_ = false;
    if (c == '\n') {
      if (last_ != '\r') out += '\r';
      out += '\n';
      last_ = '\n';
      line_start_ = true;
      continue;
    }
    out += c;
    last_ = c;
  }
}

void DataEncoder::Finish(std::string* out) {
  if (!line_start_) *out += "\r\n";
  *out += ".\r\n";
  line_start_ = true;
  last_ = '\n';
}

}  // namespace chasquid::courier::wire
