"""Faults: SIGTERM in the middle of deliveries and dialogs; a SIGHUP storm.

SIGTERM stops the daemon at once, as chasquid does: accepted mail is
already on disk. The test checks that the stop is prompt while MDAs are
running and a client is half-way through DATA, that the MDAs die with the
daemon, and that every message answered 250 is delivered after a restart.

A hundred SIGHUPs in a second only reload: the daemon keeps its PID, keeps
answering, every message sent during the storm is delivered, and a user
added to the users file before the storm exists afterwards.
"""

import os
import signal
import smtplib
import threading
import time

from queueutil import delivered, mda_env, setup_mda, wait_for
from smtputil import RawClient

# Delivers like queueutil's test MDA, but first records that it started
# and then waits for $MDA_DIR/go (at most 60 s).
MDA = r"""#!/bin/sh
from="$1"; to="$2"
n=$(date +%s%N)
echo $$ > "$MDA_DIR/started.$n"
i=0
while [ ! -e "$MDA_DIR/go" ] && [ $i -lt 1200 ]; do
  sleep 0.05; i=$((i+1))
done
cat > "$MDA_DIR/.tmp.$to.$n" && mv "$MDA_DIR/.tmp.$to.$n" "$MDA_DIR/$to.$n"
"""


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited: its parent (init, once the daemon is gone) has
    # just not reaped it yet.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigterm_mid_delivery_stops_fast_and_loses_nothing(chasquid_factory):
    c = chasquid_factory()
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    (c.root / "test-mda").write_text(MDA)
    c.start(env=mda_env(maildir), wait_port=c.smtp_port)

    n = 5
    with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=60) as s:
        for i in range(n):
            s.sendmail("a@far", ["user@testserver"],
                       f"Subject: m{i}\r\n\r\nbody {i}\r\n")
    started = wait_for(
        lambda: len(list(maildir.glob("started.*"))) >= n and
        list(maildir.glob("started.*")), timeout=60,
        what="every delivery under way")
    mda_pids = [int(p.read_text()) for p in started]

    # A dialog half-way through DATA.
    raw = RawClient(c.smtp_port, timeout=30)
    assert raw.reply()[0].startswith("220")
    assert raw.do("EHLO client").startswith("250")
    assert raw.do("MAIL FROM:<b@far>").startswith("250")
    assert raw.do("RCPT TO:<user@testserver>").startswith("250")
    assert raw.do("DATA").startswith("354")
    raw.send("Subject: cut\r\n\r\nhalf of a")

    t0 = time.monotonic()
    c.proc.send_signal(signal.SIGTERM)
    c.proc.wait(timeout=30)
    stop_s = time.monotonic() - t0
    print(f"stopped in {stop_s:.2f} s with {n} deliveries in flight")
    # ASan's leak check runs in this time too.
    assert stop_s < 10
    assert c.proc.returncode == 0
    # The half-sent message got no 250: the client still has it.
    try:
        assert raw.reply() == []
    except ConnectionResetError:
        pass  # Unread input at the close: the kernel answers with a reset.
    raw.close()
    wait_for(lambda: not any(alive(p) for p in mda_pids), timeout=30,
             what="the MDAs gone with the daemon")
    assert delivered(maildir, "user@testserver") == []
    assert len(list((c.data_dir / "queue").glob("m:*"))) == n

    # Restart: everything in flight is delivered, once each.
    (maildir / "go").touch()
    c.start(env=mda_env(maildir), wait_port=c.smtp_port)
    got = wait_for(lambda: len(delivered(maildir, "user@testserver")) >= n
                   and delivered(maildir, "user@testserver"), timeout=60,
                   what="in-flight mail delivered after restart")
    wait_for(lambda: c.var("chasquid/queue/length") == 0, timeout=30,
             what="queue empty")
    subjects = sorted(m.split(b"Subject: ", 1)[1].split(b"\r\n")[0]
                      for m in delivered(maildir, "user@testserver"))
    assert subjects == [f"m{i}".encode() for i in range(n)], got


def test_sighup_storm_only_reloads(chasquid_factory):
    c = chasquid_factory()
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    c.start(env=mda_env(maildir), wait_port=c.smtp_port)
    pid = c.proc.pid

    with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=30) as s:
        code, _ = s.mail("a@far")
        assert code == 250
        code, _ = s.rcpt("late@testserver")
        assert code == 550
    c.add_user("late", "testserver", "pw")

    # Mail keeps flowing during the storm.
    sent, errors, stop = [], [], threading.Event()

    def client():
        i = 0
        while not stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=30) as s:
                    s.sendmail("a@far", ["user@testserver"],
                               f"Subject: s{i}\r\n\r\nx\r\n")
                sent.append(i)
            except (OSError, smtplib.SMTPException) as e:
                errors.append(repr(e))
            i += 1

    t = threading.Thread(target=client)
    t.start()
    t0 = time.monotonic()
    for _ in range(100):
        os.kill(pid, signal.SIGHUP)
        time.sleep(0.01)
    storm_s = time.monotonic() - t0
    # Let the last reloads run with the client still going.
    wait_for(lambda: "Received SIGHUP, reloading" in c.log(), timeout=30,
             what="a reload logged")
    stop.set()
    t.join(timeout=60)

    reloads = c.log().count("Received SIGHUP, reloading")
    print(f"100 SIGHUPs in {storm_s:.2f} s: {reloads} reloads, "
          f"{len(sent)} messages sent meanwhile")
    # Signals that arrive while one is pending merge (POSIX), so there may
    # be fewer reloads than signals, never more, and at least one.
    assert 1 <= reloads <= 100
    assert errors == []
    assert sent
    assert c.proc.poll() is None and c.proc.pid == pid
    wait_for(lambda: len(delivered(maildir, "user@testserver")) == len(sent),
             timeout=60, what="every message of the storm delivered")
    # The reload did what a reload does: the new user exists now.
    with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=30) as s:
        s.sendmail("a@far", ["late@testserver"], "Subject: late\r\n\r\nx\r\n")
    wait_for(lambda: delivered(maildir, "late@testserver"), timeout=30,
             what="mail for the user added before the storm")
