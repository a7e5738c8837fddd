"""Faults: SIGTERM in the middle of deliveries and dialogs; a SIGHUP storm.

SIGTERM stops the daemon at once, as chasquid does: accepted mail is
already on disk. The test checks that the stop is prompt while MDAs are
running and a client is half-way through DATA, that the MDAs die with the
daemon, and that every message answered 250 is delivered after a restart.

A hundred SIGHUPs in a second only reload: the daemon keeps its PID, keeps
answering, every message sent during the storm is delivered, and a user
added to the users file before the storm exists afterwards.

SIGTERM with clients parked at every stage of the dialog (after EHLO,
MAIL, RCPT, half-way through a small and a large DATA body, inside AUTH,
just after STARTTLS) stops the daemon as promptly: no client gets a reply
it was waiting for, the spool file of the cut large body is removed at
the next start, everything answered 250 before the signal is delivered
after it, nothing cut is ever delivered, and the same clients' mail goes
through once the daemon is back.
"""

import base64
import hashlib
import os
import signal
import smtplib
import threading
import time

from dnsserver import DNSServer
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


# The stages a client is parked at when SIGTERM arrives.
STAGES = ("ehlo", "mail", "rcpt", "data", "bigdata", "auth", "starttls")


def stage_message(stage, attempt):
    """A message with a unique subject; "bigdata" ones are 512 KiB, so
    that half of one is over the 128 KiB that sends a body to a spool
    file."""
    lines = 16 * 1024 if stage == "bigdata" else 4
    body = b"".join(b"%s %d line %06d of the body text\r\n" %
                    (stage.encode(), attempt, i) for i in range(lines))
    return (f"Subject: {stage} {attempt}\r\n"
            f"Message-ID: <{stage}.{attempt}@spf.example>\r\n\r\n"
            ).encode() + body


def dialog(c, stage, attempt, park):
    """Runs one SMTP dialog for `stage`'s message. With `park`, stops at
    the stage (half a body sent for the DATA ones) and returns the
    client; otherwise sends the whole message, checks its 250, quits."""
    port = c.submission_port if stage == "auth" else c.smtp_port
    raw = RawClient(port, timeout=60)
    assert raw.reply()[0].startswith("220")
    assert raw.do("EHLO client").startswith("250")
    if park and stage == "ehlo":
        return raw
    if stage in ("auth", "starttls"):
        assert raw.do("STARTTLS").startswith("220")
        raw.starttls()
        if park and stage == "starttls":
            return raw
        assert raw.do("EHLO client").startswith("250")
    sender = "a@spf.example"
    if stage == "auth":
        if park:
            assert raw.do("AUTH PLAIN").startswith("334")
            return raw
        cred = base64.b64encode(b"\0user@testserver\0pw").decode()
        assert raw.do("AUTH PLAIN " + cred).startswith("235")
        sender = "user@testserver"
    assert raw.do(f"MAIL FROM:<{sender}>").startswith("250")
    if park and stage == "mail":
        return raw
    assert raw.do("RCPT TO:<user@testserver>").startswith("250")
    if park and stage == "rcpt":
        return raw
    assert raw.do("DATA").startswith("354")
    msg = stage_message(stage, attempt)
    if park:
        raw.send(msg[:len(msg) // 2])
        return raw
    reply = raw.do((msg + b".\r\n").decode())
    assert reply.startswith("250 2.0.0 "), reply
    return raw


def sha(b):
    return hashlib.sha256(b).hexdigest()


def rest_of_dialog(raw):
    """What the server says until it closes the connection (TLS or not):
    a reset or a TLS connection cut without close_notify is a close."""
    said = []
    try:
        while True:
            lines = raw.reply()
            if not lines:
                return said
            said += lines
    except OSError:
        return said


def test_sigterm_mid_dialog_loses_nothing_and_delivers_nothing_cut(
        chasquid_factory):
    c = chasquid_factory(extra_conf="max_data_size_mb: 16\n")
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    (c.root / "test-mda").write_text(MDA)  # Holds deliveries until "go".
    qdir = c.data_dir / "queue"

    def spools():
        return sorted(qdir.glob(".m:spool-*"))

    with DNSServer() as dns:
        dns.add("spf.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
        flags = (f"--testing__dns_addr={dns.addr}",)
        c.start(*flags, env=mda_env(maildir))

        # Answered 250 before the signal, on connections that then go on
        # to the next message: a small one and a large (spooled) one.
        accepted = []
        parked = {}
        for stage in STAGES:
            if stage in ("rcpt", "bigdata"):
                raw = dialog(c, stage, 0, park=False)
                accepted.append(stage_message(stage, 0))
                raw.close()
            parked[stage] = dialog(c, stage, 1, park=True)
        # The accepted large item keeps its spool, the cut body has one.
        wait_for(lambda: len(spools()) == 2, timeout=30,
                 what="the cut large body spooled")
        assert len(list(qdir.glob("m:*"))) == len(accepted)

        t0 = time.monotonic()
        c.proc.send_signal(signal.SIGTERM)
        c.proc.wait(timeout=30)
        stop_s = time.monotonic() - t0
        print(f"stopped in {stop_s:.2f} s with {len(STAGES)} dialogs open")
        # ASan's leak check runs in this time too.
        assert stop_s < 10
        assert c.proc.returncode == 0
        assert "Got signal to exit: Terminated" in c.log()
        # No client got an answer to what it was waiting for: the daemon
        # closed every connection without a word.
        for stage, raw in parked.items():
            assert rest_of_dialog(raw) == [], stage
            raw.close()
        assert len(list(qdir.glob("m:*"))) == len(accepted)
        assert len(spools()) == 2

        # Restart: the two spools are removed (the cut one was never an
        # item; the queued one's data is in its item), the accepted mail
        # is delivered, and the same clients send again, in full.
        # This start resolves through /etc/resolv.conf (the same DNS
        # server, on port 53 of an address of its own).
        (maildir / "go").touch()
        c.start(system_dns=dns, env=mda_env(maildir))
        log = c.log()
        assert log.count("removed leftover spool file") == 2, log
        resent = []
        for stage in STAGES:
            dialog(c, stage, 2, park=False).close()
            resent.append(stage_message(stage, 2))
        want = accepted + resent
        got = wait_for(
            lambda: (lambda d: d if len(d) >= len(want) else None)(
                delivered(maildir, "user@testserver")),
            timeout=60, what="the accepted and the resent mail delivered")
        wait_for(lambda: c.var("chasquid/queue/length") == 0,
                 what="queue empty")
        # Exactly what was answered 250, byte for byte, once each: none of
        # the cut messages, whole or in part.
        got = delivered(maildir, "user@testserver")
        assert sorted(sha(d[d.index(b"Subject: "):]) for d in got) == \
            sorted(sha(m) for m in want)
        assert not any(b" 1 line " in d for d in got)
        assert c.var("chasquid/smtpIn/spooledMessages") == 1
        wait_for(lambda: spools() == [], what="spool files removed")
        assert not (qdir / ".quarantine").exists()
