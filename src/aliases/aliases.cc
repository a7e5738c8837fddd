#include "aliases/aliases.h"

#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "base/log.h"
#include "base/strings.h"
#include "metrics/metrics.h"
#include "nettrace/trace.h"
#include "normalize/normalize.h"
#include "process/process.h"

namespace chasquid::aliases {

namespace {

metrics::CounterMap* hook_results =
    metrics::NewMap("chasquid/aliases/hookResults", "result",
                    "count of aliases hook results, by hook and result");

constexpr int kRecursionLimit = 10;
constexpr size_t kMaxLine = 64 * 1024;

std::string NormAddr(const std::string& a) {
  auto r = normalize::Addr(a);
  return r.ok() ? *r : a;
}

}  // namespace

Result<std::vector<Recipient>> ParseRHS(const std::string& rhs_in,
                                        const std::string& domain) {
  std::string rhs(TrimSpace(rhs_in));
  std::vector<Recipient> out;
  if (HasPrefix(rhs, "|")) {
    std::string cmd(TrimSpace(rhs.substr(1)));
    if (cmd.empty()) {
      return Status::Error("right-side: the pipe alias is missing a command");
    }
    out.push_back({cmd, RecipientType::kPipe, {}});
    return out;
  }
  for (const auto& raw : Split(rhs, ",")) {
    std::string item(TrimSpace(raw));
    if (item.empty()) continue;
    Recipient r;
    auto via = item.find(" via ");
    if (via != std::string::npos) {
      r.type = RecipientType::kForward;
      std::string servers = item.substr(via + 5);
      item = std::string(TrimSpace(item.substr(0, via)));
      if (item.empty()) {
        return Status::Error("forwarding alias is missing the address");
      }
      for (const auto& s : Split(servers, "/")) {
        std::string srv(TrimSpace(s));
        if (srv.empty()) return Status::Error("empty server in via list");
        r.via.push_back(srv);
      }
    }
    if (item.find('@') == std::string::npos) item += "@" + domain;
    auto n = normalize::Addr(item);
    if (!n.ok()) {
      return Status::Error("right-side: normalizing address " + GoQuote(item) +
                           ": " + n.status().message());
    }
    r.addr = *n;
    out.push_back(std::move(r));
  }
  return out;
}

int ParseAliases(const std::string& text, const std::string& path,
                 const std::string& domain, const std::string& seps,
                 const std::string& drops, Table* table) {
  std::set<std::string> keys;
  size_t pos = 0;
  int lineno = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(
        pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    lineno++;
    auto bad = [&](const std::string& msg) {
      CLOG_ERROR(GoQuote(path) + " line " + std::to_string(lineno) + ": " +
                 msg);
    };
    if (line.size() > kMaxLine) {
      bad("line too long");
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string t(TrimSpace(line));
    if (t.empty() || t[0] == '#') continue;
    auto colon = t.find(':');
    if (colon == std::string::npos) {
      bad("missing ':' in line");
      continue;
    }
    std::string lhs(TrimSpace(t.substr(0, colon)));
    std::string rhs(TrimSpace(t.substr(colon + 1)));
    if (lhs.empty() || rhs.empty()) {
      bad("missing address or alias");
      continue;
    }
    if (lhs.find('@') != std::string::npos) {
      bad("left-side: cannot contain @");
      continue;
    }
    std::string key = NormAddr(
        normalize::RemoveDropCharacters(lhs + "@" + domain, seps, drops));
    auto r = ParseRHS(rhs, domain);
    if (!r.ok()) {
      bad(r.status().message());
      continue;
    }
    (*table)[key] = std::move(*r);
    keys.insert(key);
  }
  return static_cast<int>(keys.size());
}

FileResolver::FileResolver(
    std::string suffix_separators, std::string drop_characters,
    std::function<bool(const std::string&, const std::string&)> user_exists)
    : seps_(std::move(suffix_separators)),
      drops_(std::move(drop_characters)),
      user_exists_(std::move(user_exists)),
      table_(std::make_shared<const Table>()) {}

void FileResolver::SetHookPath(std::string path) {
  hook_path_ = std::move(path);
}

void FileResolver::AddDomain(const std::string& domain) {
  std::lock_guard<std::mutex> l(mu_);
  domains_.insert(domain);
}

Status FileResolver::LoadInto(const std::string& domain,
                              const std::string& path, Table* table,
                              int* keys) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    if (errno == ENOENT) {
      *keys = 0;
      return Status::Ok();
    }
    return Status::Error(PathError("open", path, errno));
  }
  std::stringstream ss;
  ss << f.rdbuf();
  *keys = ParseAliases(ss.str(), path, domain, seps_, drops_, table);
  return Status::Ok();
}

Result<int> FileResolver::AddAliasesFile(const std::string& domain,
                                         const std::string& path) {
  AddDomain(domain);
  Table t = *Snapshot();
  int keys = 0;
  if (Status s = LoadInto(domain, path, &t, &keys); !s.ok()) return s;
  std::lock_guard<std::mutex> l(mu_);
  files_.emplace_back(domain, path);
  table_ = std::make_shared<const Table>(std::move(t));
  return keys;
}

Status FileResolver::Reload() {
  std::vector<std::pair<std::string, std::string>> files;
  {
    std::lock_guard<std::mutex> l(mu_);
    files = files_;
  }
  Table t;
  for (const auto& [domain, path] : files) {
    int keys = 0;
    if (Status s = LoadInto(domain, path, &t, &keys); !s.ok()) return s;
  }
  std::lock_guard<std::mutex> l(mu_);
  table_ = std::make_shared<const Table>(std::move(t));
  return Status::Ok();
}

std::shared_ptr<const Table> FileResolver::Snapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  return table_;
}

FileResolver::Hook FileResolver::HookState() const {
  if (hook_path_.empty()) return Hook::kNotSet;
  struct stat st;
  if (stat(hook_path_.c_str(), &st) != 0 && errno == ENOENT) {
    return Hook::kAbsent;
  }
  return Hook::kPresent;
}

Result<std::vector<Recipient>> FileResolver::RunHook(const std::string& addr) {
  switch (HookState()) {
    case Hook::kNotSet:
      hook_results->Add("resolve:notset");
      return std::vector<Recipient>{};
    case Hook::kAbsent:
      hook_results->Add("resolve:skip");
      return std::vector<Recipient>{};
    case Hook::kPresent:
      break;
  }
  nettrace::Trace tr("Hook.Alias-Resolve", addr);
  process::Options o;
  o.argv = {hook_path_, addr};
  o.timeout = std::chrono::seconds(5);
  o.capture_stderr = false;
  // Blocking: Resolve and Exists are called off the network threads.
  process::Outcome r = process::RunSync(o);
  if (!r.ok()) {
    hook_results->Add("resolve:fail");
    tr.Error("exited with error: " + r.error);
    return Status::Error(r.error);
  }
  auto parsed =
      ParseRHS(std::string(TrimSpace(r.output)), normalize::Split(addr).second);
  if (!parsed.ok()) {
    hook_results->Add("resolve:parse_err");
    tr.Error("error parsing hook output: " + parsed.status().message());
    return parsed.status();
  }
  hook_results->Add("resolve:success");
  tr.Debugf("hook returned " + std::to_string(parsed->size()) + " recipients");
  return parsed;
}

// The lookup: file entries for the cleaned key, then the hook's results
// for the address as given.
Result<std::vector<Recipient>> FileResolver::Lookup(const std::string& addr,
                                                    Hook hook_state) {
  std::string key = normalize::RemoveDropCharacters(addr, seps_, drops_);
  std::vector<Recipient> out;
  auto table = Snapshot();
  if (auto it = table->find(key); it != table->end()) out = it->second;
  if (hook_state != Hook::kPresent) {
    // Known to have no hook to run: counted as RunHook would.
    hook_results->Add(hook_state == Hook::kNotSet ? "resolve:notset"
                                                  : "resolve:skip");
    return out;
  }
  auto hook = RunHook(addr);
  if (!hook.ok()) return hook.status();
  out.insert(out.end(), hook->begin(), hook->end());
  return out;
}

bool FileResolver::Exists(const std::string& addr) {
  return ExistsWith(addr, Hook::kPresent);
}

std::optional<bool> FileResolver::ExistsWithoutHook(const std::string& addr) {
  // One stat() for the three lookups. A hook installed between it and
  // them is used from the next RCPT on, as it would be had it come a
  // moment later.
  Hook hook = HookState();
  if (hook == Hook::kPresent) return std::nullopt;
  return ExistsWith(addr, hook);
}

bool FileResolver::ExistsWith(const std::string& addr, Hook hook) {
  nettrace::Trace tr("Alias.Exists", addr);
  auto r = Lookup(addr, hook);
  if (r.ok() && !r->empty()) return true;
  r = Lookup(normalize::RemoveDropsAndSuffix(addr, seps_, drops_), hook);
  if (r.ok() && !r->empty()) return true;
  r = Lookup("*@" + normalize::Split(addr).second, hook);
  return r.ok() && !r->empty();
}

Result<std::vector<Recipient>> FileResolver::Resolve(const std::string& addr) {
  nettrace::Trace tr("Alias.Resolve", addr);
  auto r = DoResolve(addr, 0);
  if (!r.ok()) {
    tr.Error(r.status().message());
  } else {
    for (const auto& x : *r) tr.Debugf("-> " + x.addr);
  }
  return r;
}

Result<std::vector<Recipient>> FileResolver::DoResolve(const std::string& a,
                                                       int rec) {
  if (rec >= kRecursionLimit) {
    return Status::Error("recursion limit exceeded");
  }
  std::string addr = a;
  auto [user, domain] = normalize::Split(addr);
  bool is_alias_domain;
  {
    std::lock_guard<std::mutex> l(mu_);
    is_alias_domain = domains_.count(domain) > 0;
  }
  if (!is_alias_domain) {
    return std::vector<Recipient>{{addr, RecipientType::kEmail, {}}};
  }
  auto rcpts = Lookup(addr);
  if (!rcpts.ok()) return rcpts.status();
  if (rcpts->empty()) {
    addr = normalize::RemoveDropsAndSuffix(addr, seps_, drops_);
    rcpts = Lookup(addr);
    if (!rcpts.ok()) return rcpts.status();
  }
  if (rcpts->empty()) {
    if (user_exists_ && user_exists_(user, domain)) {
      return std::vector<Recipient>{{addr, RecipientType::kEmail, {}}};
    }
    rcpts = Lookup("*@" + domain);
    if (!rcpts.ok()) return rcpts.status();
    if (rcpts->empty()) {
      return std::vector<Recipient>{{addr, RecipientType::kEmail, {}}};
    }
  }
  std::vector<Recipient> out;
  for (auto& r : *rcpts) {
    if (r.type == RecipientType::kPipe) {
      out.push_back(r);
      continue;
    }
    auto [ruser, rdomain] = normalize::Split(r.addr);
    if (ruser == "*") r.addr = user + "@" + rdomain;
    if (r.type == RecipientType::kForward) {
      out.push_back(r);
      continue;
    }
    auto sub = DoResolve(r.addr, rec + 1);
    if (!sub.ok()) return sub.status();
    out.insert(out.end(), sub->begin(), sub->end());
  }
  return out;
}

}  // namespace chasquid::aliases
