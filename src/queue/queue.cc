#include "queue/queue.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "aliases/aliases.h"
#include "base/async.h"
#include "base/log.h"
#include "base/strings.h"
#include "courier/courier.h"
#include "maillog/maillog.h"
#include "metrics/delivery_errors.h"
#include "metrics/latency.h"
#include "metrics/metrics.h"
#include "nettrace/trace.h"
#include "queue/dsn.h"
#include "queue/item.h"
#include "safeio/safeio.h"
#include "tlsrpt/tlsrpt.h"

namespace chasquid::queue {

namespace {

using std::chrono::system_clock;

metrics::Counter* put_count =
    metrics::NewCounter("chasquid/queue/putCount",
                        "count of envelopes attempted to be put in the queue");
metrics::Counter* items_written = metrics::NewCounter(
    "chasquid/queue/itemsWritten", "count of items the queue wrote to disk");
// Ours: status writes left out because the file already held those very
// bytes, durably (Item::durable_head): e.g. a retry that failed as the
// previous one did.
metrics::Counter* writes_skipped = metrics::NewCounter(
    "chasquid/queue/unchangedWritesSkipped",
    "item writes skipped because the file on disk already had the same "
    "contents");
metrics::Counter* dsn_queued = metrics::NewCounter(
    "chasquid/queue/dsnQueued", "count of DSNs that we generated (queued)");
// Ours (chasquid does not fsync the directory): with putCount, how well
// the group commit shares its fsyncs.
metrics::Counter* dir_syncs = metrics::NewCounter(
    "chasquid/queue/dirSyncs",
    "fsyncs of the queue directory, each shared by every item write "
    "waiting for one");
// Ours: writes of items that failed (a full disk, EIO, a read-only queue
// directory), new items and status updates alike; and DSNs that could not
// be queued, whose items stay on disk to try again.
metrics::Counter* write_errors = metrics::NewCounter(
    "chasquid/queue/writeErrors",
    "count of queue item writes that failed (e.g. disk full)");
metrics::Counter* dsn_errors = metrics::NewCounter(
    "chasquid/queue/dsnErrors",
    "count of DSNs that could not be queued (retried later)");
// Ours: what came of the attempts, by recipient type, so that an alert can
// tell mail that gets out from mail that only gets tried.
metrics::CounterMap* deliveries_sent =
    metrics::NewMap("chasquid/queue/deliveriesSent", "recipient_type",
                    "delivery attempts that succeeded, by recipient type");
metrics::CounterMap* deliveries_transient = metrics::NewMap(
    "chasquid/queue/deliveriesTransientFailed", "recipient_type",
    "delivery attempts that failed temporarily (retried), by recipient type");
metrics::CounterMap* deliveries_permanent = metrics::NewMap(
    "chasquid/queue/deliveriesPermanentFailed", "recipient_type",
    "delivery attempts that failed permanently (bounced), by recipient type");
metrics::CounterMap* deliveries_given_up = metrics::NewMap(
    "chasquid/queue/deliveriesGivenUp", "recipient_type",
    "recipients still pending when the queue gave up on them, by recipient "
    "type");

uint64_t Random64() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

// Logs and swallows anything thrown out of a spawned coroutine.
void LogIfThrown(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    CLOG_ERROR(std::string("queue: exception in send loop: ") + ex.what());
  }
}

}  // namespace

std::chrono::nanoseconds NextDelay(system_clock::time_point created_at) {
  using namespace std::chrono_literals;
  auto age = system_clock::now() - created_at;
  std::chrono::nanoseconds delay;
  if (age < 1min) {
    delay = 1min;
  } else if (age < 5min) {
    delay = 5min;
  } else if (age < 10min) {
    delay = 10min;
  } else {
    delay = 20min;
  }
  return delay + std::chrono::nanoseconds(Random64() % 60'000'000'000ULL);
}

std::string NewID() {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  uint64_t v = Random64();
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (v >> (8 * i)) & 0xff;
  // 64 bits in 6-bit groups, big-endian as base64 does: 11 characters.
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : b) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      out += kAlphabet[(acc >> (bits - 6)) & 0x3f];
      bits -= 6;
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 0x3f];
  return out;
}

Result<std::unique_ptr<DiskQueue>> DiskQueue::New(net::any_io_executor ex,
                                                  Options opts) {
  if (Status s = safeio::MkdirAll(opts.dir, 0700); !s.ok()) return s;
  if (opts.max_items == 0) opts.max_items = 200;
  return std::unique_ptr<DiskQueue>(
      new DiskQueue(std::move(ex), std::move(opts)));
}

DiskQueue::DiskQueue(net::any_io_executor ex, Options opts)
    : ex_(std::move(ex)),
      opts_(std::move(opts)),
      own_pool_(opts_.pool ? nullptr
                           : std::make_unique<net::thread_pool>(
                                 std::max(1, opts_.io_threads))),
      pool_(opts_.pool ? opts_.pool : own_pool_.get()),
      dir_sync_(std::make_unique<safeio::DirSyncer>(
          opts_.dir, [] { dir_syncs->Add(); })) {}

DiskQueue::~DiskQueue() {
  if (own_pool_) {
    own_pool_->stop();
    own_pool_->join();
  }
}

size_t DiskQueue::Len() const {
  std::lock_guard<std::mutex> l(mu_);
  return items_.size();
}

Status DiskQueue::Resolve(Item& item, const std::vector<std::string>& to) {
  for (const auto& t : to) {
    item.to.push_back(t);
    std::vector<aliases::Recipient> rcpts;
    if (opts_.aliases) {
      auto r = opts_.aliases->Resolve(t);
      if (!r.ok()) {
        return Status::Error("error resolving aliases for " + GoQuote(t) +
                             ": " + r.status().message());
      }
      rcpts = std::move(*r);
    } else {
      rcpts.push_back(
          aliases::Recipient{t, aliases::RecipientType::kEmail, {}});
    }
    for (auto& a : rcpts) {
      Recipient r;
      r.address = std::move(a.addr);
      r.original_address = t;
      switch (a.type) {
        case aliases::RecipientType::kPipe:
          r.type = Recipient::Type::kPipe;
          break;
        case aliases::RecipientType::kForward:
          r.type = Recipient::Type::kForward;
          r.via = std::move(a.via);
          break;
        default:
          r.type = Recipient::Type::kEmail;
      }
      item.rcpt.push_back(std::move(r));
    }
  }
  return Status::Ok();
}

Status DiskQueue::Write(Item& item, bool sync) {
  std::lock_guard<std::mutex> wl(item.write_mu);
  // Removed by an administrator while an attempt was running: writing the
  // status would bring the item back at the next start.
  if (item.removed) return Status::Ok();
  std::string head;
  {
    std::lock_guard<std::mutex> l(item.mu);
    head = MarshalHead(item, item.rcpt);
  }
  if (!item.durable_head.empty() && head == item.durable_head) {
    // The same bytes are on disk already, durably (see durable_head).
    writes_skipped->Add();
    return Status::Ok();
  }
  item.durable_head.clear();
  items_written->Add();
  // The fields before the data are the file's first write; the data (from
  // memory and the spool, a chunk at a time) and the fields after it are
  // appended by the first step, before the fsync: a large message never
  // sits whole in memory, and the file is Marshal's bytes all the same.
  std::string path = opts_.dir + "/m:" + item.id;
  std::vector<safeio::FileOp> ops;
  ops.push_back([&item](const std::string& tmp, int fd) {
    auto write = [&tmp, fd](std::string_view c) -> Status {
      while (!c.empty()) {
        ssize_t n = ::write(fd, c.data(), c.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Status::Error(PathError("write", tmp, errno));
        c.remove_prefix(static_cast<size_t>(n));
      }
      return Status::Ok();
    };
    if (Status s = MarshalData(item, write); !s.ok()) return s;
    return write(MarshalTail(item));
  });
  if (sync) ops.push_back(safeio::FsyncFileOp);
  Status s = safeio::WriteFileReusing(path, head, 0600, ops, TakeSpare());
  // The data was fsync'd before the rename; the rename itself only
  // survives a power cut once the directory is fsync'd too.
  if (s.ok() && sync) s = dir_sync_->Sync();
  if (!s.ok()) write_errors->Add();
  if (s.ok() && sync) item.durable_head = std::move(head);
  return s;
}

std::string DiskQueue::TakeSpare() {
  std::lock_guard<std::mutex> l(mu_);
  if (spares_.empty()) return "";
  std::string s = std::move(spares_.back());
  spares_.pop_back();
  return s;
}

Result<std::unique_ptr<safeio::Spool>> DiskQueue::NewSpool() {
  auto s = safeio::Spool::Create(opts_.dir, kSpoolPrefix, kSpoolMemory);
  if (s.ok()) return s;
  // Where the message would have been written: counted as a failed item
  // write, and reported as one (the 451's text).
  write_errors->Add();
  return Status::Transient("failed to write item: " + s.status().message());
}

net::awaitable<Result<std::string>> DiskQueue::Put(
    std::string from, std::vector<std::string> to,
    std::shared_ptr<const std::string> data) {
  auto put = PutSpooled(std::move(from), std::move(to), std::move(data),
                        nullptr, PutOptions{});
  co_return co_await std::move(put);
}

net::awaitable<Result<std::string>> DiskQueue::PutWithOptions(
    std::string from, std::vector<std::string> to,
    std::shared_ptr<const std::string> data, PutOptions put_opts) {
  auto put = PutSpooled(std::move(from), std::move(to), std::move(data),
                        nullptr, put_opts);
  co_return co_await std::move(put);
}

net::awaitable<Result<std::string>> DiskQueue::PutSpooled(
    std::string from, std::vector<std::string> to,
    std::shared_ptr<const std::string> data,
    std::shared_ptr<const safeio::Spool> body, PutOptions put_opts) {
  nettrace::Trace tr("Queue.Put", from);
  if (body && !body->error().ok()) {
    // Spooling failed while the message came in (a full disk, EIO): as a
    // failed item write, which it would have been.
    write_errors->Add();
    tr.Error("spool: " + body->error().message());
    co_return Status::Transient("failed to write item: " +
                                body->error().message());
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    if (items_.size() >= opts_.max_items) {
      tr.Error("queue full (" + std::to_string(items_.size()) + " items)");
      co_return Status::Transient("Queue size too big, try again later");
    }
  }
  put_count->Add();
  auto item = std::make_shared<Item>();
  item->id = NewID();
  item->from = std::move(from);
  item->data = std::move(data);
  if (body && body->in_memory()) {
    // Small: whole in memory, as it was received.
    std::string all = item->data ? *item->data : std::string();
    all += body->memory();
    item->data = std::make_shared<const std::string>(std::move(all));
  } else if (body && body->size() > 0) {
    item->spool = std::move(body);
    tr.Debugf("spooled: " + std::to_string(item->spool->size()) + " bytes");
  }
  item->created_at = system_clock::now();
  item->require_tls = put_opts.require_tls;
  if (item->require_tls) tr.Debugf("REQUIRETLS");
  // Alias hooks may take seconds and the fsync milliseconds: both run on
  // the queue's pool, in one hop. The item is durable when this returns.
  // (A named lambda: GCC 12 destroys a temporary lambda argument of a
  // coroutine call inside co_await twice.)
  auto resolve_and_write = [this, item, to = std::move(to)] {
    Status rs = Resolve(*item, to);
    if (!rs.ok()) return rs;
    Status ws = Write(*item, /*sync=*/true);
    if (!ws.ok())
      return Status::Transient("failed to write item: " + ws.message());
    return Status::Ok();
  };
  Status s = co_await RunBlocking(*pool_, std::move(resolve_and_write));
  if (!s.ok()) {
    tr.Error(s.message());
    co_return s;
  }
  for (const auto& r : item->rcpt) tr.Debugf("recipient: " + r.address);
  tr.Debugf("queued");
  Start(item);
  co_return item->id;
}

void DiskQueue::Start(std::shared_ptr<Item> item) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto [it, inserted] = items_.try_emplace(item->id, item);
    if (!inserted) {
      ForgetLocked(*it->second);
      it->second = item;
    }
    bytes_ += static_cast<int64_t>(item->DataSize());
    created_.insert(item->created_at);
    UpdateGaugesLocked();
  }
  net::co_spawn(net::make_strand(ex_), SendLoop(std::move(item)), LogIfThrown);
}

bool DiskQueue::ClaimRemoval(Item& item) {
  std::lock_guard<std::mutex> wl(item.write_mu);
  if (item.removed) return false;
  item.removed = true;
  return true;
}

void DiskQueue::Remove(const std::string& id) {
  std::string path = opts_.dir + "/m:" + id;
  // Recycled rather than deleted when the pool has room (see spares_).
  // The rename is as atomic a record as the unlink: loading never sees
  // the item again. It stays here, inline, for the same reason as the
  // last status write (SendOne); emptying the file (freeing its blocks,
  // so no delivered message lingers) is not part of the record and runs
  // on the pool.
  bool room;
  {
    std::lock_guard<std::mutex> l(mu_);
    room = spares_.size() + to_empty_.size() < kMaxSpares;
  }
  std::string spare = opts_.dir + "/.m:spare-" + id;
  if (room && rename(path.c_str(), spare.c_str()) == 0) {
    // One pool task empties every spare renamed until it runs: under load
    // many removals share one hop to the pool instead of one each.
    bool post;
    {
      std::lock_guard<std::mutex> l(mu_);
      to_empty_.push_back(std::move(spare));
      post = !emptying_;
      emptying_ = true;
    }
    if (post) net::post(*pool_, [this] { EmptySpares(); });
  } else if (unlink(path.c_str()) != 0) {
    CLOG_ERROR("failed to remove queue file " + GoQuote(path) + ": " +
               PathError("remove", path, errno));
  }
  std::lock_guard<std::mutex> l(mu_);
  if (auto it = items_.find(id); it != items_.end()) {
    ForgetLocked(*it->second);
    items_.erase(it);
  }
  UpdateGaugesLocked();
}

void DiskQueue::EmptySpares() {
  for (;;) {
    std::vector<std::string> batch;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (to_empty_.empty()) {
        emptying_ = false;
        return;
      }
      batch.swap(to_empty_);
    }
    for (auto& spare : batch) {
      bool keep = truncate(spare.c_str(), 0) == 0;
      if (keep) {
        std::lock_guard<std::mutex> l(mu_);
        keep = spares_.size() < kMaxSpares;
        if (keep) spares_.push_back(std::move(spare));
      }
      if (!keep) unlink(spare.c_str());
    }
  }
}

void DiskQueue::ForgetLocked(const Item& item) {
  bytes_ -= static_cast<int64_t>(item.DataSize());
  if (auto c = created_.find(item.created_at); c != created_.end()) {
    created_.erase(c);
  }
}

void DiskQueue::UpdateGaugesLocked() {
  // From the running totals: a scan of every item here made loading a
  // queue of n items cost n^2 steps (a minute of CPU for 100,000).
  metrics::QueueLength()->Set(static_cast<int64_t>(items_.size()));
  metrics::QueueBytes()->Set(bytes_);
  metrics::QueueOldestItem()->Set(
      created_.empty() ? 0
                       : std::chrono::duration_cast<std::chrono::seconds>(
                             created_.begin()->time_since_epoch())
                             .count());
}

net::awaitable<void> DiskQueue::SendOne(std::shared_ptr<Item> item, size_t idx,
                                        nettrace::Trace* tr) {
  Recipient r;
  {
    std::lock_guard<std::mutex> l(item->mu);
    r = item->rcpt[idx];
  }
  tr->Debugf(r.address + " sending");
  auto attempt_start = std::chrono::steady_clock::now();
  auto attempt_wall = system_clock::now();
  Routed routed = co_await Route(item, r);
  Status s = std::move(routed.status);
  const char* type = routed.type;

  auto attempt_took = std::chrono::steady_clock::now() - attempt_start;
  metrics::DeliveryAttemptDuration()->Observe(
      type, std::chrono::duration<double>(attempt_took).count());
  if (s.ok()) {
    // From our 250 (the item's creation, kept across restarts) to now.
    metrics::TimeToDelivery()->Observe(
        type,
        std::chrono::duration<double>(system_clock::now() - item->created_at)
            .count());
  }

  bool more = false, all_sent = true, write_now = false;
  {
    std::lock_guard<std::mutex> l(item->mu);
    Attempt a;
    a.when = attempt_wall;
    a.address = r.address;
    a.result = s.ok()          ? Attempt::Result::kSent
               : s.permanent() ? Attempt::Result::kPermanent
                               : Attempt::Result::kTransient;
    a.message = s.message();
    a.duration =
        std::chrono::duration_cast<std::chrono::nanoseconds>(attempt_took);
    item->attempts.push_back(std::move(a));
    if (item->attempts.size() > Item::kMaxAttempts) item->attempts.pop_front();
    item->attempt_count++;
    auto& rr = item->rcpt[idx];
    if (s.ok()) {
      rr.status = Recipient::Status::kSent;
    } else if (s.permanent()) {
      rr.status = Recipient::Status::kFailed;
      rr.last_failure_message = s.message();
    } else {
      rr.last_failure_message = s.message();
    }
    for (const auto& x : item->rcpt) {
      if (x.status == Recipient::Status::kPending) more = true;
      if (x.status != Recipient::Status::kSent) all_sent = false;
    }
    // Group commit of status writes: a write queued for this item and
    // not started yet marshals the item when it starts, so it carries
    // this status too. Only the first attempt to finish while none is
    // queued queues one (and waits for it).
    if (more) {
      write_now = !item->status_write_queued;
      item->status_write_queued = true;
    }
  }
  if (s.ok()) {
    deliveries_sent->Add(type);
  } else if (s.permanent()) {
    deliveries_permanent->Add(type);
  } else {
    deliveries_transient->Add(type);
  }
  // For the monitoring overview's list of recent errors (bounded).
  if (!s.ok()) {
    metrics::RecordDeliveryError(r.address, type, s.permanent(), s.message());
  }
  if (s.ok()) {
    tr->Printf(r.address + " sent");
    maillog::SendAttempt(item->id, item->from, r.address, "", false);
  } else if (s.permanent()) {
    tr->Error(r.address + " permanent error: " + s.message());
    maillog::SendAttempt(item->id, item->from, r.address, s.message(), true);
  } else {
    tr->Printf(r.address + " temporary error: " + s.message());
    maillog::SendAttempt(item->id, item->from, r.address, s.message(), false);
  }
  // The status must reach the disk so a restart does not deliver twice.
  // While recipients are pending the item stays, so the write is fsync'd.
  // Once every recipient is SENT the send loop removes the file next,
  // with nothing in between that can wait (no DSN): the removal is the
  // record, and writing the item first would only widen the window in
  // which a crash repeats this delivery (and cost a file create, write
  // and rename per message). Otherwise (a DSN follows) the write is not
  // fsync'd: a crash before the removal leaves the previous, fsync'd
  // version, which at worst delivers again.
  //
  // The unsynced write (and the removal after it) run right here rather
  // than queue on the pool behind other items' fsyncs: until they are
  // done a crash repeats this delivery, so the window must stay short
  // (microseconds, not the pool's backlog of fsyncs).
  //
  // While recipients are pending, concurrent attempts (a message to many
  // local users: one MDA each) share synced writes: one per item waits
  // in the pool at a time, and whichever attempt finishes while it waits
  // rides on it. Each was a full rewrite and two flushes per recipient,
  // and they held the pool that new messages' writes wait for.
  Status ws;
  if (more && write_now) {
    auto write = [this, item] {
      {
        // From here on a status change needs a write of its own.
        std::lock_guard<std::mutex> l(item->mu);
        item->status_write_queued = false;
      }
      return Write(*item, /*sync=*/true);
    };
    ws = co_await RunBlocking(*pool_, std::move(write));
  } else if (more) {
    // Carried by the write queued by another attempt.
  } else if (!all_sent) {
    ws = Write(*item, /*sync=*/false);
  }
  if (!ws.ok()) tr->Error("failed to write item: " + ws.message());
}

net::awaitable<void> DiskQueue::SendLoop(std::shared_ptr<Item> item) {
  nettrace::Trace tr("Queue.SendLoop", item->id);
  nettrace::Task task("queue", item->id);
  tr.Printf("from " + item->from);
  auto ex = co_await net::this_coro::executor;
  // Shared with item->wake, which a flush may call after this frame is
  // gone; the timer is only touched on this strand.
  auto timer = std::make_shared<net::steady_timer>(ex);
  {
    std::lock_guard<std::mutex> l(item->mu);
    item->wake = [timer, ex] { net::post(ex, [timer] { timer->cancel(); }); };
  }

  while (system_clock::now() - item->created_at < opts_.give_up_after) {
    std::vector<size_t> pending;
    {
      std::lock_guard<std::mutex> l(item->mu);
      if (item->action != AdminAction::kNone) break;
      item->next_attempt = {};
      item->wake_requested = false;
      for (size_t i = 0; i < item->rcpt.size(); i++) {
        if (item->rcpt[i].status == Recipient::Status::kPending) {
          pending.push_back(i);
        }
      }
    }
    task.SetState("sending");
    if (pending.size() == 1) {
      co_await SendOne(item, pending[0], &tr);
    } else if (!pending.empty()) {
      // All pending recipients in parallel, on this item's strand; the
      // timer is the "all done" event (it never fires by itself).
      auto left = std::make_shared<size_t>(pending.size());
      net::steady_timer done(ex, net::steady_timer::time_point::max());
      for (size_t idx : pending) {
        net::co_spawn(ex, SendOne(item, idx, &tr),
                      [left, &done](std::exception_ptr e) {
                        LogIfThrown(e);
                        if (--*left == 0) done.cancel();
                      });
      }
      while (*left > 0) {
        co_await done.async_wait(net::as_tuple(net::use_awaitable));
      }
    }

    auto delay = opts_.next_delay ? opts_.next_delay(item->created_at)
                                  : NextDelay(item->created_at);
    bool more = false, flushed = false;
    {
      std::lock_guard<std::mutex> l(item->mu);
      for (const auto& r : item->rcpt) {
        if (r.status == Recipient::Status::kPending) more = true;
      }
      if (item->action != AdminAction::kNone) break;
      item->next_attempt =
          system_clock::now() +
          std::chrono::duration_cast<system_clock::duration>(delay);
      flushed = item->wake_requested;
    }
    if (!more) break;

    maillog::QueueLoop(item->id, item->from, delay);
    tr.Printf("waiting for " + FormatGoDuration(delay));
    task.SetState("waiting " + FormatGoDuration(delay));
    // A flush that came while sending skips the wait; one that comes
    // later cancels it (item->wake runs on this strand, so it cannot fall
    // between the check above and the wait below).
    if (flushed) continue;
    timer->expires_after(delay);
    co_await timer->async_wait(net::as_tuple(net::use_awaitable));
  }

  AdminAction action;
  bool failed = false;
  {
    std::lock_guard<std::mutex> l(item->mu);
    action = item->action;
    item->wake = nullptr;
    item->next_attempt = {};
    for (const auto& r : item->rcpt) {
      if (r.status != Recipient::Status::kSent) failed = true;
      if (r.status != Recipient::Status::kPending) continue;
      // Still pending: the give-up time ran out before it was delivered.
      deliveries_given_up->Add(r.type == Recipient::Type::kPipe      ? "pipe"
                               : r.type == Recipient::Type::kForward ? "forward"
                               : IsLocal(r.address) ? "email:local"
                                                    : "email:remote");
    }
  }
  if (action == AdminAction::kRemove) {
    // AdminRemove already took the file and the map entry.
    tr.Printf("removed by the administrator");
    co_return;
  }
  if (action == AdminAction::kBounce) tr.Printf("bounced by the administrator");
  // Never a DSN for a DSN (or any null-sender message): no loops.
  // The item is the only record of the failure until its DSN is queued,
  // so it stays (on disk too) while that fails, e.g. on a full disk, and
  // the DSN is tried again on the retry schedule. chasquid drops the item
  // and with it the bounce.
  while (failed && item->from != "<>") {
    auto dsn = SendDSN(item, &tr);
    if (co_await std::move(dsn)) break;
    auto delay = opts_.next_delay ? opts_.next_delay(item->created_at)
                                  : NextDelay(item->created_at);
    tr.Printf("retrying the DSN in " + FormatGoDuration(delay));
    task.SetState("DSN waiting " + FormatGoDuration(delay));
    timer->expires_after(delay);
    co_await timer->async_wait(net::as_tuple(net::use_awaitable));
  }

  tr.Printf("all done");
  maillog::QueueLoop(item->id, item->from, std::chrono::nanoseconds(0));
  // Inline for the same reason as the last status write (see SendOne).
  // An administrator's removal during the DSN took the file already.
  if (ClaimRemoval(*item)) Remove(item->id);
}

net::awaitable<bool> DiskQueue::SendDSN(std::shared_ptr<Item> item,
                                        nettrace::Trace* tr) {
  tr->Debugf("sending DSN");
  DSNParams p;
  p.from = item->from;
  // The DSN quotes at most the message's first 256 KiB (dsn.h).
  auto quoted =
      item->spool
          ? std::make_shared<const std::string>(item->Prefix(kDSNQuoteMax))
          : item->data;
  p.data = quoted.get();
  // RFC 8689 §5: the bounce of a REQUIRETLS message carries only the
  // original header, and goes back under REQUIRETLS itself.
  std::string header_only;
  if (item->require_tls && quoted) {
    size_t end = quoted->find("\n\n");
    header_only = quoted->substr(
        0, end == std::string::npos ? std::string::npos : end + 1);
    p.data = &header_only;
  }
  {
    std::lock_guard<std::mutex> l(item->mu);
    p.rcpt = item->rcpt;
  }
  p.is_local = [this](const std::string& d) {
    return opts_.local_domains.count(d) > 0;
  };
  p.id2 = NewID();
  p.boundary = NewID();
  p.date = Rfc1123ZNow();
  auto msg = std::make_shared<const std::string>(BuildDSN(p));
  std::string null_sender = "<>";
  std::vector<std::string> to = {item->from};
  PutOptions put_opts;
  put_opts.require_tls = item->require_tls;
  auto id = co_await PutWithOptions(std::move(null_sender), std::move(to),
                                    std::move(msg), put_opts);
  if (!id.ok()) {
    dsn_errors->Add();
    tr->Error("failed to queue DSN: " + id.status().message());
    co_return false;
  }
  dsn_queued->Add();
  tr->Printf("queued DSN: " + *id);
  co_return true;
}

}  // namespace chasquid::queue
