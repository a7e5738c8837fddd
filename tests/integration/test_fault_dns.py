"""Fault: the DNS server is slow, then gone, then back.

  * A name whose queries are never answered makes that one session's SPF
    check wait for the resolver's timeouts and give "temperror"; mail is
    still accepted, and other sessions are served meanwhile;
  * with the DNS server stopped, a remote delivery fails temporarily and
    is retried on schedule (the item stays queued);
  * once the server is back on its address, the retry delivers: nothing
    answered 250 is lost, and nothing is restarted.
"""

import smtplib
import threading
import time

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
