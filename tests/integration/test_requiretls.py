"""REQUIRETLS (RFC 8689), ours: offered only after STARTTLS, taken only
over TLS, kept with the queued item (a field chasquid's items never have),
relayed only to an MX that MTA-STS validated and that takes REQUIRETLS on
(passing it on), else bounced with 5.7.30; "TLS-Required: No" lifts the
TLS policies for a message without REQUIRETLS. Two of our daemons relay to
each other; a scripted peer stands for a next hop without REQUIRETLS.
chasquid/requireTls/messages is checked at each event."""

import os
import smtplib
import ssl

import pytest

from conftest import free_port, wait_for_port
from remoteutil import CA, SMTPPeer, STSServer, env_with_ca, \
    free_loopback_ip, make_daemon, self_signed, sts_policy_text, wait_sent, \
    wait_for

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the MTA-STS server needs port 443")


def no_verify():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def send(c, to, body, require_tls=True, headers=""):
    """Submits one message as alice@a.test, with REQUIRETLS if asked."""
    s = smtplib.SMTP("127.0.0.1", c.submission_port, timeout=20)
    s.starttls(context=no_verify())
    s.login("alice@a.test", "pass-a")
    msg = (f"From: alice@a.test\r\nTo: {to}\r\nSubject: test\r\n{headers}"
           f"\r\n{body}\r\n")
    s.sendmail("alice@a.test", [to], msg.encode(),
               mail_options=["REQUIRETLS"] if require_tls else [])
    s.quit()


def publish_sts(dns, ip, domain, mx):
    dns.add(domain, "MX", f"10 {mx}")
    dns.add(mx, "A", "127.0.0.1")
    dns.add(f"_mta-sts.{domain}", "TXT", "v=STSv1; id=1")
    dns.add(f"mta-sts.{domain}", "A", ip)


def rt(c, event):
    return c.var("chasquid/requireTls/messages", event)


def test_relayed_between_our_daemons(chasquid_factory, tmp_path, dns):
    """A relays a REQUIRETLS message to B, the MX that b.test's enforce
    policy names, and passes REQUIRETLS on: B accepts it as such."""
    ca = CA(tmp_path / "ca")
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",),
                    tmp_path / "mbox-a")
    a.add_user("alice", "a.test", "pass-a")
    b = make_daemon(chasquid_factory, ca, "mx.b.test", ("b.test",),
                    tmp_path / "mbox-b")
    b.add_user("bob", "b.test", "pass-b")
    ip = free_loopback_ip()
    publish_sts(dns, ip, "b.test", "mx.b.test")
    sts_cert = ca.issue(tmp_path / "sts", "mta-sts.b.test")
    with STSServer(ip, *sts_cert, sts_policy_text("enforce", "mx.b.test")):
        b.start(f"--testing__dns_addr={dns.addr}")
        # A resolves as on a real machine: MX and _mta-sts TXT through
        # /etc/resolv.conf (naming `dns`), the MX's and the policy
        # server's addresses from /etc/hosts (conftest's system_dns).
        a.start(f"--testing__outgoing_smtp_port={b.smtp_port}",
                env=env_with_ca(ca), system_dns=dns,
                hosts=["127.0.0.1 mx.b.test", f"{ip} mta-sts.b.test"])
        wait_for_port(a.submission_port)
        wait_for_port(b.smtp_port)

        # Before STARTTLS: not offered, and refused if used anyway.
        s = smtplib.SMTP("127.0.0.1", a.smtp_port, timeout=20)
        s.ehlo("client.test")
        assert not s.has_extn("requiretls")
        code, msg = s.docmd("MAIL FROM:<x@client.test> REQUIRETLS")
        assert (code, msg) == (530, b"5.7.10 REQUIRETLS needs a TLS session")
        s.starttls(context=no_verify())
        s.ehlo("client.test")
        assert s.has_extn("requiretls")
        s.quit()
        assert rt(a, "refusedPlain") == 1

        send(a, "bob@b.test", "secret body")
        wait_sent(b, "bob@b.test")
    got = (tmp_path / "mbox-b" / "bob@b.test").read_text()
    assert "secret body" in got
    assert a.var("chasquid/requireTls/messages", "accepted") == 1
    assert rt(a, "relayed") == 1
    # B got REQUIRETLS with the MAIL command from A.
    assert rt(b, "accepted") == 1
    assert rt(a, "bounced") == 0
    # The session was recorded for TLS reporting under the STS policy.
    assert a.var("chasquid/tlsrpt/successes", "sts") == 1
    _, _, body = a.get("/debug/traces?fam=Courier.SMTP.Deliver&b=0&all=true")
    assert b"REQUIRETLS" in body


def test_bounced_without_policy_or_without_requiretls_hop(
        chasquid_factory, tmp_path, dns):
    """5.7.30 when the domain has no enforce policy (no MX is even
    tried) and when the validated MX does not offer REQUIRETLS, each DSN
    with the original header only; the same peer takes mail without
    REQUIRETLS. A message that cannot go yet keeps
    its flag in its queue file."""
    ca = CA(tmp_path / "ca")
    mbox = tmp_path / "mbox"
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",), mbox)
    a.add_user("alice", "a.test", "pass-a")
    ip = free_loopback_ip()
    port = free_port()
    dns.add("plain.test", "MX", "10 mx.peer.test")
    publish_sts(dns, ip, "peer.test", "mx.peer.test")
    # down.test's MX is on 127.0.0.2, where nothing listens.
    dns.add("down.test", "MX", "10 mx.down.test")
    dns.add("mx.down.test", "A", "127.0.0.2")
    dns.add("_mta-sts.down.test", "TXT", "v=STSv1; id=1")
    dns.add("mta-sts.down.test", "A", ip)
    policies = {"peer.test": sts_policy_text("enforce", "mx.peer.test"),
                "down.test": sts_policy_text("enforce", "mx.down.test")}
    sts_cert = ca.issue(tmp_path / "sts", "mta-sts.peer.test",
                        "mta-sts.down.test")
    mx_cert = ca.issue(tmp_path / "mx", "mx.peer.test")
    with STSServer(ip, *sts_cert, policies), \
            SMTPPeer(port, *mx_cert) as peer:
        a.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={port}",
                env=env_with_ca(ca))
        wait_for_port(a.submission_port)
        send(a, "x@plain.test", "body-one-secret")
        wait_for(lambda: rt(a, "bounced") == 1, what="first bounce")
        assert peer.connections == 0
        send(a, "y@peer.test", "body-two-secret")
        wait_for(lambda: rt(a, "bounced") == 2, what="second bounce")
        assert peer.tls_connections == 1
        assert peer.messages == []
        send(a, "z@peer.test", "plain message", require_tls=False)
        wait_for(lambda: len(peer.messages) == 1, what="delivery")
        assert b"REQUIRETLS" not in peer.messages[0][2]

        send(a, "w@down.test", "waiting")
        queue = a.data_dir / "queue"
        wait_for(lambda: any("w@down.test" in p.read_text()
                               for p in queue.glob("m:*")),
                   what="queued item")
        item = [p.read_text() for p in queue.glob("m:*")
                if "w@down.test" in p.read_text()][0]
        assert item.endswith("require_tls: true\n")
    wait_for(lambda: (mbox / "alice@a.test").exists() and
               (mbox / "alice@a.test").read_text().count(
                   "X-Failed-Recipients:") >= 2, what="two DSNs")
    dsns = (mbox / "alice@a.test").read_text()
    assert ("5.7.30 REQUIRETLS support required (no MTA-STS policy in "
            "enforce mode for plain.test)") in dsns
    assert ("5.7.30 REQUIRETLS support required (mx.peer.test does not "
            "offer REQUIRETLS)") in dsns
    # RFC 8689 §5: the bounces return the header only.
    assert "Subject: test" in dsns
    assert "body-one-secret" not in dsns and "body-two-secret" not in dsns
    assert a.var("chasquid/requireTls/messages", "accepted") == 3
    assert rt(a, "relayed") == 0


def test_tls_required_no_lifts_sts(chasquid_factory, tmp_path, dns):
    """An enforce policy and an MX with an untrusted certificate: a plain
    message waits, one with "TLS-Required: No" goes (RFC 8689 §4.1), and
    the untrusted certificate is recorded for TLS reporting."""
    ca = CA(tmp_path / "ca")
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",),
                    tmp_path / "mbox")
    a.add_user("alice", "a.test", "pass-a")
    ip = free_loopback_ip()
    port = free_port()
    publish_sts(dns, ip, "e.test", "mx.e.test")
    sts_cert = ca.issue(tmp_path / "sts", "mta-sts.e.test")
    bad_cert = self_signed(tmp_path / "mx", "mx.e.test")
    with STSServer(ip, *sts_cert, sts_policy_text("enforce", "mx.e.test")), \
            SMTPPeer(port, *bad_cert) as peer:
        a.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={port}",
                env=env_with_ca(ca))
        wait_for_port(a.submission_port)
        send(a, "held@e.test", "held", require_tls=False)
        wait_for(lambda: a.var("chasquid/smtpOut/sts/security", "fail")
                   >= 1, what="STS refusal")
        send(a, "free@e.test", "free", require_tls=False,
             headers="TLS-Required: No\r\n")
        wait_for(lambda: len(peer.messages) == 1, what="delivery")
        assert peer.messages[0][1] == ["free@e.test"]
    assert a.var("chasquid/requireTls/messages", "tlsRequiredNo") == 1
    assert a.var("chasquid/tlsrpt/failures", "certificate-not-trusted") >= 2
