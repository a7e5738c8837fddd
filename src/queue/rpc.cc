#include "queue/rpc.h"

#include <chrono>
#include <mutex>

#include <boost/json.hpp>

#include "localrpc/localrpc.h"
#include "queue/item.h"
#include "queue/queue.h"

namespace chasquid::queue {

namespace {

namespace json = boost::json;
using std::chrono::system_clock;

// Bounds on what one answer carries: the list stops (and says it was
// truncated) past kMaxListBytes of JSON, a huge queue being no reason to
// build an unbounded reply; QueueShow sends at most kMaxHeaderBytes of the
// message's header block, never the body.
constexpr size_t kMaxListBytes = 8 << 20;
constexpr size_t kMaxHeaderBytes = 64 << 10;

const char* StateOf(const Item& item) {
  switch (item.action) {
    case AdminAction::kRemove:
      return "removing";
    case AdminAction::kBounce:
      return "bouncing";
    default:
      break;
  }
  return item.next_attempt.time_since_epoch().count() == 0 ? "sending"
                                                           : "waiting";
}

std::string HeaderBlock(const std::string& data) {
  size_t end = data.find("\n\n");
  end = end == std::string::npos ? data.size() : end + 1;
  return data.substr(0, std::min(end, kMaxHeaderBytes));
}

json::object ItemObject(const Item& item, bool history) {
  json::object o;
  o["id"] = item.id;
  o["from"] = item.from;
  json::array to;
  for (const auto& t : item.to) to.emplace_back(t);
  o["to"] = std::move(to);
  o["created_at"] = FormatTime(item.created_at);
  o["age_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(
                         system_clock::now() - item.created_at)
                         .count();
  o["size"] = item.DataSize();

  std::lock_guard<std::mutex> l(item.mu);
  o["state"] = StateOf(item);
  o["attempt_count"] = item.attempt_count;
  if (item.next_attempt.time_since_epoch().count() == 0) {
    o["next_attempt"] = nullptr;
  } else {
    o["next_attempt"] = FormatTime(item.next_attempt);
  }
  json::array rcpts;
  for (const auto& r : item.rcpt) {
    json::object ro;
    ro["address"] = r.address;
    ro["original_address"] = r.original_address;
    ro["type"] = TypeName(r.type);
    ro["status"] = StatusName(r.status);
    ro["last_failure"] = r.last_failure_message;
    json::array via;
    for (const auto& v : r.via) via.emplace_back(v);
    ro["via"] = std::move(via);
    rcpts.emplace_back(std::move(ro));
  }
  o["recipients"] = std::move(rcpts);
  if (history) {
    json::array attempts;
    for (const auto& a : item.attempts) {
      json::object ao;
      ao["time"] = FormatTime(a.when);
      ao["recipient"] = a.address;
      ao["result"] = ResultName(a.result);
      ao["message"] = a.message;
      ao["duration_seconds"] =
          std::chrono::duration<double>(a.duration).count();
      attempts.emplace_back(std::move(ao));
    }
    o["attempts"] = std::move(attempts);
    o["headers"] = HeaderBlock(item.Prefix(kMaxHeaderBytes + 1));
  }
  return o;
}

Result<localrpc::Values> List(DiskQueue* q) {
  json::array items;
  size_t bytes = 0;
  bool truncated = false;
  for (const auto& item : q->Items()) {
    json::object o = ItemObject(*item, false);
    bytes += json::serialize(o).size();
    if (bytes > kMaxListBytes) {
      truncated = true;
      break;
    }
    items.emplace_back(std::move(o));
  }
  json::object out;
  out["items"] = std::move(items);
  out["truncated"] = truncated;
  return localrpc::Values{{"JSON", json::serialize(out)}};
}

Result<localrpc::Values> Show(DiskQueue* q, const localrpc::Values& args) {
  auto item = q->Find(localrpc::Get(args, "ID"));
  if (!item.ok()) return item.status();
  return localrpc::Values{{"JSON", ItemJSON(**item, true)}};
}

Result<localrpc::Values> Flush(DiskQueue* q, const localrpc::Values& args) {
  std::string id = localrpc::Get(args, "ID");
  if (id.empty() && localrpc::Get(args, "All") != "true") {
    return Status::Error("an item ID or All=true is needed");
  }
  auto n = q->AdminFlush(id);
  if (!n.ok()) return n.status();
  return localrpc::Values{{"Flushed", std::to_string(*n)}};
}

}  // namespace

std::string ItemJSON(const Item& item, bool history) {
  return json::serialize(ItemObject(item, history));
}

void RegisterRpc(localrpc::Server* server, DiskQueue* q) {
  server->Register("QueueList",
                   [q](const localrpc::Values&) { return List(q); });
  server->Register("QueueShow",
                   [q](const localrpc::Values& args) { return Show(q, args); });
  server->Register("QueueFlush", [q](const localrpc::Values& args) {
    return Flush(q, args);
  });
  server->Register(
      "QueueRemove",
      [q](const localrpc::Values& args) -> Result<localrpc::Values> {
        Status s = q->AdminRemove(localrpc::Get(args, "ID"));
        if (!s.ok()) return s;
        return localrpc::Values{};
      });
  server->Register(
      "QueueBounce",
      [q](const localrpc::Values& args) -> Result<localrpc::Values> {
        Status s = q->AdminBounce(localrpc::Get(args, "ID"));
        if (!s.ok()) return s;
        return localrpc::Values{};
      });
}

}  // namespace chasquid::queue
