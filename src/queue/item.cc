#include "queue/item.h"

#include <cstdio>
#include <ctime>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include "base/utf8.h"
#include "prototext/prototext.h"
#include "queue/queue.pb.h"

namespace chasquid::queue {

namespace {

void AppendQuoted(std::string& out, std::string_view name, std::string_view v,
                  int indent) {
  out.append(indent, ' ');
  out += name;
  out += ": \"";
  out += EscapeText(v);
  out += "\"\n";
}

}  // namespace

const char* TypeName(Recipient::Type t) {
  switch (t) {
    case Recipient::Type::kPipe:
      return "PIPE";
    case Recipient::Type::kForward:
      return "FORWARD";
    default:
      return "EMAIL";
  }
}

const char* StatusName(Recipient::Status s) {
  switch (s) {
    case Recipient::Status::kSent:
      return "SENT";
    case Recipient::Status::kFailed:
      return "FAILED";
    default:
      return "PENDING";
  }
}

const char* ResultName(Attempt::Result r) {
  switch (r) {
    case Attempt::Result::kTransient:
      return "temporary";
    case Attempt::Result::kPermanent:
      return "permanent";
    default:
      return "sent";
  }
}

std::string FormatTime(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                t.time_since_epoch())
                .count();
  time_t secs = ms / 1000;
  int frac = static_cast<int>(ms % 1000);
  if (frac < 0) frac += 1000, secs -= 1;
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  snprintf(out, sizeof(out), "%s.%03dZ", buf, frac);
  return out;
}

namespace {

// Escapes s[0, n) where n >= `limit` is where the scan stopped: every
// UTF-8 sequence starting before `limit` is whole within s when
// s.size() >= limit + 3. Returns n.
size_t EscapePrefix(std::string_view s, size_t limit, std::string* out_p) {
  std::string& out = *out_p;
  char buf[12];
  size_t i = 0;
  while (i < limit) {
    // Runs of printable ASCII other than '"' and '\\' (nearly all of a
    // message) are copied in one append: this runs over every byte of
    // every message, twice per item write.
    size_t run = i;
    while (run < s.size()) {
      unsigned char p = s[run];
      if (p < 0x20 || p >= 0x7F || p == '"' || p == '\\') break;
      run++;
    }
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      if (i >= limit) break;
    }
    unsigned char c = s[i];
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == 0x7F) {
            snprintf(buf, sizeof(buf), "\\x%02x", c);
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
      }
      i++;
      continue;
    }
    auto [r, len] = DecodeRune(s, i);
    if (r < 0) {
      snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
      i++;
    } else if (r < 0xA0) {  // C1 controls, as Go's prototext.
      snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(r));
      out += buf;
      i += len;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return i;
}

}  // namespace

std::string EscapeText(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 16);
  EscapePrefix(s, s.size(), &out);
  return out;
}

void TextEscaper::Feed(std::string_view in, bool final, std::string* out) {
  std::string_view s = in;
  if (!carry_.empty()) {
    carry_.append(in);
    s = carry_;
  }
  // A UTF-8 sequence is at most 4 bytes: one starting before size - 3 is
  // whole; later ones wait for the next piece (unless this is the last).
  size_t limit = final ? s.size() : (s.size() > 3 ? s.size() - 3 : 0);
  size_t n = EscapePrefix(s, limit, out);
  std::string rest(s.substr(n));
  carry_ = std::move(rest);
}

uint64_t Item::DataSize() const {
  return (data ? data->size() : 0) + (spool ? spool->size() : 0);
}

Result<std::shared_ptr<const std::string>> Item::LoadData() const {
  if (!spool) {
    return data ? data : std::make_shared<const std::string>();
  }
  std::string all;
  all.reserve(DataSize());
  if (data) all = *data;
  Status s = spool->ForEachChunk([&all](std::string_view c) {
    all.append(c);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return std::make_shared<const std::string>(std::move(all));
}

std::string Item::Prefix(size_t max) const {
  std::string out = data ? data->substr(0, max) : "";
  if (!spool || out.size() >= max) return out;
  (void)spool->ForEachChunk([&out, max](std::string_view c) {
    out.append(c.substr(0, max - out.size()));
    // Stops the walk once there is enough.
    return out.size() < max ? Status::Ok() : Status::Error("enough");
  });
  return out;
}

std::string MarshalHead(const Item& item, const std::vector<Recipient>& rcpt) {
  std::string out;
  if (!item.id.empty()) AppendQuoted(out, "ID", item.id, 0);
  if (!item.from.empty()) AppendQuoted(out, "from", item.from, 0);
  for (const auto& t : item.to) AppendQuoted(out, "To", t, 0);
  for (const auto& r : rcpt) {
    out += "rcpt: {\n";
    if (!r.address.empty()) AppendQuoted(out, "address", r.address, 2);
    if (r.type != Recipient::Type::kEmail) {
      out += "  type: ";
      out += TypeName(r.type);
      out += "\n";
    }
    if (r.status != Recipient::Status::kPending) {
      out += "  status: ";
      out += StatusName(r.status);
      out += "\n";
    }
    if (!r.last_failure_message.empty()) {
      AppendQuoted(out, "last_failure_message", r.last_failure_message, 2);
    }
    if (!r.original_address.empty()) {
      AppendQuoted(out, "original_address", r.original_address, 2);
    }
    for (const auto& v : r.via) AppendQuoted(out, "via", v, 2);
    out += "}\n";
  }
  return out;
}

Status MarshalData(const Item& item,
                   const std::function<Status(std::string_view)>& sink) {
  if (item.DataSize() == 0) return Status::Ok();
  TextEscaper esc;
  std::string out = "data: \"";
  bool spooled = item.spool && item.spool->size() > 0;
  if (item.data) esc.Feed(*item.data, /*final=*/!spooled, &out);
  if (spooled) {
    // Each escaped chunk is written before the next is read: memory stays
    // at about one chunk, whatever the message's size.
    uint64_t left = item.spool->size();
    Status s = item.spool->ForEachChunk([&](std::string_view c) {
      left -= c.size();
      esc.Feed(c, /*final=*/left == 0, &out);
      Status w = sink(out);
      out.clear();
      return w;
    });
    if (!s.ok()) return s;
  }
  out += "\"\n";
  return sink(out);
}

std::string MarshalTail(const Item& item) {
  std::string out;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                item.created_at.time_since_epoch())
                .count();
  int64_t secs = ns / 1000000000;
  int64_t nanos = ns % 1000000000;
  if (nanos < 0) nanos += 1000000000, secs -= 1;
  if (secs != 0 || nanos != 0) {
    out += "created_at_ts: {\n";
    if (secs != 0) out += "  seconds: " + std::to_string(secs) + "\n";
    if (nanos != 0) out += "  nanos: " + std::to_string(nanos) + "\n";
    out += "}\n";
  }
  // Field 150, last as Go's prototext orders by number; absent when false.
  if (item.require_tls) out += "require_tls: true\n";
  return out;
}

std::string Marshal(const Item& item, const std::vector<Recipient>& rcpt) {
  std::string out = MarshalHead(item, rcpt);
  out.reserve(out.size() + item.DataSize() * 11 / 10 + 128);
  (void)MarshalData(item, [&out](std::string_view c) {
    out.append(c);
    return Status::Ok();
  });
  out += MarshalTail(item);
  return out;
}

Result<std::shared_ptr<Item>> Unmarshal(const std::string& text) {
  ::queue::Message m;
  google::protobuf::TextFormat::Parser parser;
  prototext::FirstError errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &m)) {
    if (!errors.any()) return Status::Error("parse error");
    return Status::Error("(line " + std::to_string(errors.line()) + ":" +
                         std::to_string(errors.column()) +
                         "): " + errors.message());
  }
  auto item = std::make_shared<Item>();
  item->id = m.id();
  item->from = m.from();
  item->to.assign(m.to().begin(), m.to().end());
  item->data =
      std::make_shared<const std::string>(std::move(*m.mutable_data()));
  item->created_at = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(m.created_at_ts().seconds()) +
          std::chrono::nanoseconds(m.created_at_ts().nanos())));
  item->loaded = true;
  item->require_tls = m.require_tls();
  for (const auto& pr : m.rcpt()) {
    Recipient r;
    r.address = pr.address();
    // A number outside the enum (a newer writer, or a corrupt file) is
    // read as what Marshal writes for it, EMAIL and PENDING, so that the
    // item behaves the same before and after its next write: an unknown
    // status kept as is counted as neither pending nor sent, and its
    // recipient failed without an attempt (found by item_fuzz).
    r.type = pr.type() == 1   ? Recipient::Type::kPipe
             : pr.type() == 2 ? Recipient::Type::kForward
                              : Recipient::Type::kEmail;
    r.status = pr.status() == 1   ? Recipient::Status::kSent
               : pr.status() == 2 ? Recipient::Status::kFailed
                                  : Recipient::Status::kPending;
    r.last_failure_message = pr.last_failure_message();
    r.original_address = pr.original_address();
    r.via.assign(pr.via().begin(), pr.via().end());
    item->rcpt.push_back(std::move(r));
  }
  return item;
}

}  // namespace chasquid::queue
