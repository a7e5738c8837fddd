// Fuzzes the domaininfo database's loader: one file in the database
// directory holding whatever a crash, a full disk or a hand edit left (the
// format is protobuf text). What loads is then used as the daemon uses it:
// checked, raised, cleared, written back, and loaded again.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include <google/protobuf/stubs/logging.h>

#include "domaininfo/domaininfo.h"

namespace {

std::string TempDir() {
  // tmpfs when there is one: a file is written on every input.
  std::string tmpl = access("/dev/shm", W_OK) == 0
                         ? "/dev/shm/domaininfo_fuzz.XXXXXX"
                         : "/tmp/domaininfo_fuzz.XXXXXX";
  if (!mkdtemp(tmpl.data())) abort();
  return tmpl;
}

void WriteAll(const std::string& path, const uint8_t* data, size_t size) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0660);
  if (fd < 0) abort();
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n <= 0) abort();
    data += n;
    size -= static_cast<size_t>(n);
  }
  close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace di = chasquid::domaininfo;
  static const std::string dir = [] {
    // The parser's complaint about every bad input is noise here.
    google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*,
                                       int, const std::string&) {});
    return TempDir();
  }();
  WriteAll(dir + "/s:example.com", data, size);
  auto db = di::DB::Open(dir);
  if (!db.ok()) return 0;
  const std::string d = "example.com";
  ::domaininfo::Domain before;
  bool known = (*db)->Get(d, &before);
  (void)(*db)->IncomingSecLevel(d, di::kTlsClient);
  (void)(*db)->OutgoingSecLevel(d, di::kTlsInsecure);
  // Whatever we wrote back must load again, at least as high as checked.
  if (!(*db)->Reload().ok()) __builtin_trap();
  ::domaininfo::Domain after;
  if (!(*db)->Get(d, &after)) __builtin_trap();
  if (after.incoming_sec_level() < di::kTlsClient ||
      after.outgoing_sec_level() < di::kTlsInsecure) {
    __builtin_trap();
  }
  if (known) (void)di::LevelName(before.incoming_sec_level());
  if (!(*db)->Clear(d).ok()) __builtin_trap();
  if (!(*db)->Reload().ok()) __builtin_trap();
  return 0;
}
