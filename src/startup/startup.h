// Daemon start-up pieces: discovery
// of certificates and domains in the config directory, and the data
// directory. main() calls these in chasquid's order and turns an error
// status into the fatal log line (the status message is that exact line).
//
// Paths are relative to the current directory: the daemon has already
// chdir'd into the config directory. Not thread-safe; start-up only.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace chasquid::auth {
class Authenticator;
}

namespace chasquid::startup {

// One certificate pair from certs/<name>/.
struct CertPair {
  std::string name;       // The certs/ entry.
  std::string cert_path;  // "certs/<name>/fullchain.pem"
  std::string key_path;   // "certs/<name>/privkey.pem"
};

// Lists `dir` (e.g. "certs/", "domains/"): entry names in byte order with
// whether each is a regular file. Errors, exactly as chasquid's fatal
// lines: `Error reading "certs/" directory: open certs/: <errno text>`,
// `No entries found in "certs/"`.
struct DirEntry {
  std::string name;
  bool regular;
};
Result<std::vector<DirEntry>> ReadDirOrFail(const std::string& dir);

// Certificate discovery under "certs/". Logs "Loading certificates:",
// "  <name>" for every candidate and "    skipping: <stat error>" for the
// ones without both files. Each found pair is loaded with OpenSSL to check
// it (PEM chain, PEM key, key matches the leaf); a broken pair is an error
// "    <Go tls error> (<file>)". Returns the pairs in name order (the same
// pair may appear twice through a symlink).
Result<std::vector<CertPair>> DiscoverCerts(const std::string& dir = "certs/");

// Checks one pair as Go's tls.LoadX509KeyPair would. Error texts follow
// Go's: "open <path>: <errno>", "tls: failed to find any PEM data in
// certificate input", "tls: failed to find any PEM data in key input",
// "tls: failed to parse private key", "x509: malformed certificate",
// "tls: private key does not match public key".
Status CheckCertPair(const std::string& cert_path, const std::string& key_path);

// What to do with each discovered domain besides its users. Each loader
// gets the normalised domain and the directory "domains/<original name>",
// and returns how many items it loaded (for the log line). Unset loaders
// count 0. The aliases loader (queue/aliases work) reads dir + "/aliases";
// the DKIM loader (dkim work) reads dir + "/dkim:*.pem".
struct DomainLoaders {
  std::function<void(const std::string& domain)> add_local_domain;
  std::function<Result<int>(const std::string& domain, const std::string& dir)>
      load_aliases;
  std::function<Result<int>(const std::string& domain, const std::string& dir)>
      load_dkim;
};

struct LoadedDomain {
  std::string name;  // Normalised.
  std::string dir;   // "domains/<original name>"
};

// Domain discovery under "domains/": for each directory, registers
// its users file ("<dir>/users"; missing = no users) with `authr`, then
// runs the loaders, and logs "  <D> (<n> users, <m> aliases, <k> DKIM
// keys)". Errors are the fatal lines: `Invalid name <name %+q>: <err>`,
// `  <D>: users file error: <err>`, `  <D>: aliases file error: <err>`,
// `  <D>: DKIM loading error: <err>`. Does not add "localhost" (main does,
// after, as step 12).
Result<std::vector<LoadedDomain>> LoadDomains(
    auth::Authenticator* authr, const DomainLoaders& loaders,
    const std::string& dir = "domains/");

// Creates the data directory (and parents) with mode 0770 before umask, as
// chasquid's first MkdirAll under it does. Existing directories are left
// alone. Error: Go's "mkdir <path>: <errno text>".
Status CreateDataDir(const std::string& path);

}  // namespace chasquid::startup
