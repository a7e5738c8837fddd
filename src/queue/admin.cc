// The queue tools' side of DiskQueue: what an administrator may do to a
// queued item while the daemon runs. The daemon owns the queue, so every
// change goes through the item's send loop or, for a removal, through the
// same write lock its status writes take; nothing edits files behind it.
#include <functional>

#include "base/log.h"
#include "base/strings.h"
#include "maillog/maillog.h"
#include "metrics/metrics.h"
#include "queue/item.h"
#include "queue/queue.h"

namespace chasquid::queue {

namespace {

metrics::CounterMap* admin_ops = metrics::NewMap(
    "chasquid/queue/adminOperations", "operation",
    "queue tool operations carried out (list, show, flush, remove, bounce)");

Status NoSuchItem(const std::string& id) {
  return Status::Error(std::string(DiskQueue::kNoSuchItem) + " " + GoQuote(id));
}

void Wake(Item& item) {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> l(item.mu);
    item.wake_requested = true;
    wake = item.wake;
  }
  // Outside the lock: it posts to the loop's strand.
  if (wake) wake();
}

}  // namespace

std::vector<std::shared_ptr<Item>> DiskQueue::Items() const {
  std::vector<std::shared_ptr<Item>> out;
  {
    std::lock_guard<std::mutex> l(mu_);
    out.reserve(items_.size());
    for (const auto& [id, item] : items_) out.push_back(item);
  }
  admin_ops->Add("list");
  return out;
}

Result<std::shared_ptr<Item>> DiskQueue::Find(const std::string& id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = items_.find(id);
  if (it == items_.end()) return NoSuchItem(id);
  admin_ops->Add("show");
  return it->second;
}

Result<size_t> DiskQueue::AdminFlush(const std::string& id) {
  std::vector<std::shared_ptr<Item>> items;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (id.empty()) {
      for (const auto& [_, item] : items_) items.push_back(item);
    } else if (auto it = items_.find(id); it != items_.end()) {
      items.push_back(it->second);
    } else {
      return NoSuchItem(id);
    }
  }
  for (const auto& item : items) Wake(*item);
  admin_ops->Add("flush", static_cast<int64_t>(items.size()));
  CLOG_INFO("queue: flushed " + std::to_string(items.size()) + " item(s)" +
            (id.empty() ? "" : ": " + id));
  return items.size();
}

Result<std::shared_ptr<Item>> DiskQueue::Request(const std::string& id,
                                                 AdminAction action) {
  std::shared_ptr<Item> item;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = items_.find(id);
    if (it == items_.end()) return NoSuchItem(id);
    item = it->second;
  }
  {
    std::lock_guard<std::mutex> l(item->mu);
    // A second request for the same item changes nothing: the first one
    // decides (a removal wins over a bounce, as it has no DSN to wait for).
    if (item->action == AdminAction::kNone || action == AdminAction::kRemove) {
      item->action = action;
    }
  }
  Wake(*item);
  return item;
}

Status DiskQueue::AdminRemove(const std::string& id) {
  auto item = Request(id, AdminAction::kRemove);
  if (!item.ok()) return item.status();
  // The send loop finishing at this moment may have claimed it first: then
  // the item is gone either way, but not by us.
  if (!ClaimRemoval(**item)) return NoSuchItem(id);
  Remove(id);
  admin_ops->Add("remove");
  maillog::Default().Printf(id + " from=" + (*item)->from +
                            " removed by the administrator, no DSN");
  CLOG_INFO("queue: " + id + " removed by the administrator");
  return Status::Ok();
}

Status DiskQueue::AdminBounce(const std::string& id) {
  auto item = Request(id, AdminAction::kBounce);
  if (!item.ok()) return item.status();
  {
    // The DSN quotes each pending recipient's last error: say why when
    // there was none yet.
    std::lock_guard<std::mutex> l((*item)->mu);
    for (auto& r : (*item)->rcpt) {
      if (r.status == Recipient::Status::kPending &&
          r.last_failure_message.empty()) {
        r.last_failure_message = "delivery cancelled by the administrator";
      }
    }
  }
  admin_ops->Add("bounce");
  maillog::Default().Printf(id + " from=" + (*item)->from +
                            " bounced by the administrator");
  CLOG_INFO("queue: " + id + " bounced by the administrator");
  return Status::Ok();
}

}  // namespace chasquid::queue
