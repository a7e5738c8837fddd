#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "base/strings.h"
#include "safeio/safeio.h"
#include "startup/startup.h"

namespace chasquid::startup {

Result<std::vector<DirEntry>> ReadDirOrFail(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    return Status::Error("Error reading " + GoQuote(dir) +
                         " directory: " + PathError("open", dir, errno));
  }
  std::vector<DirEntry> out;
  std::string base = dir;
  if (!base.empty() && base.back() != '/') base += '/';
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool regular;
    if (e->d_type != DT_UNKNOWN) {
      regular = e->d_type == DT_REG;
    } else {
      // Like Go's DirEntry.Type(): the entry itself, not a symlink target.
      struct stat st;
      regular = lstat((base + name).c_str(), &st) == 0 && S_ISREG(st.st_mode);
    }
    out.push_back({name, regular});
  }
  closedir(d);
  if (out.empty()) {
    return Status::Error("No entries found in " + GoQuote(dir));
  }
  std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) {
    return a.name < b.name;
  });
  return out;
}

Status CreateDataDir(const std::string& path) {
  return safeio::MkdirAll(path, 0770);
}

}  // namespace chasquid::startup
