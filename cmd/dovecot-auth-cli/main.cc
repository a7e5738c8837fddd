// dovecot-auth-cli: a test tool for the Dovecot auth client (the
// `dovecot_auth` configuration; Dovecot's auth protocol, version 1.1).
//   dovecot-auth-cli <prefix> exists <user>
//   dovecot-auth-cli <prefix> auth <user> <password>
// uses the sockets <prefix>-userdb and <prefix>-client, prints "yes" or
// "no: <err>" ("no: <nil>" for a clean negative), and always exits 0.
#include <cstdio>
#include <string>

#include "base/strings.h"
#include "dovecot/dovecot.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "Usage: %s <path prefix> exists user@domain\n", argv[0]);
    fprintf(stderr, "       %s <path prefix> auth user@domain password\n",
            argv[0]);
    printf("no: invalid arguments\n");
    return 0;
  }
  std::string prefix = argv[1], cmd = argv[2];
  chasquid::dovecot::Auth a(prefix + "-userdb", prefix + "-client");
  chasquid::Result<bool> r = false;
  if (cmd == "exists") {
    r = a.Exists(argv[3]);
  } else if (cmd == "auth") {
    if (argc < 5) {
      printf("no: invalid arguments\n");
      return 0;
    }
    r = a.Authenticate(argv[3], argv[4]);
  } else {
    printf("no: unknown subcommand %s\n", chasquid::GoQuote(cmd).c_str());
    return 0;
  }
  if (r.ok() && *r) {
    printf("yes\n");
  } else {
    printf("no: %s\n", r.ok() ? "<nil>" : r.status().message().c_str());
  }
  return 0;
}
