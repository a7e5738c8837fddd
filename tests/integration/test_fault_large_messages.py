"""Fault: large messages, several at once.

A message's body is spooled to a file in the queue directory while DATA
comes in (".m:spool-*", for bodies over 128 KiB), written into the item
from there a chunk at a time, and handed to the MDA as a file: the
daemon's memory does not grow with message size.

  * several large messages sent at once by real SMTP clients (smtplib)
    are delivered with the exact bytes sent (compared by SHA-256), while
    the daemon's peak RSS (VmHWM) grows by far less than the bytes in
    flight, and the spool files are gone once the queue is empty;
  * an over-size message gets "552 5.3.4 Message too big" and nothing is
    queued or left behind;
  * a daemon SIGKILLed in the middle of a large DATA leaves a spool file
    that the next start removes (never loaded, never delivered), and a
    large item queued before the kill is delivered whole after it;
  * a large message with DKIM signatures to verify is verified, and one
    submitted for a domain with DKIM keys is signed, as its body streams
    from the spool file, in bounded memory;
  * large messages for a "via" alias are forwarded to the alias's server
    (a second daemon) a piece at a time from their spool files: exact
    bytes arrive, and the peak RSS grows by far less than the bytes in
    flight over what forwarding small messages took;
  * large REQUIRETLS messages are relayed to the MX an enforced MTA-STS
    policy names (a second daemon) a piece at a time from their spool
    files too, with REQUIRETLS passed on, measured the same way.

bench/bigmsg/run.py measures the peak RSS under heavier loads, beside
chasquid 1.11.
"""

import hashlib
import os
import random
import signal
import smtplib
import socket
import ssl
import threading

import pytest

from conftest import SANITIZED
from dnsserver import DNSServer
from queueutil import delivered, mda_env, setup_mda, wait_for
from remoteutil import CA, STSServer, env_with_ca, free_loopback_ip, \
    make_daemon, sts_policy_text

MIB = 1 << 20

# Like queueutil's test MDA, but a "gated*" recipient waits for a go-file
# first: the daemon can be killed while that delivery is pending.
GATED_MDA = r"""#!/bin/sh
from="$1"; to="$2"
case "$to" in
  gated*)
    i=0
    while [ ! -e "$MDA_DIR/go" ] && [ $i -lt 1200 ]; do
      sleep 0.05; i=$((i+1))
    done;;
esac
n=$(date +%s%N)
cat > "$MDA_DIR/.tmp.$to.$n" && mv "$MDA_DIR/.tmp.$to.$n" "$MDA_DIR/$to.$n"
"""


def big_body(size, seed):
    """CRLF lines of printable text, UTF-8 and lines that start with a
    dot (which the client stuffs and we must unstuff)."""
    rng = random.Random(seed)
    words = [b"lorem", b"ipsum", b"\xc3\xb1and\xc3\xba", b"\xe2\x82\xac",
             b"\"quoted\"", b"back\\slash", b"tab\there"]
    lines = []
    n = 0
    while n < size:
        line = b" ".join(rng.choice(words) for _ in range(rng.randint(1, 14)))
        if rng.random() < 0.05:
            line = b"." + line
        lines.append(line)
        n += len(line) + 2
    return b"\r\n".join(lines) + b"\r\n"


def message(i, size):
    head = f"Subject: big {i}\r\nMessage-ID: <big{i}@spf.example>\r\n\r\n"
    return head.encode() + big_body(size, i)


def vm(pid, key):
    """A /proc/<pid>/status figure, in bytes."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def spools(c):
    return sorted(p.name for p in (c.data_dir / "queue").glob(".m:spool-*"))


def start(c, dns, maildir, small_quarantine=False):
    """With `small_quarantine`, a sanitized daemon keeps at most 8 MiB of
    freed memory in AddressSanitizer's quarantine (256 MiB by default),
    so that its peak RSS says what the daemon holds rather than how much
    it allocated and freed over the test (TLS records, for one)."""
    dns.add("spf.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    env = mda_env(maildir)
    if small_quarantine:
        env = small_quarantine_env(env)
    c.start(f"--testing__dns_addr={dns.addr}", env=env,
            wait_port=c.smtp_port)


def small_quarantine_env(env=None):
    """The environment for a sanitized daemon that keeps at most 8 MiB of
    freed memory in AddressSanitizer's quarantine (see start())."""
    env = dict(env or os.environ)
    env["ASAN_OPTIONS"] = ":".join(
        o for o in (env.get("ASAN_OPTIONS"), "quarantine_size_mb=8",
                    "thread_local_quarantine_size_kb=256") if o)
    return env


def sha(b):
    return hashlib.sha256(b).hexdigest()


def send_all(send, msgs):
    """Calls send(m) for every message at once, one thread each; fails
    with every error raised."""
    errors = []

    def one(m):
        try:
            send(m)
        except Exception as e:  # Reported below, with the others.
            errors.append(repr(e))

    threads = [threading.Thread(target=one, args=(m,)) for m in msgs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []


def test_large_messages_in_bounded_memory(chasquid_factory):
    c = chasquid_factory(extra_conf="max_data_size_mb: 64\n")
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    count, size = 6, 8 * MIB
    msgs = [message(i, size) for i in range(count)]
    with DNSServer() as dns:
        start(c, dns, maildir)
        pid = c.proc.pid
        before = vm(pid, "VmHWM")
        spooled_before = c.var("chasquid/smtpIn/spooledMessages")
        seen_spools = set()
        errors = []

        def send(m):
            try:
                with smtplib.SMTP("127.0.0.1", c.smtp_port,
                                  timeout=120) as s:
                    s.sendmail("a@spf.example", ["user@testserver"], m)
            except Exception as e:  # Reported below, with the others.
                errors.append(repr(e))

        threads = [threading.Thread(target=send, args=(m,)) for m in msgs]
        for t in threads:
            t.start()
        # The bodies go to spool files while they come in.
        wait_for(lambda: seen_spools.update(spools(c)) or
                 len(seen_spools) >= 2, timeout=60,
                 what="spool files while DATA is received")
        for t in threads:
            t.join(timeout=300)
        assert errors == []
        got = wait_for(
            lambda: (lambda d: d if len(d) == count else None)(
                delivered(maildir, "user@testserver")),
            timeout=120, what="every large message delivered")
        wait_for(lambda: c.var("chasquid/queue/length") == 0,
                 what="queue empty")
        peak = vm(pid, "VmHWM")

        # Exact bytes: what the MDA got ends with the message as sent
        # (our trace headers come before it).
        want = sorted(sha(m) for m in msgs)
        have = sorted(sha(d[d.index(b"Subject: big"):]) for d in got)
        assert have == want
        for d in got:
            added = d[:d.index(b"Subject: big")]
            assert added.startswith(b"Authentication-Results: testserver")
            assert b"\r\nReceived: from " in added
        assert c.var("chasquid/smtpIn/spooledMessages") - spooled_before \
            == count
        # Spools go with their items.
        wait_for(lambda: spools(c) == [], what="spool files removed")

        # Bounded memory: 48 MiB went through at once; holding each
        # message whole (as before) took about 1.8 times the bytes in
        # flight. What grew must stay well under a quarter of them (a
        # plain build grows by ~4 MiB), or half under AddressSanitizer,
        # whose shadow memory and quarantine of freed chunks add to RSS
        # (~16 MiB there).
        growth = peak - before
        print(f"large messages: {count} x {size // MIB} MiB, VmHWM "
              f"{before / MIB:.1f} -> {peak / MIB:.1f} MiB "
              f"(+{growth / MIB:.1f})")
        bound = count * size / (2 if SANITIZED else 4)
        assert growth < bound, growth


def test_over_size_is_refused_and_not_queued(chasquid_factory):
    c = chasquid_factory(extra_conf="max_data_size_mb: 1\n")
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    with DNSServer() as dns:
        start(c, dns, maildir)
        puts = c.var("chasquid/queue/putCount")
        with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=60) as s:
            code, _ = s.ehlo("client")
            assert code == 250
            s.mail("a@spf.example")
            s.rcpt("user@testserver")
            code, text = s.data(message(1, 3 * MIB))
            assert (code, text) == (552, b"5.3.4 Message too big")
            # The session goes on: a small one is accepted after it.
            refused = s.sendmail("a@spf.example", ["user@testserver"],
                                 message(2, 1000))
            assert refused == {}
        wait_for(lambda: len(delivered(maildir, "user@testserver")) == 1,
                 what="the small message delivered")
        assert c.var("chasquid/queue/putCount") == puts + 1
        wait_for(lambda: c.var("chasquid/queue/length") == 0,
                 what="queue empty")
        qdir = c.data_dir / "queue"
        assert [p.name for p in qdir.iterdir()
                if p.is_file() and p.stat().st_size > 0] == []


def test_kill_mid_data_leaves_no_item_and_start_up_cleans(chasquid_factory):
    c = chasquid_factory(extra_conf="max_data_size_mb: 64\n")
    c.add_user("user", "testserver", "pw")
    c.add_user("gated", "testserver", "pw")
    maildir = setup_mda(c)
    (c.root / "test-mda").write_text(GATED_MDA)
    queued = message(7, 3 * MIB)
    with DNSServer() as dns:
        start(c, dns, maildir)
        # 1. A large message accepted, its delivery held by the MDA.
        with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=60) as s:
            s.sendmail("a@spf.example", ["gated@testserver"], queued)
        # 2. Another one cut in the middle of its DATA.
        sock = socket.create_connection(("127.0.0.1", c.smtp_port))
        f = sock.makefile("rb")
        f.readline()
        for cmd in (b"EHLO client", b"MAIL FROM:<a@spf.example>",
                    b"RCPT TO:<user@testserver>", b"DATA"):
            sock.sendall(cmd + b"\r\n")
            while True:
                line = f.readline()
                if line[3:4] != b"-":
                    break
            assert line[:1] in (b"2", b"3"), line
        sock.sendall(message(8, 2 * MIB))  # No terminator.
        # Both spools exist: the queued item's and the one being received.
        wait_for(lambda: len(spools(c)) == 2, timeout=30,
                 what="the cut message spooled")
        c.proc.send_signal(signal.SIGKILL)
        c.proc.wait()
        sock.close()
        assert len(spools(c)) == 2

        # 3. Restarted: the spools are removed (the cut message is never
        # delivered), the queued item is loaded and delivered whole.
        start(c, dns, maildir)
        log = c.log()
        assert log.count("removed leftover spool file") == 2, log
        (maildir / "go").touch()
        got = wait_for(lambda: delivered(maildir, "gated@testserver"),
                       timeout=60, what="the queued item delivered")
        assert len(got) == 1
        assert sha(got[0][got[0].index(b"Subject: big 7"):]) == sha(queued)
        wait_for(lambda: c.var("chasquid/queue/length") == 0,
                 what="queue empty")
        assert delivered(maildir, "user@testserver") == []
        # The loaded item's data went to a spool of its own while it
        # waited; it is gone with the item.
        wait_for(lambda: spools(c) == [], what="spool files removed")
        assert not (c.data_dir / "queue" / ".quarantine").exists()


def test_large_signed_message_verified_from_the_spool(chasquid_factory,
                                                      tmp_path):
    """A 24 MiB message signed by dkimpy is verified while its body
    streams from the spool file (each signature's body hash computed
    piece by piece), not read into memory: two signatures, rsa-sha256
    relaxed/relaxed and simple/simple, both pass; a copy whose body was
    changed after signing fails with a body hash mismatch; and the
    daemon's peak RSS grows by far less than the message (holding it
    whole for verification, as before, took about four times its size:
    the read, its CRLF copy, the parsed body and its canonical form)."""
    import dkim
    from dkimutil import dkimpy_keys
    key, txt = dkimpy_keys(tmp_path)["rsa-sha256"]
    c = chasquid_factory(extra_conf="max_data_size_mb: 64\n")
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    size = 24 * MIB
    msg = (b"From: Big Sender <a@example.org>\r\n"
           b"Subject: big signed\r\nMessage-ID: <bigsigned@example.org>"
           b"\r\n\r\n") + big_body(size, 99)
    for canon in ((b"relaxed", b"relaxed"), (b"simple", b"simple")):
        msg = dkim.sign(msg, b"sel", b"example.org", key,
                        canonicalize=canon,
                        include_headers=[b"from", b"subject"]) + msg
    tampered = msg.replace(b"lorem", b"LOREM", 1)
    with DNSServer() as dns:
        dns.add("sel._domainkey.example.org", "TXT", txt)
        start(c, dns, maildir, small_quarantine=True)
        pid = c.proc.pid
        before = vm(pid, "VmHWM")
        found0 = c.var("chasquid/smtpIn/dkimVerifyFound")
        valid0 = c.var("chasquid/smtpIn/dkimVerifyValid")
        spooled0 = c.var("chasquid/smtpIn/spooledMessages")
        for m in (msg, tampered):
            with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=300) as s:
                s.sendmail("a@spf.example", ["user@testserver"], m)
        got = wait_for(
            lambda: (lambda d: d if len(d) == 2 else None)(
                delivered(maildir, "user@testserver")),
            timeout=120, what="both messages delivered")
        wait_for(lambda: c.var("chasquid/queue/length") == 0,
                 what="queue empty")
        peak = vm(pid, "VmHWM")
        assert c.var("chasquid/smtpIn/spooledMessages") - spooled0 == 2
        assert c.var("chasquid/smtpIn/dkimVerifyFound") - found0 == 2
        assert c.var("chasquid/smtpIn/dkimVerifyValid") - valid0 == 1
        results = {}
        for d in got:
            body = d[d.index(b"DKIM-Signature:"):]
            added = d[:d.index(b"DKIM-Signature:")].decode()
            results[sha(body)] = added
        good, bad = results[sha(msg)], results[sha(tampered)]
        assert good.count(";dkim=pass") == 2, good
        assert bad.count(";dkim=fail  reason=\"body hash mismatch") == 2, bad
        growth = peak - before
        print(f"signed {size // MIB} MiB message verified: VmHWM "
              f"{before / MIB:.1f} -> {peak / MIB:.1f} MiB "
              f"(+{growth / MIB:.1f})")
        # Reading it whole took about four times its size. Under
        # AddressSanitizer, whose allocator and shadow memory add 10-20 MiB
        # here even with a small quarantine, the bound is the size itself.
        assert growth < size / (1 if SANITIZED else 2), growth


def test_large_message_signed_from_the_spool(chasquid_factory):
    """A 24 MiB message submitted by an authenticated user of a domain
    with two DKIM keys is signed while its body streams from the spool
    (one pass for both keys): both signatures verify with dkimpy, and the
    daemon's peak RSS grows by far less than the message (signing used
    to read it whole, with its CRLF copy and canonical body)."""
    import ssl
    from dkimutil import dkimpy_verify_each, keygen
    c = chasquid_factory(extra_conf="max_data_size_mb: 64\n")
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    recs = {f"{sel}._domainkey.testserver":
            keygen(c.config_dir, "testserver", sel, algo)
            for sel, algo in (("r", "rsa3072"), ("e", "ed25519"))}
    size = 24 * MIB
    msg = (b"From: user@testserver\r\nTo: user@testserver\r\n"
           b"Subject: big to sign\r\n\r\n") + big_body(size, 7)
    with DNSServer() as dns:
        start(c, dns, maildir, small_quarantine=True)
        pid = c.proc.pid
        before = vm(pid, "VmHWM")
        signed0 = c.var("chasquid/smtpIn/dkimSigned")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", c.submission_port, timeout=300) as s:
            s.starttls(context=ctx)
            s.login("user@testserver", "pw")
            s.sendmail("user@testserver", ["user@testserver"], msg)
        got = wait_for(lambda: delivered(maildir, "user@testserver"),
                       timeout=120, what="the delivery")
        wait_for(lambda: c.var("chasquid/queue/length") == 0,
                 what="queue empty")
        peak = vm(pid, "VmHWM")
        assert c.var("chasquid/smtpIn/dkimSigned") - signed0 == 1
        m = got[0].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        assert m.endswith(msg)
        assert m.count(b"DKIM-Signature:") == 2
        assert dkimpy_verify_each(m, recs, 2) == [True, True]
        growth = peak - before
        print(f"{size // MIB} MiB message signed: VmHWM "
              f"{before / MIB:.1f} -> {peak / MIB:.1f} MiB "
              f"(+{growth / MIB:.1f})")
        # Reading it whole took about four times its size. Under
        # AddressSanitizer, whose allocator and shadow memory add 10-20 MiB
        # here even with a small quarantine, the bound is the size itself.
        assert growth < size / (1 if SANITIZED else 2), growth


def test_via_forwards_stream_from_the_spool(chasquid_factory):
    """Several large messages for a "via" alias at once: the forwarding
    daemon sends each body a piece at a time from its spool file to the
    alias's server (another daemon, which delivers them), instead of
    reading it whole for the attempt. The same test first forwards as
    many small (not spooled) messages, for the baseline peak RSS."""
    a = chasquid_factory("a", extra_conf="max_data_size_mb: 64\n")
    b = chasquid_factory("b", hostname="srv-b", domains=("via.test",),
                         extra_conf="max_data_size_mb: 64\n")
    (a.config_dir / "domains" / "testserver" / "aliases").write_text(
        "fwd: z@via.test via relay.test\n")
    b.add_user("z", "via.test", "pw")
    maildir = setup_mda(b)
    count, size = 5, 8 * MIB
    small = [message(100 + i, 16 * 1024) for i in range(count)]
    large = [message(i, size) for i in range(count)]
    with DNSServer() as dns:
        dns.add("relay.test", "A", "127.0.0.1")
        start(b, dns, maildir)
        # The forwarding daemon resolves through /etc/resolv.conf, and
        # finds the "via" server's address in /etc/hosts.
        a.start(f"--testing__outgoing_smtp_port={b.smtp_port}",
                env=small_quarantine_env(), wait_port=a.smtp_port,
                system_dns=dns, hosts=["127.0.0.1 relay.test"])
        pid = a.proc.pid

        def forward_all(msgs, n_before):
            def send(m):
                with smtplib.SMTP("127.0.0.1", a.smtp_port,
                                  timeout=120) as s:
                    s.sendmail("a@spf.example", ["fwd@testserver"], m)

            send_all(send, msgs)
            got = wait_for(
                lambda: (lambda d: d if len(d) == n_before + len(msgs)
                         else None)(delivered(maildir, "z@via.test")),
                timeout=180, what="every forwarded message delivered")
            wait_for(lambda: a.var("chasquid/queue/length") == 0,
                     what="queue empty")
            return got

        forward_all(small, 0)
        spooled0 = a.var("chasquid/smtpIn/spooledMessages")
        assert spooled0 == 0
        base = vm(pid, "VmHWM")
        got = forward_all(large, count)
        peak = vm(pid, "VmHWM")
        assert a.var("chasquid/smtpIn/spooledMessages") == count
        assert a.var("chasquid/queue/deliverAttempts", "forward") == 2 * count
        assert (a.var("chasquid/queue/deliveriesSent", "forward") or 0) \
            == 2 * count
        # Exact bytes, after the trace headers both daemons added.
        have = sorted(sha(d[d.index(b"Subject: big"):]) for d in got)
        assert have == sorted(sha(m) for m in small + large)
        wait_for(lambda: spools(a) == [], what="spool files removed")
        # Each large forward's trace says it went from the spool.
        _, _, traces = a.get(
            "/debug/traces?fam=Courier.SMTP.Forward&b=0&all=true")
        assert traces.count(b"spooled: ") == count, traces

        growth = peak - base
        print(f"via forwards: {count} x {size // MIB} MiB, VmHWM "
              f"{base / MIB:.1f} -> {peak / MIB:.1f} MiB "
              f"(+{growth / MIB:.1f}) over {count} small forwards")
        # Read whole for the attempt (as before), each message took its
        # size and its CRLF copy. What grows now must stay well under a
        # quarter of the bytes in flight, or half under AddressSanitizer.
        bound = count * size / (2 if SANITIZED else 4)
        assert growth < bound, growth


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="the MTA-STS server needs port 443")
def test_requiretls_relays_stream_from_the_spool(chasquid_factory, tmp_path):
    """Several large REQUIRETLS messages at once, submitted to daemon A
    for b.test, whose enforced MTA-STS policy names daemon B: A relays
    each over validated TLS with REQUIRETLS passed on, sending the body a
    piece at a time from its spool file (it used to read the message
    whole for each attempt). The same test first relays as many small
    (not spooled) REQUIRETLS messages, for the baseline peak RSS."""
    ca = CA(tmp_path / "ca")
    big = "max_data_size_mb: 64\n"
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",),
                    tmp_path / "mbox-a", extra=big)
    a.add_user("alice", "a.test", "pass-a")
    b = chasquid_factory("b", hostname="mx.b.test", domains=("b.test",),
                         extra_conf=big)
    ca.issue(b.config_dir / "certs" / "mx.b.test", "mx.b.test")
    b.add_user("bob", "b.test", "pass-b")
    maildir = setup_mda(b)
    # Larger than the via test's: the TLS sessions on both sides add to
    # what AddressSanitizer's allocator holds, whatever the size.
    count, size = 5, 16 * MIB
    small = [message(200 + i, 16 * 1024) for i in range(count)]
    large = [message(300 + i, size) for i in range(count)]
    ip = free_loopback_ip()
    sts_cert = ca.issue(tmp_path / "sts", "mta-sts.b.test")
    with DNSServer() as dns, \
            STSServer(ip, *sts_cert, sts_policy_text("enforce", "mx.b.test")):
        dns.add("b.test", "MX", "10 mx.b.test")
        dns.add("mx.b.test", "A", "127.0.0.1")
        dns.add("_mta-sts.b.test", "TXT", "v=STSv1; id=1")
        dns.add("mta-sts.b.test", "A", ip)
        start(b, dns, maildir)
        a.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={b.smtp_port}",
                env=small_quarantine_env(env_with_ca(ca)),
                wait_port=a.submission_port)
        pid = a.proc.pid
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE

        def send(m):
            with smtplib.SMTP("127.0.0.1", a.submission_port,
                              timeout=120) as s:
                s.starttls(context=ctx)
                s.login("alice@a.test", "pass-a")
                s.sendmail("alice@a.test", ["bob@b.test"], m,
                           mail_options=["REQUIRETLS"])

        def relay_all(msgs, n_before):
            send_all(send, msgs)
            got = wait_for(
                lambda: (lambda d: d if len(d) == n_before + len(msgs)
                         else None)(delivered(maildir, "bob@b.test")),
                timeout=180, what="every REQUIRETLS message delivered")
            wait_for(lambda: a.var("chasquid/queue/length") == 0,
                     what="queue empty")
            return got

        relay_all(small, 0)
        assert a.var("chasquid/smtpIn/spooledMessages") == 0
        base = vm(pid, "VmHWM")
        got = relay_all(large, count)
        peak = vm(pid, "VmHWM")
        assert a.var("chasquid/smtpIn/spooledMessages") == count
        rt = "chasquid/requireTls/messages"
        assert a.var(rt, "relayed") == 2 * count
        assert (a.var(rt, "bounced") or 0) == 0
        # B took each with REQUIRETLS on its MAIL command.
        assert b.var(rt, "accepted") == 2 * count
        # Exact bytes, after the trace headers both daemons added.
        have = sorted(sha(d[d.index(b"Subject: big"):]) for d in got)
        assert have == sorted(sha(m) for m in small + large)
        wait_for(lambda: spools(a) == [], what="spool files removed")
        # Each large relay's trace says it went from the spool, with
        # REQUIRETLS.
        _, _, traces = a.get(
            "/debug/traces?fam=Courier.SMTP.Deliver&b=0&all=true")
        assert traces.count(b"spooled: ") == count, traces
        assert traces.count(b"REQUIRETLS") >= 2 * count, traces

        growth = peak - base
        print(f"REQUIRETLS relays: {count} x {size // MIB} MiB, VmHWM "
              f"{base / MIB:.1f} -> {peak / MIB:.1f} MiB "
              f"(+{growth / MIB:.1f}) over {count} small relays")
        # Read whole for the attempt (as before), each message took its
        # size and its CRLF copy. What grows now must stay well under a
        # quarter of the bytes in flight, or half under AddressSanitizer.
        bound = count * size / (2 if SANITIZED else 4)
        assert growth < bound, growth
