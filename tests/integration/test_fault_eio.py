"""Fault: writes to the queue directory fail with EIO.

A small LD_PRELOAD shim (built here with cc) makes write(2), pwrite(2),
fsync(2) and fdatasync(2) fail with EIO on files under the daemon's queue
directory while a flag file exists; the flag's content says which of the
two fails ("write" or "fsync"). Against the real daemon:

  * DATA gets "451 4.3.0 Failed to queue message: ... input/output error",
    for a failed write and for a failed fsync alike;
  * nothing half-written stays in the queue directory;
  * the failures are counted (chasquid/queue/writeErrors);
  * once the flag is gone, mail flows again with no restart, and every
    message that got a 250 is delivered once.
"""

import smtplib
import subprocess

import pytest

from queueutil import delivered, mda_env, setup_mda, wait_for

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the flag file says should fail now: "" (nothing), "write", "fsync". */
static void mode(char *out, size_t n) {
  out[0] = 0;
  const char *flag = getenv("EIO_FLAG");
  if (!flag) return;
  int fd = open(flag, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t r = read(fd, out, n - 1);
  close(fd);
  out[r > 0 ? r : 0] = 0;
}

static int under_queue(int fd) {
  const char *dir = getenv("EIO_DIR");
  char link[64], path[4096];
  if (!dir) return 0;
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof(path) - 1);
  if (n <= 0) return 0;
  path[n] = 0;
  size_t d = strlen(dir);
  return strncmp(path, dir, d) == 0 && path[d] == '/';
}

static int should_fail(int fd, const char *what) {
  char m[16];
  if (!under_queue(fd)) return 0;
  mode(m, sizeof(m));
  return strncmp(m, what, strlen(what)) == 0;
}

ssize_t write(int fd, const void *buf, size_t n) {
  static ssize_t (*real)(int, const void *, size_t);
  if (!real) real = dlsym(RTLD_NEXT, "write");
  if (should_fail(fd, "write")) { errno = EIO; return -1; }
  return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
  static ssize_t (*real)(int, const void *, size_t, off_t);
  if (!real) real = dlsym(RTLD_NEXT, "pwrite");
  if (should_fail(fd, "write")) { errno = EIO; return -1; }
  return real(fd, buf, n, off);
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = dlsym(RTLD_NEXT, "fsync");
  if (should_fail(fd, "fsync")) { errno = EIO; return -1; }
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = dlsym(RTLD_NEXT, "fdatasync");
  if (should_fail(fd, "fsync")) { errno = EIO; return -1; }
  return real(fd);
}
"""


def build_shim(tmp_path):
    src = tmp_path / "eio_shim.c"
    src.write_text(SHIM)
    so = tmp_path / "eio_shim.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(so), str(src),
                    "-ldl"], check=True)
    return so


def queue_leftovers(qdir):
    """Files in the queue directory with content: items and half-written
    temporary files. (Empty spare files are kept on purpose.)"""
    return sorted(p.name for p in qdir.iterdir()
                  if p.is_file() and p.stat().st_size > 0)


def send(c, subject):
    with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=60) as s:
        s.sendmail("", ["user@testserver"],
                   f"Subject: {subject}\r\n\r\n" + "body line\r\n" * 200)


def test_eio_on_queue_writes_refuses_cleanly_and_recovers(chasquid_factory,
                                                         tmp_path):
    c = chasquid_factory()
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    qdir = c.data_dir / "queue"
    flag = tmp_path / "eio-on"
    env = mda_env(maildir)
    env["LD_PRELOAD"] = str(build_shim(tmp_path))
    env["EIO_FLAG"] = str(flag)
    env["EIO_DIR"] = str(qdir)
    # The sanitizers' runtime wants to be first; the shim only passes
    # calls on to it (RTLD_NEXT).
    env["ASAN_OPTIONS"] = ":".join(
        o for o in (env.get("ASAN_OPTIONS"), "verify_asan_link_order=0") if o)
    # No --testing__dns_addr: the resolver is set up from the system's
    # configuration. The null sender keeps SPF, and so any query, out.
    c.start(env=env, wait_port=c.smtp_port)

    send(c, "before")
    wait_for(lambda: len(delivered(maildir, "user@testserver")) == 1,
             what="the first message delivered")
    wait_for(lambda: c.var("chasquid/queue/length") == 0,
             what="the queue empty")
    left_before = queue_leftovers(qdir)

    for what in ("write", "fsync"):
        errors0 = c.var("chasquid/queue/writeErrors") or 0
        flag.write_text(what)
        with pytest.raises(smtplib.SMTPDataError) as e:
            send(c, f"refused-{what}")
        assert e.value.smtp_code == 451, e.value
        assert e.value.smtp_error.startswith(
            b"4.3.0 Failed to queue message"), e.value.smtp_error
        assert b"input/output error" in e.value.smtp_error, \
            e.value.smtp_error
        assert queue_leftovers(qdir) == left_before
        assert c.var("chasquid/queue/writeErrors") > errors0
        flag.unlink()

    # The fault is gone: mail flows, no restart.
    assert c.proc.poll() is None
    send(c, "after")
    wait_for(lambda: len(delivered(maildir, "user@testserver")) == 2,
             what="the message after the fault delivered")
    subjects = sorted(m.split(b"Subject: ")[1].split(b"\n")[0].strip()
                      for m in delivered(maildir, "user@testserver"))
    assert subjects == [b"after", b"before"], subjects
    assert queue_leftovers(qdir) == left_before
