// chasquid-util queue list|show|flush|remove|bounce: the queue tools. They
// ask the running daemon over the local RPC (the daemon owns the queue;
// nothing here reads or writes queue files), see queue/rpc.h for the
// methods. Exit statuses, for scripts (documented in chasquid-util(1)):
//   0 done; 1 usage or other error; 2 the daemon cannot be reached;
//   3 no such item; 4 removal not confirmed.
#include <cstdio>
#include <iostream>
#include <string>

#include <boost/json.hpp>

#include "base/strings.h"
#include "command.h"
#include "config/config.h"
#include "localrpc/localrpc.h"

namespace chasquid::util {
namespace {

namespace json = boost::json;

constexpr int kExitUnreachable = 2;
constexpr int kExitNoSuchItem = 3;
constexpr int kExitNotConfirmed = 4;

[[noreturn]] void Exit(int code, const std::string& msg) {
  fflush(stdout);
  std::cerr << msg << "\n";
  std::cerr.flush();
  exit(code);
}

// Calls `method`, exiting with the status that says why on failure.
localrpc::Values Call(const Args& args, const std::string& method,
                      const localrpc::Values& in) {
  auto conf = config::Load(args.config_dir() + "/chasquid.conf", "");
  if (!conf.ok()) Fatal("Error loading config: " + conf.status().message());
  std::string sock = conf->data_dir() + "/localrpc-v1";
  auto r = localrpc::Call(sock, method, in);
  if (r.ok()) return std::move(*r);
  std::string m = r.status().message();
  if (HasPrefix(m, "dial unix ") || HasPrefix(m, "read unix ")) {
    Exit(kExitUnreachable,
         "Error: cannot reach chasquid (is it running?): " + m);
  }
  if (HasPrefix(m, "no such item")) Exit(kExitNoSuchItem, "Error: " + m);
  if (m == "unknown method") {
    Fatal("Error: the running chasquid has no queue tools (" + m + ")");
  }
  Fatal("Error: " + m);
}

json::value CallJSON(const Args& args, const std::string& method,
                     const localrpc::Values& in) {
  auto out = Call(args, method, in);
  boost::system::error_code ec;
  json::value v = json::parse(localrpc::Get(out, "JSON"), ec);
  if (ec || !v.is_object()) Fatal("Error: bad reply from chasquid");
  return v;
}

std::string Str(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : "";
}

int64_t Int(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

std::string Age(const json::object& o) {
  return FormatGoDuration(std::chrono::seconds(Int(o, "age_seconds")));
}

std::string ID(const Args& args) {
  std::string id = args.Get("$3");
  if (id.empty()) Fatal("Error: an item ID is needed");
  return id;
}

// One line per item, as mailq: ID, age, size, sender, then each
// recipient's status and address, and its last error if any.
int List(const Args& args) {
  json::value v = CallJSON(args, "QueueList", {});
  if (args.Has("--json")) {
    printf("%s\n", json::serialize(v).c_str());
    return 0;
  }
  const json::array& items = v.as_object().at("items").as_array();
  if (items.empty()) {
    printf("Mail queue is empty\n");
    return 0;
  }
  printf("%-12s %8s %10s  %s  %s\n", "ID", "AGE", "SIZE", "FROM", "RECIPIENTS");
  for (const auto& iv : items) {
    const json::object& it = iv.as_object();
    std::string line;
    for (const auto& rv : it.at("recipients").as_array()) {
      const json::object& r = rv.as_object();
      if (!line.empty()) line += ", ";
      line += Str(r, "status") + " " + Str(r, "address");
      std::string err = Str(r, "last_failure");
      // append(), not " " + ...: GCC 12's -Wrestrict false positive at -O3.
      if (!err.empty()) line.append(" ").append(GoQuote(err));
    }
    printf("%-12s %8s %10lld  %s  %s\n", Str(it, "id").c_str(), Age(it).c_str(),
           static_cast<long long>(Int(it, "size")), Str(it, "from").c_str(),
           line.c_str());
  }
  printf("-- %zu item%s\n", items.size(), items.size() == 1 ? "" : "s");
  if (v.as_object().at("truncated").as_bool()) {
    fprintf(stderr, "(more items queued than one listing carries)\n");
  }
  return 0;
}

void PrintItem(const json::object& it) {
  printf("ID: %s\n", Str(it, "id").c_str());
  printf("From: %s\n", Str(it, "from").c_str());
  std::string to;
  for (const auto& t : it.at("to").as_array()) {
    if (!to.empty()) to += ", ";
    to += std::string(t.as_string());
  }
  printf("To: %s\n", to.c_str());
  printf("Created: %s (%s ago)\n", Str(it, "created_at").c_str(),
         Age(it).c_str());
  printf("Size: %lld bytes\n", static_cast<long long>(Int(it, "size")));
  std::string next = Str(it, "next_attempt");
  printf("State: %s%s\n", Str(it, "state").c_str(),
         next.empty() ? "" : (", next attempt at " + next).c_str());
  printf("Recipients:\n");
  for (const auto& rv : it.at("recipients").as_array()) {
    const json::object& r = rv.as_object();
    printf("  %s %s (%s)\n", Str(r, "status").c_str(),
           Str(r, "address").c_str(), Str(r, "type").c_str());
    printf("    original address: %s\n", Str(r, "original_address").c_str());
    for (const auto& via : r.at("via").as_array()) {
      printf("    via: %s\n", std::string(via.as_string()).c_str());
    }
    std::string err = Str(r, "last_failure");
    if (!err.empty()) printf("    last error: %s\n", GoQuote(err).c_str());
  }
  const json::array& attempts = it.at("attempts").as_array();
  printf("Attempts: %lld", static_cast<long long>(Int(it, "attempt_count")));
  if (Int(it, "attempt_count") > static_cast<int64_t>(attempts.size())) {
    printf(" (the last %zu below)", attempts.size());
  }
  printf("\n");
  for (const auto& av : attempts) {
    const json::object& a = av.as_object();
    double secs = a.at("duration_seconds").to_number<double>();
    std::string msg = Str(a, "message");
    printf("  %s %s %s in %.3fs%s\n", Str(a, "time").c_str(),
           Str(a, "recipient").c_str(), Str(a, "result").c_str(), secs,
           msg.empty() ? "" : (": " + GoQuote(msg)).c_str());
  }
  printf("Headers:\n");
  for (const auto& h : Split(Str(it, "headers"), "\n")) {
    if (!h.empty()) printf("  %s\n", h.c_str());
  }
}

int Show(const Args& args) {
  json::value v = CallJSON(args, "QueueShow", {{"ID", ID(args)}});
  if (args.Has("--json")) {
    printf("%s\n", json::serialize(v).c_str());
  } else {
    PrintItem(v.as_object());
  }
  return 0;
}

int Flush(const Args& args) {
  localrpc::Values in;
  if (args.Has("--all")) {
    in.emplace_back("All", "true");
  } else {
    in.emplace_back("ID", ID(args));
  }
  auto out = Call(args, "QueueFlush", in);
  printf("Flushed %s item(s)\n", localrpc::Get(out, "Flushed").c_str());
  return 0;
}

// Asks on the terminal (stdin), as postsuper does not: a removal loses
// mail without telling the sender. --yes skips the question.
bool Confirm(const json::object& it) {
  std::string to;
  for (const auto& t : it.at("to").as_array()) {
    to.append(" ").append(t.as_string());
  }
  printf("Remove %s from %s to%s (%lld bytes), without a DSN? [y/N] ",
         Str(it, "id").c_str(), Str(it, "from").c_str(), to.c_str(),
         static_cast<long long>(Int(it, "size")));
  fflush(stdout);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  std::string a = AsciiToLower(TrimSpace(answer));
  return a == "y" || a == "yes";
}

int Remove(const Args& args) {
  std::string id = ID(args);
  if (!args.Has("--yes")) {
    json::value v = CallJSON(args, "QueueShow", {{"ID", id}});
    if (!Confirm(v.as_object())) Exit(kExitNotConfirmed, "Not removed");
  }
  Call(args, "QueueRemove", {{"ID", id}});
  printf("Removed %s\n", id.c_str());
  return 0;
}

int Bounce(const Args& args) {
  std::string id = ID(args);
  Call(args, "QueueBounce", {{"ID", id}});
  printf("Bouncing %s: the sender gets a DSN\n", id.c_str());
  return 0;
}

int Queue(const Args& args) {
  std::string verb = args.Get("$2");
  if (verb == "list") return List(args);
  if (verb == "show") return Show(args);
  if (verb == "flush") return Flush(args);
  if (verb == "remove") return Remove(args);
  if (verb == "bounce") return Bounce(args);
  Fatal("Error: unknown queue command " + GoQuote(verb) +
        " (list, show, flush, remove or bounce)");
}

REGISTER_COMMAND("queue", Queue);

}  // namespace
}  // namespace chasquid::util
