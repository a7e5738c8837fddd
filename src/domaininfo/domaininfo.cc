#include "domaininfo/domaininfo.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include <google/protobuf/text_format.h>

#include "base/log.h"
#include "base/strings.h"
#include "metrics/metrics.h"

namespace chasquid::domaininfo {
namespace {

const char kPrefix[] = "s:";

metrics::CounterMap* IncomingChecks() {
  static metrics::CounterMap* m =
      metrics::NewMap("chasquid/smtpIn/securityLevelChecks", "result",
                      "incoming security level check results");
  return m;
}

// Ours: a failed write keeps the new level in memory only (until the next
// successful write of that domain, or a restart). Registered at start-up,
// like every variable.
metrics::Counter* write_errors = metrics::NewCounter(
    "chasquid/domaininfo/writeErrors",
    "count of domaininfo writes that failed (e.g. disk full)");

// os.MkdirAll semantics and error texts.
Status MkdirAll(const std::string& path, mode_t mode) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return Status::Error(PathError("mkdir", path, ENOTDIR));
  }
  auto slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    Status s = MkdirAll(path.substr(0, slash), mode);
    if (!s.ok()) return s;
  }
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return Status::Error(PathError("mkdir", path, errno));
  }
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Error(PathError("open", path, errno));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// chasquid's safe write: temp file in the same
// directory, chmod, chown to the old file's owner, write, rename.
Status WriteFileAtomic(const std::string& dir, const std::string& name,
                       const std::string& data, mode_t mode) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  std::string final_path = dir + "/" + name;
  std::string tmp = dir + "/." + name + std::to_string(rng() % 1000000000);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Error(PathError("open", tmp, errno));
  auto fail = [&](const char* op, int err) {
    close(fd);
    unlink(tmp.c_str());
    return Status::Error(PathError(op, tmp, err));
  };
  if (fchmod(fd, mode) != 0) return fail("chmod", errno);
  struct stat st;
  if (stat(final_path.c_str(), &st) == 0) {
    if (fchown(fd, st.st_uid, st.st_gid) != 0) return fail("chown", errno);
  }
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write", errno);
    }
    off += n;
  }
  if (close(fd) != 0) {
    unlink(tmp.c_str());
    return Status::Error(PathError("close", tmp, errno));
  }
  if (rename(tmp.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return Status::Error("rename " + tmp + " " + final_path + ": " +
                         ErrnoText(err));
  }
  return Status::Ok();
}

Result<std::map<std::string, ::domaininfo::Domain, std::less<>>> LoadDir(
    const std::string& dir) {
  std::map<std::string, ::domaininfo::Domain, std::less<>> info;
  DIR* d = opendir(dir.c_str());
  if (!d) return Status::Error(PathError("open", dir, errno));
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) names.push_back(e->d_name);
  closedir(d);
  for (const auto& file : names) {
    if (!HasPrefix(file, kPrefix)) continue;
    auto id = QueryUnescape(std::string_view(file).substr(2));
    if (!id.ok()) continue;  // Not one of ours.
    auto text = ReadFile(dir + "/" + file);
    ::domaininfo::Domain entry;
    if (!text.ok()) {
      return Status::Error("error loading " + GoQuote(*id) + ": " +
                           text.status().message());
    }
    if (!google::protobuf::TextFormat::ParseFromString(*text, &entry)) {
      return Status::Error("error loading " + GoQuote(*id) +
                           ": proto: syntax error");
    }
    info[entry.name()] = entry;
  }
  return info;
}

}  // namespace

std::string LevelName(SecLevel level) {
  return ::domaininfo::SecLevel_Name(level);
}

Result<std::unique_ptr<DB>> DB::Open(std::string dir) {
  Status s = MkdirAll(dir, 0770);
  if (!s.ok()) return s;
  std::unique_ptr<DB> db(new DB(std::move(dir)));
  s = db->Reload();
  if (!s.ok()) return s;
  return db;
}

Status DB::Reload() {
  auto info = LoadDir(dir_);
  if (!info.ok()) return info.status();
  std::lock_guard<std::mutex> l(mu_);
  info_ = std::move(*info);
  return Status::Ok();
}

void DB::Write(const ::domaininfo::Domain& d) const {
  std::string text;
  google::protobuf::TextFormat::PrintToString(d, &text);
  Status s = WriteFileAtomic(dir_, kPrefix + QueryEscape(d.name()), text, 0660);
  if (!s.ok()) {
    write_errors->Add();
    CLOG_ERROR("domaininfo: error writing " + GoQuote(d.name()) + ": " +
               s.message());
  }
}

bool DB::Check(std::string_view domain, SecLevel level, Direction dir) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = info_.find(domain);
  if (it == info_.end()) {
    // Unknown domains start at PLAIN, and are written even if they stay so.
    ::domaininfo::Domain d;
    d.set_name(std::string(domain));
    it = info_.emplace(std::string(domain), d).first;
    Write(d);
  }
  ::domaininfo::Domain& d = it->second;
  SecLevel recorded = dir == Direction::kIncoming ? d.incoming_sec_level()
                                                  : d.outgoing_sec_level();
  if (level < recorded) return false;
  if (level > recorded) {
    if (dir == Direction::kIncoming) {
      d.set_incoming_sec_level(level);
    } else {
      d.set_outgoing_sec_level(level);
    }
    Write(d);
  }
  return true;
}

bool DB::IncomingSecLevel(std::string_view domain, SecLevel level) {
  bool ok = Check(domain, level, Direction::kIncoming);
  IncomingChecks()->Add(ok ? "pass" : "fail");
  return ok;
}

std::optional<bool> DB::IncomingSecLevelWithoutWrite(std::string_view domain,
                                                     SecLevel level) {
  bool ok;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = info_.find(domain);
    if (it == info_.end()) return std::nullopt;
    SecLevel recorded = it->second.incoming_sec_level();
    if (level > recorded) return std::nullopt;
    ok = level == recorded;
  }
  IncomingChecks()->Add(ok ? "pass" : "fail");
  return ok;
}

void DB::CountIncomingSkip() { IncomingChecks()->Add("skip"); }

bool DB::OutgoingSecLevel(std::string_view domain, SecLevel level) {
  return Check(domain, level, Direction::kOutgoing);
}

Status DB::Clear(std::string_view domain) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = info_.find(domain);
  if (it == info_.end()) return Status::Error("does not exist");
  it->second.set_incoming_sec_level(kPlain);
  it->second.set_outgoing_sec_level(kPlain);
  Write(it->second);
  return Status::Ok();
}

bool DB::Get(std::string_view domain, ::domaininfo::Domain* out) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = info_.find(domain);
  if (it == info_.end()) return false;
  *out = it->second;
  return true;
}

}  // namespace chasquid::domaininfo
