// A queue item in memory, and its on-disk text format (docs/formats.md,
// "Queue items"). The file format is chasquid's `queue.Message` in protobuf
// text format; Marshal writes Go prototext's multi-line layout byte for
// byte (one space after "name:"), Unmarshal accepts the whole text-format
// grammar (it uses protobuf's own parser on queue.proto).
//
// Item is shared between its send loop, Put and the /debug/queue page: the
// mutable parts (recipient statuses) are guarded by `mu`.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "safeio/spool.h"

namespace chasquid::queue {

struct Recipient {
  enum class Type { kEmail = 0, kPipe = 1, kForward = 2 };
  enum class Status { kPending = 0, kSent = 1, kFailed = 2 };

  std::string address;  // Address, pipe command line, or forward target.
  Type type = Type::kEmail;
  Status status = Status::kPending;
  std::string last_failure_message;
  std::string original_address;
  std::vector<std::string> via;  // Only for kForward.
};

const char* TypeName(Recipient::Type t);      // "EMAIL", "PIPE", "FORWARD"
const char* StatusName(Recipient::Status s);  // "PENDING", "SENT", "FAILED"

// One delivery attempt to one recipient. Kept only in memory (the queue
// tools and /debug/queue show them): the file format is chasquid's and has
// no place for them, so a restart starts each item's history afresh.
struct Attempt {
  enum class Result { kSent, kTransient, kPermanent };
  std::chrono::system_clock::time_point when;  // When it started.
  std::string address;
  Result result = Result::kSent;
  std::string message;  // The error; empty when sent.
  std::chrono::nanoseconds duration{0};
};

const char* ResultName(Attempt::Result r);  // "sent", "temporary", ...

// RFC 3339 in UTC with milliseconds ("2006-01-02T15:04:05.000Z"), for the
// attempt history on /debug/queue and in the queue tools.
std::string FormatTime(std::chrono::system_clock::time_point t);

// What an administrator asked of an item through the queue tools.
enum class AdminAction { kNone, kRemove, kBounce };

struct Item {
  // Immutable after creation/loading.
  std::string id;
  std::string from;
  std::vector<std::string> to;
  // The message is `data` followed by the contents of `spool` (when set):
  // large bodies stay on disk (safeio/spool.h), only the headers the
  // server added are in memory. The file holds the whole message all the
  // same, in the one `data` field.
  std::shared_ptr<const std::string> data;
  std::shared_ptr<const safeio::Spool> spool;
  std::chrono::system_clock::time_point created_at;
  // Ours: RFC 8689 REQUIRETLS was given with MAIL FROM. Relayed only to
  // MXs with validated TLS that take REQUIRETLS on; else bounced (5.7.30).
  bool require_tls = false;
  // Whether CreatedAt came from a file (shown in UTC on /debug/queue, as Go
  // does for times it parsed).
  bool loaded = false;

  // Serialises writes of this item's file, so the last rename carries the
  // latest state. Never held by a network thread.
  std::mutex write_mu;

  // Guarded by mu.
  mutable std::mutex mu;
  std::vector<Recipient> rcpt;
  // The last kMaxAttempts attempts, oldest first, and how many there were
  // since the item was queued or loaded. Bounded: an item may be retried
  // for days.
  static constexpr size_t kMaxAttempts = 20;
  std::deque<Attempt> attempts;
  uint64_t attempt_count = 0;
  // When the send loop wakes up next; the epoch while it is sending.
  std::chrono::system_clock::time_point next_attempt;
  AdminAction action = AdminAction::kNone;
  // Set by a flush: the send loop skips its next wait (or cuts it short
  // through `wake`, which the loop installs: it cancels the loop's timer on
  // the loop's strand, and may be called from any thread).
  bool wake_requested = false;
  std::function<void()> wake;
  // A synced status write is queued and has not marshalled the item yet:
  // a status changed now reaches the disk with it (DiskQueue::SendOne).
  bool status_write_queued = false;

  // Guarded by write_mu: the file was removed by an administrator, so a
  // status write still in flight must not create it again.
  bool removed = false;
  // Guarded by write_mu: the fields before the data (MarshalHead) of the
  // file on disk, when it is known to hold exactly what a write would
  // write now and to be durable (our synced write, or a file loaded at
  // start-up, after the loader's syncfs); empty when unknown. The rest of
  // the file never changes, so a write whose head is this one is skipped:
  // retries that fail the same way each time (a domain that is down) cost
  // no rewrite and no flushes.
  std::string durable_head;

  // The message's size: data, then the spool.
  uint64_t DataSize() const;
  // The whole message in memory, for the paths that still need it (the
  // SMTP courier, DSNs): data followed by the spool's contents.
  Result<std::shared_ptr<const std::string>> LoadData() const;
  // The message's first `max` bytes (all of it if shorter); what cannot
  // be read is left out.
  std::string Prefix(size_t max) const;
};

// The text-format file contents for `item` (rcpt read under item.mu by the
// caller or before the item is shared). In memory: for tests and small
// items; the queue writes through the three parts below.
std::string Marshal(const Item& item, const std::vector<Recipient>& rcpt);

// The file in three parts, so a large message streams from its spool to
// the file in bounded memory: the fields before the data, the data field
// (given to `sink` a chunk at a time; nothing for an empty message) and
// the fields after it. Together they are Marshal's bytes, exactly.
std::string MarshalHead(const Item& item, const std::vector<Recipient>& rcpt);
Status MarshalData(const Item& item,
                   const std::function<Status(std::string_view)>& sink);
std::string MarshalTail(const Item& item);

// Parses a file's contents. Errors carry the parser's message.
Result<std::shared_ptr<Item>> Unmarshal(const std::string& text);

// Escapes a string or bytes value as Go's prototext does (without quotes).
std::string EscapeText(std::string_view s);

// EscapeText for a value that comes in pieces: Feed the pieces in order,
// the last with `final`; the concatenated output is EscapeText of the
// concatenated input (a UTF-8 sequence split between pieces is held back
// until it is whole). Not thread-safe.
class TextEscaper {
 public:
  void Feed(std::string_view in, bool final, std::string* out);

 private:
  std::string carry_;
};

}  // namespace chasquid::queue
