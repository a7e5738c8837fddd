// Loading the queue at start-up, and moving aside what cannot be loaded.
//
// The queue directory holds items ("m:<id>"), recycled files of delivered
// items (".m:spare-<id>", empty), bodies of large messages (".m:spool-*",
// removed at start-up: see safeio/spool.h) and, only while a write is
// under way, temporary files (".m:<id><digits>"). Anything else found at
// start-up is garbage: a file cut short by a broken disk or a restore, an
// empty or unparsable one, one too large to be an item, a half-written
// temporary or spare file, or a file someone else put there. None of it is
// deleted: it may be the only copy of someone's mail. Each is moved to
// <queue dir>/.quarantine/ (same name, ".1", ".2"... if taken), logged
// with its path and reason, and counted in chasquid/queue/quarantined.
// Loading (ours and chasquid's) reads only "m:*" at the top level, so a
// quarantined file is never loaded again until an admin moves it back.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/log.h"
#include "base/strings.h"
#include "metrics/metrics.h"
#include "queue/item.h"
#include "queue/queue.h"
#include "safeio/safeio.h"

namespace chasquid::queue {

namespace {

metrics::Counter* quarantined = metrics::NewCounter(
    "chasquid/queue/quarantined",
    "files of the queue directory moved to .quarantine at start-up "
    "instead of being loaded");

constexpr char kQuarantine[] = ".quarantine";

// Why a parsed item file cannot be delivered as it is, or "" if it can.
// Everything the daemon writes has all of these, so a file without one
// was damaged: cut short at a line boundary, for instance, it would still
// parse, and deliver an empty message or drop recipients.
std::string Incomplete(const Item& item, const std::string& name) {
  if (item.id.empty()) return "no ID";
  if (name != "m:" + item.id)
    return "ID " + GoQuote(item.id) + " does not match the file name";
  if (item.rcpt.empty()) return "no recipients";
  if (!item.data || item.data->empty()) return "no data";
  if (item.created_at.time_since_epoch().count() == 0) {
    return "no creation time";
  }
  return "";
}

}  // namespace

void DiskQueue::Quarantine(const std::string& name, const std::string& why) {
  std::string from = opts_.dir + "/" + name;
  std::string dir = opts_.dir + "/" + kQuarantine;
  if (Status s = safeio::MkdirAll(dir, 0700); !s.ok()) {
    CLOG_ERROR("queue: cannot quarantine " + GoQuote(from) + " (" + why +
               "), leaving it in place: " + s.message());
    return;
  }
  // Never over an earlier one: each may be someone's only copy.
  std::string to = dir + "/" + name;
  struct stat st;
  for (int n = 1; lstat(to.c_str(), &st) == 0; n++) {
    to = dir + "/" + name + "." + std::to_string(n);
  }
  if (rename(from.c_str(), to.c_str()) != 0) {
    int err = errno;
    CLOG_ERROR("queue: cannot quarantine " + GoQuote(from) + " (" + why +
               "), leaving it in place: rename " + from + " " + to + ": " +
               strerror(err));
    return;
  }
  quarantined->Add();
  CLOG_ERROR("queue: " + why + ": moved " + GoQuote(from) + " to " +
             GoQuote(to));
}

Status DiskQueue::Load() {
  DIR* d = opendir(opts_.dir.c_str());
  if (!d) return Status::Error(PathError("open", opts_.dir, errno));
  std::vector<std::string> names;
  std::vector<std::pair<std::string, std::string>> garbage;  // name, why.
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name == kQuarantine) continue;
    std::string path = opts_.dir + "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;  // Gone meanwhile.
    if (HasPrefix(name, "m:")) {
      if (!S_ISREG(st.st_mode)) {
        garbage.emplace_back(name, "queue item is not a regular file");
      } else if (st.st_size == 0) {
        garbage.emplace_back(name, "empty queue item");
      } else if (opts_.max_item_size &&
                 static_cast<uint64_t>(st.st_size) > opts_.max_item_size) {
        garbage.emplace_back(
            name, "queue item too large (" + std::to_string(st.st_size) +
                      " bytes; an item within max_data_size_mb takes at "
                      "most " +
                      std::to_string(opts_.max_item_size) + ")");
      } else {
        names.push_back(name);
      }
    } else if (HasPrefix(name, ".m:spare-") && S_ISREG(st.st_mode) &&
               st.st_size == 0) {
      std::lock_guard<std::mutex> l(mu_);
      if (spares_.size() < kMaxSpares) {
        spares_.push_back(std::move(path));
      } else {
        unlink(path.c_str());  // Empty: nothing is lost.
      }
    } else if (HasPrefix(name, kSpoolPrefix)) {
      // A body being received, or the on-disk copy of a queued item's
      // data, when the daemon stopped: the first was never answered 250,
      // the second is in its item file too. Neither is anyone's only
      // copy of accepted mail.
      if (unlink(path.c_str()) == 0) {
        CLOG_INFO("queue: removed leftover spool file " + GoQuote(path));
      }
    } else if (HasPrefix(name, ".m:spare-")) {
      // A crash while its item was removed (then a delivered message) or
      // while it was being reused for a new write (a message not yet
      // answered 250): moved aside all the same, never read as an item.
      garbage.emplace_back(name, "spare file not empty");
    } else if (HasPrefix(name, ".m:")) {
      garbage.emplace_back(name, "unfinished write (temporary file)");
    } else {
      garbage.emplace_back(name, "not a queue file");
    }
  }
  closedir(d);
  for (const auto& [name, why] : garbage) Quarantine(name, why);
  // The items that loading keeps as they are on disk must be durable
  // before their send loops rely on that (Item::durable_head): one
  // syncfs flushes whatever a killed daemon (or chasquid, which never
  // fsyncs) left in the page cache, and costs nothing when all is clean.
  size_t loaded_as_written = 0;
  std::vector<std::shared_ptr<Item>> loaded;
  for (const auto& name : names) {
    std::string path = opts_.dir + "/" + name;
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    if (!f) {
      int err = errno;
      Quarantine(name, "cannot read queue item (" +
                           PathError("read", path, err) + ")");
      continue;
    }
    auto item = Unmarshal(ss.str());
    if (!item.ok()) {
      Quarantine(name,
                 "cannot parse queue item (" + item.status().message() + ")");
      continue;
    }
    if (std::string why = Incomplete(**item, name); !why.empty()) {
      Quarantine(name, "incomplete queue item (" + why + ")");
      continue;
    }
    // A file that holds exactly what we would write for it need not be
    // written again until something in it changes (Item::durable_head);
    // the syncfs below makes it durable. One written by chasquid (Go's
    // prototext spaces its fields at random) or by hand is rewritten at
    // its first status write, as before.
    if ((*item)->data->size() <= kSpoolMemory &&
        Marshal(**item, (*item)->rcpt) == ss.view()) {
      (*item)->durable_head = MarshalHead(**item, (*item)->rcpt);
      loaded_as_written++;
    }
    // A large message goes back to a spool file, as when it was received:
    // the queue never holds it in memory while it waits.
    if ((*item)->data->size() > kSpoolMemory) {
      auto spool = safeio::Spool::Create(opts_.dir, kSpoolPrefix);
      if (spool.ok() && (*spool)->Append(*(*item)->data).ok()) {
        (*item)->spool = std::move(*spool);
        (*item)->data = std::make_shared<const std::string>();
      }
    }
    loaded.push_back(std::move(*item));
  }
  if (loaded_as_written > 0) {
    // Before any send loop starts.
    int fd = open(opts_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) != 0) {
      int err = errno;
      CLOG_ERROR("queue: cannot flush the loaded items (" +
                 PathError("syncfs", opts_.dir, err) +
                 "); each is written again at its next attempt");
      for (auto& item : loaded) item->durable_head.clear();
    }
    if (fd >= 0) close(fd);
  }
  for (auto& item : loaded) Start(std::move(item));
  return Status::Ok();
}

}  // namespace chasquid::queue
