"""Fault: the disk holding the data directory fills up.

The test mounts a small tmpfs on the daemon's data directory (it runs as
root, in CI too) and fills it with a file while the daemon runs:

  * DATA gets "451 4.3.0" and nothing half-written stays in the queue;
  * domaininfo and DSN writes fail cleanly and are counted
    (chasquid/domaininfo/writeErrors, chasquid/queue/dsnErrors,
    chasquid/queue/writeErrors); the item whose DSN could not be queued
    stays, so the bounce is not lost;
  * once the file is removed, mail flows again with no restart: the
    rejected message is accepted when resent, and the DSN goes out.

The same tmpfs remounted read-only stands for writes that fail outright
(EROFS): the same 451, nothing left behind, the same recovery.

An MTA-STS policy fetched while the disk is full is used for the delivery
that fetched it, though it cannot be cached: the failed write is logged
and counted (chasquid/sts/cache/ioErrors) and leaves nothing in the cache
directory; once there is room, the next fetch is cached and then used.
"""

import errno
import os
import re
import smtplib
import subprocess

import json
import pytest

from conftest import free_port
from dnsserver import DNSServer
from queueutil import delivered, mda_env, setup_mda, wait_for
from remoteutil import CA, SMTPPeer, STSServer, env_with_ca, \
    free_loopback_ip, sts_policy_text, submit

# Like queueutil's test MDA, but a "fail*" recipient waits for a go-file
# before failing: the test fills the disk in between, so the DSN that
# follows the failure meets a full disk.
MDA = r"""#!/bin/sh
from="$1"; to="$2"
case "$to" in
  fail*)
    i=0
    while [ ! -e "$MDA_DIR/go" ] && [ $i -lt 1200 ]; do
      sleep 0.05; i=$((i+1))
    done
    echo "no such user"; exit 1;;
esac
n=$(date +%s%N)
cat > "$MDA_DIR/.tmp.$to.$n" && mv "$MDA_DIR/.tmp.$to.$n" "$MDA_DIR/$to.$n"
"""


def fill(path):
    """Writes `path` until the file system is full; returns its size."""
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                if len(chunk) == 1:
                    break
                chunk = chunk[:len(chunk) // 16 or 1]
    return os.path.getsize(path)


def queue_leftovers(qdir):
    """Files in the queue directory with content: items and half-written
    temporary files. (Empty spare files are kept on purpose.)"""
    return sorted(p.name for p in qdir.iterdir()
                  if p.is_file() and p.stat().st_size > 0)


@pytest.fixture
def small_data_dir(chasquid_factory):
    c = chasquid_factory()
    c.data_dir.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700",
                    "tmpfs", str(c.data_dir)], check=True)
    yield c
    c.stop()  # Before the unmount: the daemon has files open there.
    subprocess.run(["umount", "-l", str(c.data_dir)], check=True)


def send(c, rcpt, subject, sender="a@spf.example"):
    with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=60) as s:
        s.sendmail(sender, [rcpt],
                   f"Subject: {subject}\r\n\r\n" + "body line\r\n" * 200)


def test_disk_full_refuses_cleanly_and_recovers(small_data_dir):
    c = small_data_dir
    c.add_user("user", "testserver", "pw")
    c.add_user("failuser", "testserver", "pw")
    maildir = setup_mda(c)
    mda = c.root / "test-mda"
    mda.write_text(MDA)
    with DNSServer() as dns:
        # SPF passes for these senders, so each new one is written to
        # domaininfo (the security level is only tracked for them).
        for d in ("spf.example", "new.example", "later.example"):
            dns.add(d, "TXT", "v=spf1 ip4:127.0.0.1 -all")
        c.start(f"--testing__dns_addr={dns.addr}",
                "--testing__queue_retry_delay=1s", env=mda_env(maildir), wait_port=c.smtp_port)
        qdir = c.data_dir / "queue"

        send(c, "user@testserver", "before")
        wait_for(lambda: delivered(maildir, "user@testserver"),
                 what="first message delivered")
        # Accepted while there is room; its delivery fails once the disk
        # is full, so the DSN meets a full disk.
        send(c, "failuser@testserver", "will bounce", sender="user@testserver")

        wait_for(lambda: list(qdir.glob("m:*")), what="the item queued")
        left_before = queue_leftovers(qdir)
        filler = c.data_dir / "filler"
        fill(filler)
        base = {v: c.var(v) for v in ("chasquid/queue/writeErrors",
                                      "chasquid/queue/dsnErrors",
                                      "chasquid/domaininfo/writeErrors")}

        # 1. DATA is refused with 451 4.3.0 and nothing is left behind.
        with pytest.raises(smtplib.SMTPDataError) as e:
            send(c, "user@testserver", "refused", sender="a@new.example")
        assert e.value.smtp_code == 451
        assert e.value.smtp_error.startswith(b"4.3.0 Failed to queue message")
        assert queue_leftovers(qdir) == left_before
        assert c.var("chasquid/queue/writeErrors") > \
            base["chasquid/queue/writeErrors"]
        # 2. The new sender domain could not be recorded.
        assert c.var("chasquid/domaininfo/writeErrors") > \
            base["chasquid/domaininfo/writeErrors"]
        assert not (c.data_dir / "domaininfo" / "s:new.example").exists()
        # 3. The permanent failure's DSN cannot be queued: counted, and the
        # item stays (in memory and on disk), retried.
        (maildir / "go").touch()
        wait_for(lambda: c.var("chasquid/queue/dsnErrors") >=
                 base["chasquid/queue/dsnErrors"] + 2,
                 timeout=60, what="DSN failures counted, and retried")
        assert len([p for p in qdir.glob("m:*")]) == 1
        assert c.var("chasquid/queue/length") == 1
        assert c.proc.poll() is None

        # 4. Space comes back: no restart, mail flows, the DSN goes out.
        filler.unlink()
        send(c, "user@testserver", "refused", sender="a@new.example")
        send(c, "user@testserver", "after", sender="a@later.example")
        wait_for(lambda: len(delivered(maildir, "user@testserver")) >= 4,
                 timeout=60, what="resent mail and the DSN delivered")
        got = delivered(maildir, "user@testserver")
        subjects = [re.search(rb"^Subject: (.*?)\r?$", m, re.M).group(1)
                    for m in got]
        assert sorted(subjects) == sorted([
            b"before", b"refused", b"after",
            b"Mail delivery failed: returning message to sender"])
        dsn = got[subjects.index(
            b"Mail delivery failed: returning message to sender")]
        assert b"failuser@testserver" in dsn
        wait_for(lambda: c.var("chasquid/queue/length") == 0, timeout=60,
                 what="queue empty")
        assert queue_leftovers(qdir) == []
        assert (c.data_dir / "domaininfo" / "s:later.example").exists()
        assert c.proc.poll() is None


def test_read_only_data_dir_refuses_cleanly_and_recovers(small_data_dir):
    # Writes failing outright (EROFS) rather than for space: the same
    # answer, the same recovery. (Root ignores file modes, so the file
    # system itself is made read-only.)
    c = small_data_dir
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    c.start(env=mda_env(maildir), wait_port=c.smtp_port)
    qdir = c.data_dir / "queue"
    send(c, "user@testserver", "before")
    wait_for(lambda: delivered(maildir, "user@testserver"),
             what="first message delivered")
    wait_for(lambda: c.var("chasquid/queue/length") == 0, what="queue empty")

    subprocess.run(["mount", "-o", "remount,ro", str(c.data_dir)],
                   check=True)
    try:
        errors0 = c.var("chasquid/queue/writeErrors")
        with pytest.raises(smtplib.SMTPDataError) as e:
            send(c, "user@testserver", "refused")
        assert e.value.smtp_code == 451
        assert e.value.smtp_error.startswith(b"4.3.0 Failed to queue message")
        assert b"read-only file system" in e.value.smtp_error
        assert c.var("chasquid/queue/writeErrors") > errors0
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(c.data_dir)],
                       check=True)
    assert queue_leftovers(qdir) == []

    send(c, "user@testserver", "refused")
    wait_for(lambda: len(delivered(maildir, "user@testserver")) == 2,
             timeout=60, what="the refused message, resent, delivered")
    wait_for(lambda: c.var("chasquid/queue/length") == 0, what="queue empty")
    assert queue_leftovers(qdir) == []
    assert c.proc.poll() is None


def test_sts_cache_write_on_full_disk(small_data_dir, tmp_path):
    c = small_data_dir
    c.add_user("alice", "testserver", "pw")
    ca = CA(tmp_path / "ca")
    ip, port = free_loopback_ip(), free_port()
    cache = c.data_dir / "sts-cache"
    sts_cert = ca.issue(tmp_path / "sts", "mta-sts.good.test")
    mx_cert = ca.issue(tmp_path / "mx", "mx.good.test")

    def var(name, key=None):
        return c.var(f"chasquid/{name}", key) or 0

    def io_errors():
        return c.var("chasquid/sts/cache/ioErrors") or 0

    with DNSServer() as dns, \
            STSServer(ip, *sts_cert,
                      sts_policy_text("enforce", "mx.good.test")) as sts, \
            SMTPPeer(port, *mx_cert, rcpt_reply="451 4.3.0 not yet") as peer:
        dns.add("good.test", "MX", "10 mx.good.test")
        dns.add("mx.good.test", "A", "127.0.0.1")
        # Through /etc/resolv.conf (the same DNS server on port 53 of an
        # address of its own), with the MX's address in /etc/hosts.
        c.start(f"--testing__outgoing_smtp_port={port}",
                "--testing__queue_retry_delay=1s", env=env_with_ca(ca),
                system_dns=dns, hosts=["127.0.0.1 mx.good.test"])

        # Queued while there is room; the MX defers the first attempt,
        # made while the domain has no policy yet.
        submit(c, "alice@testserver", "pw", "alice@testserver",
               "x@good.test", "first")
        wait_for(lambda: peer.connections >= 1, what="the first attempt")
        wait_for(lambda: sum((c.var(
            "chasquid/queue/deliveriesTransientFailed") or {}).values()) >= 1,
            what="the first attempt over")
        filler = c.data_dir / "filler"
        fill(filler)
        io0, fetches0 = io_errors(), sts.requests

        # The domain publishes a policy and its MX takes the mail: the next
        # attempt fetches the policy, cannot store it, and uses it.
        dns.add("_mta-sts.good.test", "TXT", "v=STSv1; id=1")
        dns.add("mta-sts.good.test", "A", ip)
        peer.rcpt_reply = "250 ok"
        wait_for(lambda: len(peer.messages) == 1, timeout=30,
                 what="delivered on a full disk")
        # One fetch (two if a retry fell between the two changes above),
        # each one's write failed and counted; the delivery applied it.
        fetches1 = sts.requests
        assert fetches1 in (fetches0 + 1, fetches0 + 2)
        assert io_errors() == io0 + fetches1 - fetches0
        assert var("smtpOut/sts/mode", "enforce") == fetches1 - fetches0
        pass1 = var("smtpOut/sts/security", "pass")
        assert pass1 >= 1
        assert var("smtpOut/sts/security", "fail") == 0
        assert "STS cache: error storing good.test: " in c.log()
        assert "no space left on device" in c.log()
        # Nothing half-written: no entry, no temporary file.
        assert sorted(p.name for p in cache.iterdir()) == []
        _, _, body = c.get("/debug/traces?fam=STSCache.Fetch&b=0&all=true")
        assert b"error storing the policy" in body

        # Room again: the next fetch is stored, and the one after is a
        # hit on it.
        filler.unlink()
        for n, to in enumerate(("y@good.test", "z@good.test"), start=2):
            submit(c, "alice@testserver", "pw", "alice@testserver", to,
                   f"message {n}")
            wait_for(lambda: len(peer.messages) == n, timeout=30,
                     what=f"message {n} delivered")
        assert sts.requests == fetches1 + 1
        assert var("sts/cache/hits") >= 1
        assert io_errors() == io0 + fetches1 - fetches0
        assert sorted(p.name for p in cache.iterdir()) == ["pol:good.test"]
        assert json.loads((cache / "pol:good.test").read_text())["mode"] \
            == "enforce"
        assert var("smtpOut/sts/security", "pass") == pass1 + 2
        assert [m[1] for m in peer.messages] == [
            ["x@good.test"], ["y@good.test"], ["z@good.test"]]
        wait_for(lambda: c.var("chasquid/queue/length") == 0,
                 what="queue empty")
        assert c.proc.poll() is None
