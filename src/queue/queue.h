// The persistent queue: the only owner of
// accepted mail. Put writes the item to <data_dir>/queue/m:<id> in
// chasquid's text format and fsyncs it before returning, so the SMTP server
// may answer 250; a send loop per item then delivers each recipient through
// the couriers, retrying on the spec's schedule and sending DSNs.
//
// smtpsrv uses only Put and Len. Thread-safe.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "base/status.h"
#include "safeio/dirsync.h"
#include "safeio/spool.h"

namespace chasquid::aliases {
class Resolver;
}
namespace chasquid::courier {
class Courier;
}
namespace chasquid::nettrace {
class Trace;
}

namespace chasquid::queue {

namespace net = boost::asio;

class Queue {
 public:
  virtual ~Queue() = default;

  // Queues `data` (LF line endings, headers already added) from `from` to
  // every address in `to`, after alias resolution. Returns the item ID.
  // Errors: "queue size too big, try again later" (transient) when
  // max_queue_items is reached; alias resolution or write errors otherwise.
  virtual net::awaitable<Result<std::string>> Put(
      std::string from, std::vector<std::string> to,
      std::shared_ptr<const std::string> data) = 0;

  // Ours: what an envelope carries beyond chasquid's from, to and data.
  struct PutOptions {
    bool require_tls = false;  // RFC 8689 REQUIRETLS (MAIL FROM parameter).
  };
  // Put with options. The default ignores them when they are all off and
  // refuses the message otherwise (a queue that cannot keep the flag must
  // not accept a REQUIRETLS message).
  virtual net::awaitable<Result<std::string>> PutWithOptions(
      std::string from, std::vector<std::string> to,
      std::shared_ptr<const std::string> data, PutOptions opts) {
    // Inline, so that fakes need not link the disk queue.
    if (opts.require_tls) {
      co_return Status::Permanent("this queue cannot keep REQUIRETLS");
    }
    auto put = Put(std::move(from), std::move(to), std::move(data));
    co_return co_await std::move(put);
  }

  virtual size_t Len() const = 0;

  // Large messages (ours): the SMTP server spools DATA to a file as it
  // arrives instead of holding it in memory (safeio/spool.h).
  //
  // A new, empty spool for one message. The default makes it in the
  // system's temporary directory; DiskQueue in its own directory, where
  // the copy into the item file is cheapest and start-up cleans up.
  virtual Result<std::unique_ptr<safeio::Spool>> NewSpool() {
    const char* tmp = getenv("TMPDIR");
    return safeio::Spool::Create(tmp && *tmp ? tmp : "/tmp", ".chasquid-spool-",
                                 128 * 1024);
  }
  // Put for the message `head` followed by `body`'s contents (which the
  // queue keeps for delivery; it must not change any more). Same
  // replies and errors as Put. The default reads the body into memory
  // and calls PutWithOptions.
  virtual net::awaitable<Result<std::string>> PutSpooled(
      std::string from, std::vector<std::string> to,
      std::shared_ptr<const std::string> head,
      std::shared_ptr<const safeio::Spool> body, PutOptions opts) {
    std::string all = head ? *head : std::string();
    if (body) {
      auto rest = body->ReadAll();
      if (!rest.ok()) co_return Status::Transient(rest.status().message());
      all += *rest;
    }
    auto data = std::make_shared<const std::string>(std::move(all));
    auto put =
        PutWithOptions(std::move(from), std::move(to), std::move(data), opts);
    co_return co_await std::move(put);
  }
};

struct Item;
struct Recipient;
enum class AdminAction;

// What DiskQueue needs; the pointers must outlive the queue.
struct Options {
  std::string dir;  // <data_dir>/queue; created (0700) if missing.
  // Normalised local domains (domains/ directories plus "localhost").
  std::set<std::string> local_domains;
  size_t max_items = 200;  // max_queue_items; 0 means the default.
  std::chrono::nanoseconds give_up_after = std::chrono::hours(20);
  aliases::Resolver* aliases = nullptr;  // Null: no alias expansion.
  courier::Courier* local = nullptr;     // email:local (the MDA).
  courier::Courier* remote = nullptr;    // email:remote and forward.
  courier::Courier* pipe = nullptr;      // Pipe aliases.
  // Delay before the next round given the item's creation time. Empty: the
  // spec's schedule with jitter (NextDelay). Tests shorten it.
  std::function<std::chrono::nanoseconds(
      std::chrono::system_clock::time_point created_at)>
      next_delay;
  // Where blocking work runs: fsyncs and alias hooks. Each synced write
  // fsyncs its file before the rename; the directory fsync after the rename
  // is shared by every write waiting for one (safeio::DirSyncer, group
  // commit). The daemon passes its one blocking pool, which must outlive
  // the queue; null: the queue makes its own of `io_threads` threads.
  net::thread_pool* pool = nullptr;
  int io_threads = 8;
  // Item files larger than this are quarantined at start-up, not read
  // into memory; 0: no limit. The daemon derives it from max_data_size_mb.
  uint64_t max_item_size = 0;
};

// chasquid's retry schedule: 1, 5, 10 or 20 minutes by age, plus a
// uniformly random [0, 60 s) jitter.
std::chrono::nanoseconds NextDelay(
    std::chrono::system_clock::time_point created_at);

// A fresh 11-character ID: unpadded base64url of 8 random bytes.
std::string NewID();

// The daemon's queue: items on disk under Options::dir, one send-loop
// coroutine per item (on its own strand of `ex`, holding a shared_ptr to
// the item), couriers called from there. Thread-safe. Destroy only after
// the executor's io_context has stopped running.
class DiskQueue : public Queue {
 public:
  // Creates the directory. Error: Go's text (`mkdir <dir>: not a
  // directory`), for "Error initializing queue: <err>".
  static Result<std::unique_ptr<DiskQueue>> New(net::any_io_executor ex,
                                                Options opts);
  ~DiskQueue() override;

  // Loads every m:* file and starts its send loop; collects empty spare
  // files. Anything else (unparsable, incomplete or oversized items,
  // unfinished writes, foreign files) is moved to <dir>/.quarantine/ with
  // a log line naming it, never loaded or deleted (load.cc). Only failing
  // to list the directory is an error ("Error loading queue: <err>").
  Status Load();

  net::awaitable<Result<std::string>> Put(
      std::string from, std::vector<std::string> to,
      std::shared_ptr<const std::string> data) override;
  net::awaitable<Result<std::string>> PutWithOptions(
      std::string from, std::vector<std::string> to,
      std::shared_ptr<const std::string> data, PutOptions opts) override;
  size_t Len() const override;
  // Spools are ".m:spool-<digits>" in the queue directory (made once a
  // message outgrows kSpoolMemory): dot-files, so
  // no loader reads them as items; Load removes any a crash left.
  static constexpr char kSpoolPrefix[] = ".m:spool-";
  // Messages up to this size stay in memory, as before: a file per
  // message would cost small ones an inode each.
  static constexpr size_t kSpoolMemory = 128 * 1024;
  Result<std::unique_ptr<safeio::Spool>> NewSpool() override;
  net::awaitable<Result<std::string>> PutSpooled(
      std::string from, std::vector<std::string> to,
      std::shared_ptr<const std::string> head,
      std::shared_ptr<const safeio::Spool> body, PutOptions opts) override;

  // The /debug/queue page (dump.cc): chasquid's layout, plus each item's
  // attempt history and next attempt (ours). Items in ID order: those
  // after the ID `after` (all when empty), at most `limit` of them (0: no
  // limit), then, when items are left out at the end, a line naming the
  // next page. "length:" is always the whole queue's.
  std::string DumpText(const std::string& after = "", size_t limit = 0) const;

  // The queue tools (admin.cc), reached through the local RPC (rpc.h).
  // All thread-safe; an unknown or finished ID is the error
  // `no such item "<id>"` (kNoSuchItem, then the quoted ID).
  static constexpr char kNoSuchItem[] = "no such item";

  // The items queued now, in ID order; the pointers keep them alive.
  std::vector<std::shared_ptr<Item>> Items() const;
  Result<std::shared_ptr<Item>> Find(const std::string& id) const;
  // Makes the item's send loop (every item's, when `id` is empty) try its
  // pending recipients now instead of at the end of its wait; an item
  // that is sending tries again as soon as that round ends. Returns how
  // many items were woken.
  Result<size_t> AdminFlush(const std::string& id);
  // Deletes the item's file and forgets it, with no DSN, and says so in
  // the mail log. An attempt already running still completes, but its
  // outcome is not written (the file stays gone).
  Status AdminRemove(const std::string& id);
  // Gives up now: the send loop stops retrying and, as when an item
  // times out, queues a DSN to the sender for every recipient not sent
  // (none for the null sender), then removes the item. Returns once
  // asked; the DSN follows as soon as a running attempt ends.
  Status AdminBounce(const std::string& id);

 private:
  DiskQueue(net::any_io_executor ex, Options opts);
  net::awaitable<void> SendLoop(std::shared_ptr<Item> item);
  net::awaitable<void> SendOne(std::shared_ptr<Item> item, size_t idx,
                               nettrace::Trace* tr);
  // One attempt for one recipient, by the courier its type and domain
  // call for (route.cc). `type` is the deliverAttempts key.
  struct Routed {
    Status status;
    const char* type;
  };
  net::awaitable<Routed> Route(std::shared_ptr<Item> item, Recipient r);
  // Queues the DSN for `item`'s failed recipients; false if it could not
  // (the caller keeps the item and tries again later).
  net::awaitable<bool> SendDSN(std::shared_ptr<Item> item, nettrace::Trace* tr);
  Status Resolve(Item& item, const std::vector<std::string>& to);
  Status Write(Item& item, bool sync);
  void Remove(const std::string& id);
  // Whoever gets true removes the item's file: the send loop when it is
  // done, or AdminRemove; never both. Takes the item's write_mu.
  static bool ClaimRemoval(Item& item);
  // Requests `action` and wakes the loop; error for an unknown ID.
  Result<std::shared_ptr<Item>> Request(const std::string& id,
                                        AdminAction action);
  // Moves <dir>/<name> into <dir>/.quarantine/ and logs `why`; on failure
  // logs and leaves it in place.
  void Quarantine(const std::string& name, const std::string& why);
  // A recycled file for the next write, or "" (then a new one is made).
  std::string TakeSpare();
  void Start(std::shared_ptr<Item> item);
  // Sets the queue's gauges (length, bytes, oldest item) from the running
  // totals below; mu_ held.
  void UpdateGaugesLocked();
  // Takes `item` (about to leave items_) out of the running totals.
  void ForgetLocked(const Item& item);
  bool IsLocal(const std::string& addr) const;
  std::string RewriteSender(const std::string& from,
                            const std::string& original) const;

  net::any_io_executor ex_;
  Options opts_;
  std::unique_ptr<net::thread_pool> own_pool_;  // Unless opts_.pool.
  net::thread_pool* pool_;
  // Fsyncs the queue directory after synced writes, shared by concurrent
  // writers (group commit): the rename is durable before the 250.
  std::unique_ptr<safeio::DirSyncer> dir_sync_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Item>> items_;  // Guarded by mu_.
  // The items' total message size and their creation times, kept as items
  // come and go, for the gauges. Guarded by mu_.
  int64_t bytes_ = 0;
  std::multiset<std::chrono::system_clock::time_point> created_;
  // Files of delivered items, truncated and renamed to ".m:spare-<id>"
  // instead of being deleted, for the next writes to reuse: creating and
  // deleting an inode per message was the largest CPU cost at 50
  // sessions on ext4 (safeio::WriteFileReusing). Dot-files, so loading
  // (ours and chasquid's) ignores them. Guarded by mu_; at most
  // kMaxSpares, collected again at start-up.
  std::vector<std::string> spares_;
  static constexpr size_t kMaxSpares = 64;
  // Renamed spares not emptied yet, and whether a pool task is emptying
  // them (EmptySpares): one task serves every removal that comes while it
  // is queued or running. Guarded by mu_.
  std::vector<std::string> to_empty_;
  bool emptying_ = false;
  void EmptySpares();
};

}  // namespace chasquid::queue
