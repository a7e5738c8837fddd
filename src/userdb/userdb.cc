#include "userdb/userdb.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/strings.h"
#include "normalize/normalize.h"
#include "prototext/prototext.h"
#include "safeio/safeio.h"

namespace chasquid::userdb {

namespace {

// Memory bound for scrypt: chasquid's parameters need 16 MiB; anything
// asking for more than this is treated as invalid rather than allowed to
// exhaust the machine.
constexpr unsigned __int128 kMaxScryptMem = 1u << 30;

Result<std::string> ReadFile(const std::string& path, bool* missing) {
  *missing = false;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) *missing = true;
    return Status::Error(PathError("open", path, errno));
  }
  std::string data;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return Status::Error(PathError("read", path, err));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return data;
}

Status CheckName(const std::string& name) {
  auto n = normalize::User(name);
  if (!n.ok() || *n != name) return Status::Error("invalid username");
  return Status::Ok();
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

Result<std::string> Scrypt(std::string_view password, std::string_view salt,
                           uint64_t log_n, int32_t r, int32_t p,
                           int32_t key_len) {
  if (log_n < 1 || log_n > 40 || r <= 0 || p <= 0 || key_len <= 0 ||
      key_len > (1 << 20)) {
    return Status::Error("invalid scrypt parameters");
  }
  uint64_t n = uint64_t{1} << log_n;
  // OpenSSL needs 128*r*p (B) + 128*r*(N+2) (V) bytes.
  unsigned __int128 mem = static_cast<unsigned __int128>(128) * r * p +
                          static_cast<unsigned __int128>(128) * r * (n + 2);
  if (mem > kMaxScryptMem) return Status::Error("invalid scrypt parameters");
  std::string key(static_cast<size_t>(key_len), '\0');
  int ok = EVP_PBE_scrypt(
      password.data(), password.size(),
      reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), n,
      static_cast<uint64_t>(r), static_cast<uint64_t>(p),
      static_cast<uint64_t>(mem) + 65536,
      reinterpret_cast<unsigned char*>(key.data()), key.size());
  if (ok != 1) return Status::Error("invalid scrypt parameters");
  return key;
}

bool PasswordMatches(const Password& pw, std::string_view plain) {
  switch (pw.scheme_case()) {
    case Password::kScrypt: {
      const auto& s = pw.scrypt();
      auto key = Scrypt(plain, s.salt(), s.logn(), s.r(), s.p(), s.keylen());
      return key.ok() && ConstantTimeEqual(*key, s.encrypted());
    }
    case Password::kPlain:
      return ConstantTimeEqual(plain, pw.plain().password());
    case Password::kDenied:
    case Password::SCHEME_NOT_SET:
      return false;
  }
  return false;
}

Result<ProtoDB> ParseText(const std::string& text, const std::string& source) {
  ProtoDB db;
  google::protobuf::TextFormat::Parser parser;
  prototext::FirstError errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &db)) {
    return Status::Error(source + ":" + errors.Text());
  }
  return db;
}

std::string ToText(const ProtoDB& db) {
  google::protobuf::TextFormat::Printer printer;
  std::string out;
  printer.PrintToString(db, &out);
  return out;
}

DB::DB(std::string path)
    : path_(std::move(path)), db_(std::make_shared<ProtoDB>()) {}

Result<std::unique_ptr<DB>> DB::Load(const std::string& path) {
  auto db = std::make_unique<DB>(path);
  Status s = db->Reload();
  if (!s.ok()) return s;
  return db;
}

Status DB::Reload() {
  bool missing;
  auto text = ReadFile(path_, &missing);
  std::shared_ptr<const ProtoDB> fresh;
  if (!text.ok()) {
    if (!missing) return text.status();
    fresh = std::make_shared<ProtoDB>();
  } else {
    auto parsed = ParseText(*text, path_);
    if (!parsed.ok()) return parsed.status();
    fresh = std::make_shared<ProtoDB>(std::move(*parsed));
  }
  std::lock_guard<std::mutex> l(mu_);
  db_ = std::move(fresh);
  return Status::Ok();
}

Status DB::Write() const {
  std::shared_ptr<const ProtoDB> snap;
  {
    std::lock_guard<std::mutex> l(mu_);
    snap = db_;
  }
  return safeio::WriteFile(path_, ToText(*snap), 0660);
}

bool DB::Authenticate(const std::string& name,
                      std::string_view password) const {
  Password pw;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = db_->users().find(name);
    if (it == db_->users().end()) return false;
    pw = it->second;
  }
  return PasswordMatches(pw, password);  // Slow: outside the lock.
}

bool DB::Exists(const std::string& name) const {
  std::lock_guard<std::mutex> l(mu_);
  return db_->users().contains(name);
}

Status DB::AddUser(const std::string& name, std::string_view password) {
  if (Status s = CheckName(name); !s.ok()) return s;
  Password pw;
  ::userdb::Scrypt* s = pw.mutable_scrypt();
  s->set_logn(14);
  s->set_r(8);
  s->set_p(1);
  s->set_keylen(32);
  std::string salt(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), 16) != 1) {
    return Status::Error("error generating salt");
  }
  auto key = Scrypt(password, salt, 14, 8, 1, 32);
  if (!key.ok()) return key.status();
  s->set_salt(salt);
  s->set_encrypted(*key);
  std::lock_guard<std::mutex> l(mu_);
  auto next = std::make_shared<ProtoDB>(*db_);
  (*next->mutable_users())[name] = std::move(pw);
  db_ = std::move(next);
  return Status::Ok();
}

Status DB::AddDeniedUser(const std::string& name) {
  if (Status s = CheckName(name); !s.ok()) return s;
  Password pw;
  pw.mutable_denied();
  std::lock_guard<std::mutex> l(mu_);
  auto next = std::make_shared<ProtoDB>(*db_);
  (*next->mutable_users())[name] = std::move(pw);
  db_ = std::move(next);
  return Status::Ok();
}

bool DB::RemoveUser(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  if (!db_->users().contains(name)) return false;
  auto next = std::make_shared<ProtoDB>(*db_);
  next->mutable_users()->erase(name);
  db_ = std::move(next);
  return true;
}

size_t DB::Len() const {
  std::lock_guard<std::mutex> l(mu_);
  return db_->users().size();
}

}  // namespace chasquid::userdb
