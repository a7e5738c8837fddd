#!/usr/bin/env bash
# Builds the Debian package (debian/), runs lintian on it, and installs it
# the way an administrator would, over Debian's own chasquid package, in a
# throwaway system root. Must run as root; never touches the machine's own
# /etc, /var or network:
#
#   - the root is an overlay whose lower layer is / and whose upper layer
#     is a tmpfs, mounted in a private mount namespace;
#   - a private PID namespace: every process started here dies with it;
#   - a private network namespace with only loopback, so the daemons listen
#     on the real ports (25, 587, 465) that the socket units name.
#
# In that root: install Debian's chasquid (fetched with apt-get download),
# give it a domain, a user, an alias and a certificate, and let it accept a
# message whose delivery the test MDA defers, so it waits in the queue.
# Then install ours over it and check that the files are ours, that the
# unit's ExecStart, run as the unit's user with the sockets passed as
# systemd passes them, delivers the waiting message, authenticates the
# user over TLS, resolves the alias and answers on the monitoring page.
# Remove it (config and data stay), reinstall Debian's chasquid and check
# that it delivers a message that ours left waiting in the queue. Last,
# purge ours with mail still queued: the queue must stay, with a notice.
#
# Usage: scripts/test-deb-install.sh [our.deb]
#   Without an argument it builds the package in build-deb/ first, through
#   ccache, without the unit tests (DEB_BUILD_OPTIONS=nocheck).
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
OUT=$TOP/build-deb

say() { printf '== deb: %s\n' "$*"; }
fail() {
  printf '\ntest-deb-install: FAIL: %s\n' "$*" >&2
  if [ -n "${LOGS:-}" ]; then
    for f in "$LOGS"/*.log; do
      [ -f "$f" ] || continue
      printf -- '--- %s (last 30 lines)\n' "$f" >&2
      tail -n 30 "$f" >&2
    done
  fi
  exit 1
}

if [ "${1:-}" != --inside ]; then
  [ "$(id -u)" -eq 0 ] || fail "must run as root (it builds a system root)"
  mkdir -p "$OUT"
  if [ $# -ge 1 ]; then
    OUR_DEB=$(realpath "$1")
  else
    say "building the package"
    # A fixed source path: Debian's flags map it away
    # (-ffile-prefix-map), and ccache then hits on every later build.
    rm -rf "$OUT/src" "$OUT"/*.deb "$OUT"/*.changes "$OUT"/*.buildinfo
    mkdir -p "$OUT/src"
    git ls-files -co --exclude-standard -z |
      tar --null -T - -cf - | tar -xf - -C "$OUT/src"
    # debhelper gives the build its own empty HOME: name the real cache.
    (cd "$OUT/src" &&
      CCACHE_DIR="${CCACHE_DIR:-$(ccache -k cache_dir)}" \
      CCACHE_BASEDIR="$OUT/src" CMAKE_CXX_COMPILER_LAUNCHER=ccache \
      DEB_BUILD_OPTIONS="nocheck parallel=${JOBS:-2}" \
      dpkg-buildpackage -us -uc -b >"$OUT/build.log" 2>&1) ||
      { tail -n 40 "$OUT/build.log" >&2; fail "dpkg-buildpackage failed (build-deb/build.log)"; }
    OUR_DEB=$(ls "$OUT"/chasquid-cpp_*.deb)
    say "lintian"
    # Errors and warnings fail; each accepted warning is overridden in
    # debian/*lintian-overrides with its reason.
    lintian --fail-on error,warning "$OUT"/chasquid-cpp_*.changes ||
      fail "lintian reported problems (above)"
  fi
  # Debian's chasquid, the package ours replaces.
  if ! ls "$OUT"/debian-chasquid/chasquid_*.deb >/dev/null 2>&1; then
    mkdir -p "$OUT/debian-chasquid"
    (cd "$OUT/debian-chasquid" && apt-get download -q chasquid) ||
      fail "apt-get download chasquid failed"
  fi
  DEB_DEB=$(ls "$OUT"/debian-chasquid/chasquid_*.deb | tail -n 1)
  exec unshare --mount --pid --net --fork --kill-child \
    "$0" --inside "$OUR_DEB" "$DEB_DEB"
fi

# ---- From here on: in the private namespaces, as their PID 1.
OUR_DEB=$2
DEB_DEB=$3
mount --make-rprivate /
T=$(mktemp -d /tmp/deb-install.XXXXXX)
trap 'umount -R "$T" 2>/dev/null; rmdir "$T" 2>/dev/null || true' EXIT
mount -t tmpfs -o size=2g tmpfs "$T"
mkdir "$T/upper" "$T/work" "$T/root" "$T/logs"
LOGS=$T/logs
R=$T/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" "$R"
mount --rbind /dev "$R/dev"
mount -t proc proc "$R/proc"
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/tmp"
mkdir -p "$R/pkgs"
cp "$OUR_DEB" "$DEB_DEB" "$R/pkgs/"
ip link set lo up

in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive "$@"; }

# wait_for <seconds> <what> <command...>: polls until the command succeeds.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out after ${limit}s waiting for: $what"
    sleep 0.2
  done
}

# The daemon of whichever package is installed, started from its unit: the
# ExecStart, as User=/Group=, with the three sockets listening where the
# socket units say and named as their FileDescriptorName=.
DAEMON_PID=
start_unit() {
  local log=$LOGS/$1.log units=$R/lib/systemd/system
  local exec user group listen=() names=()
  exec=$(sed -n 's/^ExecStart=//p' "$units/chasquid.service")
  user=$(sed -n 's/^User=//p' "$units/chasquid.service")
  group=$(sed -n 's/^Group=//p' "$units/chasquid.service")
  if [ -z "$exec" ] || [ -z "$user" ]; then
    fail "no ExecStart= or User= in chasquid.service"
  fi
  for s in smtp submission submission_tls; do
    local f=$units/chasquid-$s.socket
    [ -f "$f" ] || fail "missing socket unit chasquid-$s.socket"
    listen+=(-l "$(sed -n 's/^ListenStream=//p' "$f")")
    names+=("$(sed -n 's/^FileDescriptorName=//p' "$f")")
  done
  local IFS=:
  # systemd-socket-activate binds as root, then execs setpriv, which
  # drops to the unit's user in the same process (LISTEN_PID stays right).
  # shellcheck disable=SC2086
  # Each of these execs the next: $! is the daemon's own PID.
  chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    systemd-socket-activate "${listen[@]}" --fdname="${names[*]}" \
    setpriv --reuid="$user" --regid="${group:-$user}" --init-groups \
    $exec >"$log" 2>&1 &
  DAEMON_PID=$!
  unset IFS
  wait_for 60 "systemd-socket-activate listening on :25" port_open 25
  # Like systemd, systemd-socket-activate starts the service on the first
  # connection; this one must get the daemon's greeting.
  local banner
  banner=$(timeout 60 bash -c \
    'exec 3<>/dev/tcp/127.0.0.1/25 && read -r l <&3 && echo "$l"') || true
  case "$banner" in
    220*) ;;
    *) fail "$1: no 220 greeting on port 25 (got '$banner')" ;;
  esac
  wait_for 30 "$1 to run as PID $DAEMON_PID" daemon_is "$(basename "${exec%% *}")"
}
stop_unit() {
  kill -TERM "$DAEMON_PID" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$DAEMON_PID" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "daemon did not stop on SIGTERM"
    sleep 0.2
  done
  wait "$DAEMON_PID" 2>/dev/null || true
}
daemon_is() { [ "$(cat "$R/proc/$DAEMON_PID/comm" 2>/dev/null)" = "$1" ]; }
port_open() { ss -Hltn "sport = :$1" | grep -q LISTEN; }

maildir_count() { # <address>
  find "$R/srv/mail/$1/new" -type f 2>/dev/null | wc -l
}
delivered() { # <address> <n>
  [ "$(maildir_count "$1")" -ge "$2" ]
}
queue_count() {
  find "$R/var/lib/chasquid/queue" -maxdepth 1 -name 'm:*' 2>/dev/null | wc -l
}
queued() { [ "$(queue_count)" -ge 1 ]; }
held() { [ -e "$R/srv/mail/held" ]; }

# Sends one message to port 25 while the MDA defers, and waits until the
# daemon has tried it once and keeps it in the queue.
queue_one() { # <subject>
  touch "$R/srv/mail/hold"
  rm -f "$R/srv/mail/held"
  swaks --server 127.0.0.1:25 --from sender@example.net \
    --to user@example.com --header "Subject: $1" --body "$1" \
    >"$LOGS/swaks-queue.log" 2>&1 || fail "port 25 did not accept '$1'"
  wait_for 60 "a deferred delivery attempt of '$1'" held
  queued || fail "'$1' is not waiting in /var/lib/chasquid/queue"
}
release() { rm -f "$R/srv/mail/hold"; }

# ---- Debian's chasquid, set up as an administrator would.
say "installing Debian's chasquid ($(basename "$DEB_DEB"))"
in_root dpkg -i "/pkgs/$(basename "$DEB_DEB")" >"$LOGS/dpkg-debian.log" 2>&1 ||
  fail "dpkg -i of Debian's chasquid failed"

# A maildir MDA (mail_delivery_agent_bin), deferring (exit 75) while
# /srv/mail/hold exists.
cat >"$R/usr/local/bin/test-maildir-mda" <<'EOF'
#!/bin/sh
to="$1"
if [ -e /srv/mail/hold ]; then
  touch /srv/mail/held
  echo "held by the install test"
  exit 75
fi
d="/srv/mail/$to"
mkdir -p "$d/tmp" "$d/new" "$d/cur"
n="$(date +%s).$$.test"
cat >"$d/tmp/$n" && mv "$d/tmp/$n" "$d/new/$n"
EOF
chmod 0755 "$R/usr/local/bin/test-maildir-mda"
mkdir -p "$R/srv/mail"
in_root chown chasquid:chasquid /srv/mail

cat >>"$R/etc/chasquid/chasquid.conf" <<'EOF'

# Added by the install test.
hostname: "mail.example.com"
monitoring_address: "127.0.0.1:1099"
mail_delivery_agent_bin: "/usr/local/bin/test-maildir-mda"
mail_delivery_agent_args: "%to%"
mail_log_path: "<stderr>"
EOF
ADMIN_CONF_SUM=$(md5sum <"$R/etc/chasquid/chasquid.conf")
mkdir -p "$R/etc/chasquid/domains/example.com"
echo "postmaster: user" >"$R/etc/chasquid/domains/example.com/aliases"
in_root chasquid-util user-add user@example.com --password=install-test-pw \
  >"$LOGS/user-add.log" 2>&1 || fail "Debian's chasquid-util user-add failed"
mkdir -p "$R/etc/chasquid/certs/mail.example.com"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mail.example.com \
  -keyout "$R/etc/chasquid/certs/mail.example.com/privkey.pem" \
  -out "$R/etc/chasquid/certs/mail.example.com/fullchain.pem" \
  >/dev/null 2>&1 || fail "openssl req failed"
in_root chgrp -R chasquid /etc/chasquid/certs /etc/chasquid/domains
chmod 0640 "$R/etc/chasquid/certs/mail.example.com/privkey.pem"

say "Debian's chasquid queues a message (delivery deferred)"
start_unit debian-chasquid
queue_one "waiting-1"
stop_unit

# ---- Ours over it.
say "installing ours over it ($(basename "$OUR_DEB"))"
in_root apt-get install -y -q \
  -o Dpkg::Options::=--force-confold "/pkgs/$(basename "$OUR_DEB")" \
  >"$LOGS/apt-install.log" 2>&1 || fail "apt-get install of our package failed"
in_root dpkg-query -W -f='${Status}\n' chasquid-cpp | grep -q "install ok installed" ||
  fail "chasquid-cpp is not installed"
owner=$(in_root dpkg-query -S /usr/bin/chasquid | cut -d: -f1)
[ "$owner" = chasquid-cpp ] || fail "/usr/bin/chasquid belongs to '$owner'"
in_root dpkg --verify chasquid-cpp >"$LOGS/verify.log" 2>&1 ||
  fail "dpkg --verify chasquid-cpp: files differ from the package"
cmp -s "$R/etc/chasquid/hooks/post-data" "$TOP/dist/etc-chasquid/hooks/post-data" ||
  fail "/etc/chasquid/hooks/post-data (unchanged by the admin) is not ours"
[ "$(md5sum <"$R/etc/chasquid/chasquid.conf")" = "$ADMIN_CONF_SUM" ] ||
  fail "the admin's chasquid.conf was not kept"
[ "$(in_root stat -c %U /var/lib/chasquid)" = chasquid ] ||
  fail "/var/lib/chasquid is not owned by chasquid"

say "our daemon, started as the unit starts it"
release
start_unit chasquid-cpp
wait_for 60 "the message Debian's chasquid left in the queue to be delivered" \
  delivered user@example.com 1
grep -rq "waiting-1" "$R/srv/mail/user@example.com/new" ||
  fail "the delivered message is not the queued one"

say "AUTH over TLS on the submission sockets"
swaks --server 127.0.0.1:465 --tls-on-connect --auth PLAIN \
  --auth-user user@example.com --auth-password install-test-pw \
  --from user@example.com --to postmaster@example.com \
  --header "Subject: via-465" >"$LOGS/swaks-465.log" 2>&1 ||
  fail "AUTH + send on 465 (implicit TLS) failed"
swaks --server 127.0.0.1:587 --tls --auth LOGIN \
  --auth-user user@example.com --auth-password install-test-pw \
  --from user@example.com --to user@example.com \
  --header "Subject: via-587" >"$LOGS/swaks-587.log" 2>&1 ||
  fail "AUTH + send on 587 (STARTTLS) failed"
if swaks --server 127.0.0.1:465 --tls-on-connect --auth PLAIN \
  --auth-user user@example.com --auth-password wrong-password \
  --from user@example.com --to user@example.com --quit-after AUTH \
  >"$LOGS/swaks-badauth.log" 2>&1; then
  fail "a wrong password was accepted"
fi
grep -q '^<~\* 535 ' "$LOGS/swaks-badauth.log" ||
  fail "a wrong password did not get a 535 reply"
wait_for 60 "the two submitted messages (one through the alias postmaster)" \
  delivered user@example.com 3
grep -rq "via-465" "$R/srv/mail/user@example.com/new" ||
  fail "the message to postmaster@ (alias of user@) was not delivered to user@"

say "monitoring page"
vars=$(curl -sf --max-time 20 http://127.0.0.1:1099/debug/vars) ||
  fail "no answer from the monitoring server at 127.0.0.1:1099"
printf '%s' "$vars" | /usr/bin/python3 -c '
import json, sys
v = json.load(sys.stdin)
# Two messages submitted; three local deliveries (the one queued before
# the upgrade, the two submitted).
assert v["chasquid/queue/putCount"] >= 2, v["chasquid/queue/putCount"]
assert v["chasquid/queue/deliverAttempts"]["email:local"] >= 3, \
    v["chasquid/queue/deliverAttempts"]
' || fail "monitoring variables do not count the messages: $(printf '%s' "$vars" | head -c 600)"

say "ours leaves a message waiting, then is removed"
queue_one "waiting-2"
stop_unit
in_root apt-get remove -y -q chasquid-cpp >"$LOGS/apt-remove.log" 2>&1 ||
  fail "apt-get remove chasquid-cpp failed"
[ ! -e "$R/usr/bin/chasquid" ] || fail "/usr/bin/chasquid is still there after remove"
for f in etc/chasquid/chasquid.conf etc/chasquid/domains/example.com/users \
  etc/chasquid/domains/example.com/aliases \
  etc/chasquid/certs/mail.example.com/privkey.pem etc/chasquid/hooks/post-data; do
  [ -e "$R/$f" ] || fail "remove deleted /$f"
done
queued || fail "remove deleted the queued message"

say "Debian's chasquid again, on what ours left"
in_root dpkg -i --force-confold "/pkgs/$(basename "$DEB_DEB")" \
  >"$LOGS/dpkg-debian-again.log" 2>&1 || fail "reinstalling Debian's chasquid failed"
release
start_unit debian-chasquid-again
wait_for 60 "Debian's chasquid to deliver the message ours queued" \
  delivered user@example.com 4
grep -rq "waiting-2" "$R/srv/mail/user@example.com/new" ||
  fail "Debian's chasquid delivered something else than ours queued"
stop_unit

say "purging ours while Debian's chasquid is installed keeps the data"
in_root dpkg --purge chasquid-cpp >"$LOGS/purge-1.log" 2>&1 ||
  fail "dpkg --purge chasquid-cpp failed"
[ -d "$R/var/lib/chasquid/domaininfo" ] ||
  fail "purging ours deleted the data of the installed chasquid"

say "purging ours with mail in the queue keeps the queue"
in_root apt-get install -y -q \
  -o Dpkg::Options::=--force-confold "/pkgs/$(basename "$OUR_DEB")" \
  >"$LOGS/apt-install-2.log" 2>&1 || fail "second install of our package failed"
start_unit chasquid-cpp-again
queue_one "waiting-3"
stop_unit
in_root dpkg --purge chasquid-cpp >"$LOGS/purge-2.log" 2>&1 ||
  fail "dpkg --purge chasquid-cpp failed"
queued || fail "purge deleted a queue that held mail"
grep -q "kept /var/lib/chasquid/queue" "$LOGS/purge-2.log" ||
  fail "purge kept the queue without saying so"
[ ! -e "$R/var/lib/chasquid/domaininfo" ] ||
  fail "purge left the rest of the data directory"

say "OK"
