#include "testlib/testlib.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "base/strings.h"

namespace chasquid::testlib {

namespace fs = std::filesystem;

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp")
                         .append("/chasquid-test.XXXXXX");
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

uint64_t ThreadIoBytes(int tid, const std::string& key) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/io");
  std::string k;
  uint64_t value = 0;
  while (in >> k >> value) {
    if (k == key + ":") return value;
  }
  throw std::runtime_error(std::string("no ")
                               .append(key)
                               .append(" in /proc for thread ")
                               .append(std::to_string(tid)));
}

std::string TempDir::operator/(const std::string& rel) const {
  return std::string(path_).append("/").append(rel);
}

void TempDir::Write(const std::string& rel, const std::string& content) const {
  fs::path p = fs::path(path_) / rel;
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << content;
  if (!f.flush()) throw std::runtime_error("cannot write " + p.string());
}

namespace {

std::string Key(std::string name) {
  while (!name.empty() && name.back() == '.') name.pop_back();
  return AsciiToLower(name);
}

}  // namespace

void FakeResolver::Add(const std::string& name, const std::string& type,
                       const std::string& value, uint16_t pref) {
  zone_[Key(name)].push_back({type, value, pref});
}

void FakeResolver::Fail(const std::string& name, Status s) {
  failures_.insert_or_assign(Key(name), std::move(s));
}

Result<std::vector<FakeResolver::Record>> FakeResolver::Find(
    const std::string& name, const std::string& kind,
    std::initializer_list<const char*> types) {
  queries[kind]++;
  if (all_transient) {
    return Status::Transient("lookup " + name + ": i/o timeout");
  }
  std::string key = Key(name);
  if (auto f = failures_.find(key); f != failures_.end()) return f->second;
  auto it = zone_.find(key);
  if (it == zone_.end()) return Status::NotFound("no such host");
  std::vector<Record> out;
  for (const Record& r : it->second) {
    for (const char* t : types) {
      if (r.type == t) out.push_back(r);
    }
  }
  return out;
}

net::awaitable<Result<std::vector<dns::MX>>> FakeResolver::LookupMX(
    std::string name) {
  auto r = Find(name, "MX", {"MX"});
  if (!r.ok()) co_return r.status();
  std::vector<dns::MX> out;
  for (const Record& rec : *r) out.push_back({Key(rec.value), rec.pref});
  co_return out;
}

net::awaitable<Result<std::vector<std::string>>> FakeResolver::LookupIP(
    std::string name) {
  auto r = Find(name, "IP", {"A", "AAAA"});
  if (!r.ok()) co_return r.status();
  std::vector<std::string> out;
  for (const Record& rec : *r) out.push_back(rec.value);
  co_return out;
}

net::awaitable<Result<std::vector<std::string>>> FakeResolver::LookupTXT(
    std::string name) {
  auto r = Find(name, "TXT", {"TXT"});
  if (!r.ok()) co_return r.status();
  std::vector<std::string> out;
  for (const Record& rec : *r) out.push_back(rec.value);
  co_return out;
}

net::awaitable<Result<std::vector<std::string>>> FakeResolver::LookupAddr(
    std::string ip) {
  auto r = Find(ip, "PTR", {"PTR"});
  if (!r.ok()) co_return r.status();
  std::vector<std::string> out;
  for (const Record& rec : *r) out.push_back(Key(rec.value));
  co_return out;
}

}  // namespace chasquid::testlib
