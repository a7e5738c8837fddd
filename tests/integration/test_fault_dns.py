"""Fault: the DNS server is slow, then gone, then back; and a DNS server
that answers garbage (test_dns_answering_garbage).

  * A name whose queries are never answered makes that one session's SPF
    check wait for the resolver's timeouts and give "temperror"; mail is
    still accepted, and other sessions are served meanwhile;
  * with the DNS server stopped, a remote delivery fails temporarily and
    is retried on schedule (the item stays queued);
  * once the server is back on its address, the retry delivers: nothing
    answered 250 is lost, and nothing is restarted.
"""

import os
import pathlib
import random
import smtplib
import socket
import struct
import threading
import time

import pytest
from dnslib import QTYPE, DNSRecord

from conftest import free_port
from dnsserver import DNSServer
from queueutil import delivered, mda_env, setup_mda, wait_for
from remoteutil import SMTPPeer, submit
from smtputil import RawClient


def test_dns_slow_then_gone_then_back(chasquid_factory):
    c = chasquid_factory()
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    peer_port = free_port()
    dns = DNSServer().start()
    try:
        dns.add("ok.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
        dns.drop("slow.example")
        c.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={peer_port}",
                "--testing__queue_retry_delay=1s", env=mda_env(maildir), wait_port=c.smtp_port)

        # 1. Slow: one session waits on SPF; another is served meanwhile.
        slow = {}

        def slow_session():
            cl = RawClient(c.smtp_port, timeout=60)
            cl.reply()
            cl.do("EHLO slow")
            t0 = time.monotonic()
            slow["mail"] = cl.do("MAIL FROM:<x@slow.example>")
            slow["mail_s"] = time.monotonic() - t0
            slow["done_at"] = time.monotonic()
            assert cl.do("RCPT TO:<user@testserver>").startswith("250")
            assert cl.do("DATA").startswith("354")
            slow["data"] = cl.do("Subject: slow\r\n\r\nx\r\n.")
            cl.close()

        before = c.var("chasquid/smtpIn/spfResultCount", "temperror")
        t = threading.Thread(target=slow_session)
        t.start()
        wait_for(lambda: any(q[0].rstrip(".") == "slow.example"
                             for q in dns.queries), timeout=30,
                 what="the slow session's SPF query")
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=60) as s:
            s.sendmail("a@ok.example", ["user@testserver"],
                       "Subject: fast\r\n\r\nx\r\n")
        fast_done, fast_s = time.monotonic(), time.monotonic() - t0
        t.join(timeout=120)
        print(f"slow DNS: MAIL took {slow['mail_s']:.1f} s; another "
              f"session's whole mail {fast_s:.2f} s meanwhile")
        assert slow["mail"].startswith("250"), slow
        assert slow["data"].startswith("250 2.0.0"), slow
        assert fast_done < slow["done_at"]
        assert c.var("chasquid/smtpIn/spfResultCount", "temperror") == \
            before + 1
        got = wait_for(lambda: len(delivered(maildir, "user@testserver"))
                       == 2 and delivered(maildir, "user@testserver"),
                       timeout=60, what="both messages delivered")
        slow_msg = [m for m in got if b"Subject: slow" in m][0]
        assert b"Received-SPF: temperror" in slow_msg

        # 2. Gone: a remote delivery fails and is retried, not bounced.
        dns.stop()
        attempts0 = c.var("chasquid/queue/deliverAttempts", "email:remote")
        submit(c, "user@testserver", "pw", "user@testserver",
               "someone@remote.example", "to the world")
        wait_for(lambda: c.var("chasquid/queue/deliverAttempts",
                               "email:remote") >= attempts0 + 3,
                 timeout=90, what="three delivery attempts")
        assert c.var("chasquid/queue/length") == 1
        assert c.var("chasquid/queue/dsnQueued") == 0
        # Sessions do not wait on the dead server any longer than on a
        # slow one, and are served.
        with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=60) as s:
            s.sendmail("a@ok.example", ["user@testserver"],
                       "Subject: while gone\r\n\r\nx\r\n")

        # 3. Back: the next retry delivers.
        dns.add("remote.example", "MX", "10 mx.remote.example")
        dns.add("mx.remote.example", "A", "127.0.0.1")
        with SMTPPeer(peer_port) as peer:
            dns.start()
            t0 = time.monotonic()
            wait_for(lambda: peer.messages, timeout=90,
                     what="delivery once DNS is back")
            print(f"delivered {time.monotonic() - t0:.1f} s after DNS came "
                  "back")
        assert [m[1] for m in peer.messages] == [["someone@remote.example"]]
        wait_for(lambda: c.var("chasquid/queue/length") == 0, timeout=30,
                 what="queue empty")
        wait_for(lambda: len(delivered(maildir, "user@testserver")) == 3,
                 timeout=60, what="the message sent while DNS was gone")
        assert c.proc.poll() is None
    finally:
        dns.stop()


# --- DNS answering garbage -------------------------------------------------

def _tc_reply(query):
    """The query turned into an empty answer with TC set: "ask over TCP"."""
    q = DNSRecord.parse(query)
    r = q.reply()
    r.header.tc = 1
    return r.pack()


def _junk_after_question(query, rnd):
    """A header and question that match the query, then answers that are
    random bytes."""
    q = DNSRecord.parse(query)
    r = q.reply()
    packed = bytearray(r.pack())
    packed[6:8] = struct.pack("!H", 3)  # ANCOUNT: three answers follow...
    return bytes(packed) + rnd.randbytes(rnd.randint(1, 80))  # ...or not.


def _compression_loop(query):
    """A TXT answer whose owner name is a compression pointer to itself."""
    q = DNSRecord.parse(query)
    r = q.reply()
    packed = bytearray(r.pack())
    packed[6:8] = struct.pack("!H", 1)
    off = len(packed)
    rdata = b"\x05hello"
    packed += struct.pack("!H", 0xC000 | off)  # Points at itself.
    packed += struct.pack("!HHIH", QTYPE.TXT, 1, 60, len(rdata)) + rdata
    return bytes(packed)


class GarbageDNS:
    """A DNS server on loopback (UDP and TCP, one port) that answers the
    names given to `garbage(name, mode)` with bad answers and relays every
    other query to `upstream` (a dnsserver.DNSServer). Modes:

      random     the query's ID, then random bytes;
      wrongid    the upstream's real answer with another ID;
      truncated  the upstream's real answer cut short (no TC bit);
      junk       a matching header and question, then random bytes where
                 the three answers it announces should be;
      tc         an empty answer with the TC bit over UDP; over TCP the
                 query's ID and random bytes;
      loop       an answer whose owner name is a compression pointer to
                 itself.
    """

    def __init__(self, upstream):
        self.upstream = upstream
        self.modes = {}
        self.seen = []  # (name, mode, "udp"/"tcp")
        self.lock = threading.Lock()
        self.rnd = random.Random(17)
        # One port for both: the kernel picks a free UDP one, whose TCP
        # twin may be taken (it was once, in a full run): try another.
        for _ in range(50):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket()
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
        self.tcp.listen(16)
        self.addr = f"127.0.0.1:{self.port}"
        self.stopped = False
        for fn in (self._serve_udp, self._serve_tcp):
            threading.Thread(target=fn, daemon=True).start()

    def garbage(self, name, mode):
        with self.lock:
            self.modes[name.lower()] = mode

    def clear(self):
        with self.lock:
            self.modes.clear()

    def _relay(self, query):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(query, ("127.0.0.1", self.upstream.port))
            return s.recv(65535)

    def _answer(self, query, over):
        try:
            q = DNSRecord.parse(query)
        except Exception:
            return None
        name = str(q.q.qname).rstrip(".").lower()
        with self.lock:
            mode = self.modes.get(name)
            self.seen.append((name, mode, over))
            rnd = random.Random(self.rnd.random())
        qid = query[:2]
        if mode is None:
            return self._relay(query)
        if mode == "random":
            return qid + rnd.randbytes(rnd.randint(0, 200))
        if mode == "wrongid":
            a = self._relay(query)
            return bytes([a[0] ^ 0x5A, a[1] ^ 0xA5]) + a[2:]
        if mode == "truncated":
            a = self._relay(query)
            return a[:max(len(query), len(a) - 7)]
        if mode == "junk":
            return _junk_after_question(query, rnd)
        if mode == "tc":
            if over == "udp":
                return _tc_reply(query)
            return qid + rnd.randbytes(rnd.randint(0, 200))
        if mode == "loop":
            return _compression_loop(query)
        raise ValueError(mode)

    def _serve_udp(self):
        while not self.stopped:
            try:
                query, peer = self.udp.recvfrom(65535)
            except OSError:
                return
            reply = self._answer(query, "udp")
            if reply is not None:
                self.udp.sendto(reply, peer)

    def _serve_tcp(self):
        while not self.stopped:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(conn,),
                             daemon=True).start()

    def _tcp_conn(self, conn):
        with conn:
            conn.settimeout(10)
            try:
                while True:
                    head = conn.recv(2, socket.MSG_WAITALL)
                    if len(head) < 2:
                        return
                    n = struct.unpack("!H", head)[0]
                    query = conn.recv(n, socket.MSG_WAITALL)
                    reply = self._answer(query, "tcp")
                    if reply is None:
                        return
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                return

    def stop(self):
        self.stopped = True
        self.udp.close()
        self.tcp.close()


GARBAGE_MODES = ("random", "wrongid", "truncated", "junk", "tc", "loop")


def test_dns_answering_garbage(chasquid_factory):
    """Every lookup of a name answered with garbage (see GarbageDNS) fails
    as a temporary error: the SPF check at MAIL gives "temperror" (RFC 7208
    §4.4: an error other than NXDOMAIN, or a timeout, is a temperror; so
    does chasquid) and the mail is accepted; a delivery to such a domain
    is retried on schedule, with no DSN, and goes out once the answers are
    good again. Meanwhile other sessions get their replies in bounded time,
    and the DNS counters move. Under the ASan build, no report."""
    c = chasquid_factory()
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    peer_port = free_port()
    up = DNSServer().start()
    dns = GarbageDNS(up)
    try:
        up.add("ok.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
        for m in GARBAGE_MODES:
            up.add(f"{m}.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
            up.add(f"{m}.example", "MX", f"10 mx.{m}.example")
            up.add(f"mx.{m}.example", "A", "127.0.0.1")
            dns.garbage(f"{m}.example", m)
        c.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={peer_port}",
                "--testing__queue_retry_delay=1s", env=mda_env(maildir))

        # 1. SPF: one session per mode, all at once; a clean session is
        # served while they wait.
        temperror0 = c.var("chasquid/smtpIn/spfResultCount", "temperror")
        results0 = dict(c.var("chasquid/dns/queryResults") or {})
        replies = {}

        def session(m):
            cl = RawClient(c.smtp_port, timeout=60)
            cl.reply()
            cl.do(f"EHLO {m}")
            t0 = time.monotonic()
            mail = cl.do(f"MAIL FROM:<x@{m}.example>")
            took = time.monotonic() - t0
            rcpt = cl.do("RCPT TO:<user@testserver>")
            cl.do("DATA")
            data = cl.do(f"Subject: {m}\r\n\r\nx\r\n.")
            cl.close()
            replies[m] = (mail, rcpt, data, took)

        threads = [threading.Thread(target=session, args=(m,))
                   for m in GARBAGE_MODES]
        for t in threads:
            t.start()
        wait_for(lambda: {m for _, m, _ in list(dns.seen)} >=
                 set(GARBAGE_MODES), timeout=30,
                 what="a query for every garbage name")
        fast = []
        for _ in range(3):
            t0 = time.monotonic()
            with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=30) as s:
                s.sendmail("a@ok.example", ["user@testserver"],
                           "Subject: fast\r\n\r\nx\r\n")
            fast.append(time.monotonic() - t0)
        for t in threads:
            t.join(timeout=120)
        print("garbage DNS: MAIL took " + ", ".join(
            f"{m} {replies[m][3]:.1f} s" for m in GARBAGE_MODES) +
            "; clean sessions meanwhile: " +
            ", ".join(f"{f:.2f} s" for f in fast))
        for m in GARBAGE_MODES:
            mail, rcpt, data, took = replies[m]
            assert mail.startswith("250"), (m, mail)
            assert rcpt.startswith("250"), (m, rcpt)
            assert data.startswith("250 2.0.0"), (m, data)
            # c-ares' budget: 2 s, then 4 s on the retry.
            assert took < 15, (m, took)
        # Bounded: far below the resolver's 6 s budget per lookup.
        assert max(fast) < 3, fast
        # TC made c-ares ask again over TCP, which got garbage too.
        assert ("tc.example", "tc", "tcp") in dns.seen
        assert c.var("chasquid/smtpIn/spfResultCount", "temperror") == \
            temperror0 + len(GARBAGE_MODES)
        got = wait_for(lambda: len(delivered(maildir, "user@testserver"))
                       == len(GARBAGE_MODES) + 3 and
                       delivered(maildir, "user@testserver"),
                       timeout=60, what="every message delivered")
        for m in GARBAGE_MODES:
            msg = [g for g in got if f"Subject: {m}\n".encode() in g
                   or f"Subject: {m}\r\n".encode() in g][0]
            assert b"Received-SPF: temperror" in msg, (m, msg[:600])
        results = c.var("chasquid/dns/queryResults")
        # Ignored answers (random, wrong ID) end in timeouts; the ones
        # c-ares or we cannot parse are errors.
        assert results.get("timeout", 0) > results0.get("timeout", 0)
        assert results.get("error", 0) + results.get("ok", 0) > \
            results0.get("error", 0) + results0.get("ok", 0)

        # 2. Deliveries to every garbage domain: temporary failures,
        # retried on schedule, no DSN.
        attempts0 = c.var("chasquid/queue/deliverAttempts", "email:remote")
        for m in GARBAGE_MODES:
            submit(c, "user@testserver", "pw", "user@testserver",
                   f"someone@{m}.example", f"to {m}")
        wait_for(lambda: c.var("chasquid/queue/deliverAttempts",
                               "email:remote") >=
                 attempts0 + 2 * len(GARBAGE_MODES),
                 timeout=90, what="two delivery attempts per message")
        assert c.var("chasquid/queue/length") == len(GARBAGE_MODES)
        assert c.var("chasquid/queue/dsnQueued") == 0
        # Still responsive while the queue retries against garbage.
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=30) as s:
            s.sendmail("a@ok.example", ["user@testserver"],
                       "Subject: during retries\r\n\r\nx\r\n")
        assert time.monotonic() - t0 < 3

        # 3. Good answers again: the next retries deliver every message.
        with SMTPPeer(peer_port) as peer:
            dns.clear()
            t0 = time.monotonic()
            wait_for(lambda: len(peer.messages) == len(GARBAGE_MODES),
                     timeout=90, what="every delivery once DNS is sane")
            print(f"all {len(GARBAGE_MODES)} delivered "
                  f"{time.monotonic() - t0:.1f} s after the garbage stopped")
        assert sorted(m[1][0] for m in peer.messages) == \
            sorted(f"someone@{m}.example" for m in GARBAGE_MODES)
        wait_for(lambda: c.var("chasquid/queue/length") == 0, timeout=30,
                 what="queue empty")
        assert c.var("chasquid/queue/dsnQueued") == 0
        assert c.proc.poll() is None
    finally:
        dns.stop()
        up.stop()


def test_system_resolver_and_hosts_file(chasquid_factory):
    """The daemon started without --testing__dns_addr, as in production:
    c-ares reads /etc/resolv.conf and the hosts file. Chasquid.start(
    system_dns=dns) runs the daemon in a mount namespace of its own
    (conftest.system_resolver) whose /etc/resolv.conf names the test DNS
    server (which also answers on port 53 of a spare 127.53.x.y address)
    and whose /etc/hosts names the remote MX: SPF's TXT and the MX lookup
    go to the server through resolv.conf, the MX's address comes from the
    hosts file alone (the server does not know it), and the mail is
    delivered. Every module with a DNS server of its own starts a daemon
    this way too (test_dns_paths.py); this test is the one that proves
    each path is really taken, so they need only pass."""
    if os.geteuid() != 0:
        pytest.skip("needs root: a mount namespace and port 53")
    c = chasquid_factory()
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    peer_port = free_port()
    dns = DNSServer().start()
    try:
        dns.add("sysres.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
        dns.add("hosts.example", "MX", "10 mx.hosts.example")
        c.start(f"--testing__outgoing_smtp_port={peer_port}",
                "--testing__queue_retry_delay=1s", env=mda_env(maildir),
                system_dns=dns, hosts=["127.0.0.1 mx.hosts.example"])
        assert not [a for a in c.proc.args if "dns_addr" in a], c.proc.args
        queries0 = sum((c.var("chasquid/dns/queries") or {}).values())

        # SPF through resolv.conf.
        with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=30) as s:
            s.sendmail("a@sysres.example", ["user@testserver"],
                       "Subject: spf\r\n\r\nx\r\n")
        got = wait_for(lambda: delivered(maildir, "user@testserver"),
                       timeout=30, what="the local delivery")
        assert b"Received-SPF: pass (matched ip)" in got[0], got[0][:500]
        assert ("sysres.example", "TXT") in dns.queries

        # A remote delivery: MX through resolv.conf, its address from the
        # hosts file.
        with SMTPPeer(peer_port) as peer:
            submit(c, "user@testserver", "pw", "user@testserver",
                   "someone@hosts.example", "via the hosts file")
            wait_for(lambda: peer.messages, timeout=60,
                     what="the remote delivery")
        assert [m[1] for m in peer.messages] == [["someone@hosts.example"]]
        assert ("hosts.example", "MX") in dns.queries
        assert not [q for q in dns.queries if q[0] == "mx.hosts.example"], \
            dns.queries
        assert sum(c.var("chasquid/dns/queries").values()) > queries0
        # The namespace's files are the daemon's alone.
        assert f"nameserver {dns.system_host()}" not in \
            pathlib.Path("/etc/resolv.conf").read_text()
        wait_for(lambda: c.var("chasquid/queue/length") == 0, timeout=30,
                 what="queue empty")
    finally:
        dns.stop()
