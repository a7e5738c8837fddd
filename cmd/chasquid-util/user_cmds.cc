// The userdb subcommands: user-add, user-remove, authenticate,
// check-userdb.
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>

#include "base/strings.h"
#include "command.h"
#include "normalize/normalize.h"
#include "safeio/safeio.h"
#include "userdb/userdb.h"

namespace chasquid::util {

namespace {

// Reads one line from stdin with echo off, as Go's term.ReadPassword:
// fails if stdin is not a terminal.
std::string ReadPassword() {
  struct termios old_t;
  if (tcgetattr(STDIN_FILENO, &old_t) != 0) {
    int err = errno;
    printf("\n");
    Fatal("Error reading password: " + ErrnoText(err));
  }
  struct termios t = old_t;
  t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  t.c_lflag |= ICANON | ISIG;
  tcsetattr(STDIN_FILENO, TCSANOW, &t);
  std::string line;
  int c;
  while ((c = getchar()) != EOF && c != '\n') {
    if (c != '\r') line.push_back(static_cast<char>(c));
  }
  tcsetattr(STDIN_FILENO, TCSANOW, &old_t);
  printf("\n");
  return line;
}

std::string GetPassword(const Args& args) {
  if (args.Has("--password")) return args.Get("--password");
  printf("Password: ");
  fflush(stdout);
  std::string p1 = ReadPassword();
  printf("Confirm password: ");
  fflush(stdout);
  std::string p2 = ReadPassword();
  if (p1 != p2) Fatal("Passwords don't match");
  return p1;
}

struct UserAndDB {
  std::string user;
  std::unique_ptr<userdb::DB> db;
};

// chasquid-util's userDBFromArgs: "$2" is user@domain; the domain is used
// as typed for the path, the user is PRECIS-normalised.
UserAndDB UserDBFromArgs(const Args& args, bool create) {
  auto [user, domain] = normalize::Split(args.Get("$2"));
  if (domain.empty()) {
    Fatal("Domain missing, username should be of the form 'user@domain'");
  }
  if (create) {
    std::string dir = args.config_dir() + "/domains/" + domain;
    struct stat st;
    if (stat(dir.c_str(), &st) != 0 && errno == ENOENT) {
      printf("Creating database\n");
      fflush(stdout);
      Status s = safeio::MkdirAll(dir + "/", 0755);
      if (!s.ok()) Fatal("Error creating database dir: " + s.message());
    }
  }
  auto db = userdb::DB::Load(UserDBPath(args, domain));
  if (!db.ok()) Fatal("Error loading database: " + db.status().message());
  auto norm = normalize::User(user);
  if (!norm.ok()) Fatal("Error normalizing user: " + norm.status().message());
  return {*norm, std::move(*db)};
}

int UserAdd(const Args& args) {
  UserAndDB u = UserDBFromArgs(args, true);
  bool receive_only = args.Has("--receive_only");
  if (receive_only && args.Has("--password")) {
    Fatal("Cannot specify both --receive_only and --password");
  }
  Status s = receive_only ? u.db->AddDeniedUser(u.user)
                          : u.db->AddUser(u.user, GetPassword(args));
  if (!s.ok()) Fatal("Error adding user: " + s.message());
  s = u.db->Write();
  if (!s.ok()) Fatal("Error writing database: " + s.message());
  printf("Added user\n");
  return 0;
}

int UserRemove(const Args& args) {
  UserAndDB u = UserDBFromArgs(args, false);
  if (!u.db->RemoveUser(u.user)) Fatal("Unknown user");
  Status s = u.db->Write();
  if (!s.ok()) Fatal("Error writing database: " + s.message());
  printf("Removed user\n");
  return 0;
}

int Authenticate(const Args& args) {
  UserAndDB u = UserDBFromArgs(args, false);
  if (!u.db->Authenticate(u.user, GetPassword(args))) {
    Fatal("Authentication failed");
  }
  printf("Authentication succeeded\n");
  return 0;
}

int CheckUserDB(const Args& args) {
  std::string path = UserDBPath(args, args.Get("$2"));
  struct stat st;
  if (stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    Fatal("Error: file " + GoQuote(path) + " does not exist");
  }
  auto db = userdb::DB::Load(path);
  if (!db.ok()) Fatal("Error loading database: " + db.status().message());
  printf("Database loaded (%zu users)\n", (*db)->Len());
  return 0;
}

REGISTER_COMMAND("user-add", UserAdd);
REGISTER_COMMAND("user-remove", UserRemove);
REGISTER_COMMAND("authenticate", Authenticate);
REGISTER_COMMAND("check-userdb", CheckUserDB);

}  // namespace

}  // namespace chasquid::util
