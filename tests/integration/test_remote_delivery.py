"""Delivery to the internet, end to end: our chasquid's queue hands mail to
the remote courier, which finds the MX through the test DNS and delivers
over STARTTLS to real peers on loopback (another chasquid, Postfix's
smtp-sink, and scripted peers for the failure cases)."""

import os
import smtplib
import subprocess

import pytest

from conftest import binary, free_port, wait_for_port
from remoteutil import CA, SMTPPeer, STSServer, env_with_ca, \
    free_loopback_ip, mail_log, make_daemon, self_signed, submit, \
    wait_sent, wait_for


def test_two_instances_tls_both_directions(chasquid_factory, tmp_path, dns):
    ca = CA(tmp_path / "ca")
    mbox_a, mbox_b = tmp_path / "mbox-a", tmp_path / "mbox-b"
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",), mbox_a)
    b = make_daemon(chasquid_factory, ca, "srv-b",
                    ("b.test", "bücher.test"), mbox_b)
    a.add_user("alice", "a.test", "pass-a")
    b.add_user("bob", "b.test", "pass-b")
    b.add_user("ñoño", "b.test", "pass-n")
    b.add_user("bob", "bücher.test", "pass-b")
    dns.add("a.test", "MX", "10 srv-a")
    dns.add("b.test", "MX", "10 srv-b")
    dns.add("bücher.test", "MX", "10 srv-b")
    dns.add("srv-a", "A", "127.0.0.1")
    dns.add("srv-b", "A", "127.0.0.1")
    env = env_with_ca(ca)
    # A resolves as on a real machine: the MXs through /etc/resolv.conf
    # (naming `dns`), srv-b's address from /etc/hosts (conftest's
    # system_dns); B through the flag.
    a.start(f"--testing__outgoing_smtp_port={b.smtp_port}", env=env,
            system_dns=dns, hosts=["127.0.0.1 srv-b"])
    b.start(f"--testing__dns_addr={dns.addr}",
            f"--testing__outgoing_smtp_port={a.smtp_port}", env=env)
    wait_for_port(a.submission_port)
    wait_for_port(b.submission_port)

    # A -> B, plain ASCII, a UTF-8 local part and an IDNA domain.
    submit(a, "alice@a.test", "pass-a", "alice@a.test", "bob@b.test", "one")
    submit(a, "alice@a.test", "pass-a", "alice@a.test", "ñoño@b.test",
           "two", utf8=True)
    submit(a, "alice@a.test", "pass-a", "alice@a.test", "bob@bücher.test",
           "three", utf8=True)
    wait_sent(b, "bob@b.test")
    wait_sent(b, "ñoño@b.test")
    wait_sent(b, "bob@bücher.test")
    assert "one" in (mbox_b / "bob@b.test").read_text()
    assert a.var("chasquid/smtpOut/tlsCount", "tls:secure") >= 3
    assert a.var("chasquid/smtpOut/securityLevelChecks", "pass") >= 3
    assert a.var("chasquid/smtpOut/tlsCount", "plain") == 0
    info = (a.data_dir / "domaininfo" / "s:b.test").read_text()
    assert "outgoing_sec_level: TLS_SECURE" in info.replace("  ", " ")

    # B -> A.
    submit(b, "bob@b.test", "pass-b", "bob@b.test", "alice@a.test", "back")
    wait_sent(a, "alice@a.test")
    assert "back" in (mbox_a / "alice@a.test").read_text()
    assert b.var("chasquid/smtpOut/tlsCount", "tls:secure") >= 1
    info = (b.data_dir / "domaininfo" / "s:a.test").read_text()
    assert "outgoing_sec_level: TLS_SECURE" in info.replace("  ", " ")


def test_smtp_sink_idna_and_downgrade(chasquid_factory, tmp_path, dns):
    """Postfix's smtp-sink (no TLS, no SMTPUTF8) gets the IDNA form; then
    a domain known to do TLS is refused in plain text."""
    ca = CA(tmp_path / "ca")
    mbox = tmp_path / "mbox"
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",), mbox)
    a.add_user("alice", "a.test", "pass-a")
    port = free_port()
    dump = tmp_path / "sink"
    dump.mkdir()
    dns.add("bücher.test", "MX", "10 sink.test")
    dns.add("sink.test", "A", "127.0.0.1")
    dns.add("tls.test", "MX", "10 sink.test")
    (a.data_dir / "domaininfo").mkdir(parents=True)
    (a.data_dir / "domaininfo" / "s:tls.test").write_text(
        'name: "tls.test"\noutgoing_sec_level: TLS_SECURE\n')
    sink = subprocess.Popen(
        ["/usr/sbin/smtp-sink", "-u", "root", "-d", f"{dump}/%M.",
         "-h", "sink.test", f"127.0.0.1:{port}", "10"])
    try:
        wait_for_port(port)
        a.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={port}", env=env_with_ca(ca))
        wait_for_port(a.submission_port)
        submit(a, "alice@a.test", "pass-a", "alice@a.test",
               "user@bücher.test", "to the sink", utf8=True)
        def dump_text():
            return "".join(p.read_text(errors="replace")
                           for p in dump.iterdir())
        # smtp-sink may create its file before it has written it all.
        wait_for(lambda: "to the sink" in dump_text(),
                   what="smtp-sink delivery")
        assert "X-Rcpt-Args: <user@xn--bcher-kva.test>" in dump_text()
        assert a.var("chasquid/smtpOut/tlsCount", "plain") >= 1

        submit(a, "alice@a.test", "pass-a", "alice@a.test", "x@tls.test",
               "must not go in plain text")
        wait_for(lambda: a.var("chasquid/smtpOut/securityLevelChecks",
                                 "fail") >= 1, what="downgrade refused")
        wait_for(lambda: "Security level check failed (level:PLAIN)"
                   in a.log(), what="log line")
        assert len(list(dump.iterdir())) == 1
    finally:
        sink.terminate()
        sink.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="STS server needs port 443")
def test_sts_enforced_bad_cert_not_delivered(chasquid_factory, tmp_path,
                                            dns):
    ca = CA(tmp_path / "ca")
    mbox = tmp_path / "mbox"
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",), mbox)
    a.add_user("alice", "a.test", "pass-a")
    ip = free_loopback_ip()
    port = free_port()
    dns.add("s.test", "MX", "10 mx.s.test")
    dns.add("mx.s.test", "A", "127.0.0.1")
    dns.add("_mta-sts.s.test", "TXT", "v=STSv1; id=1")
    dns.add("mta-sts.s.test", "A", ip)
    policy = "version: STSv1\nmode: enforce\nmx: mx.s.test\nmax_age: 3600\n"
    sts_cert = ca.issue(tmp_path / "sts", "mta-sts.s.test")
    bad_cert = self_signed(tmp_path / "mx", "mx.s.test")
    with STSServer(ip, *sts_cert, policy), SMTPPeer(port, *bad_cert) as peer:
        a.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={port}", env=env_with_ca(ca))
        wait_for_port(a.submission_port)
        submit(a, "alice@a.test", "pass-a", "alice@a.test", "x@s.test", "hi")
        wait_for(lambda: a.var("chasquid/smtpOut/sts/security",
                                 "fail") >= 1, what="STS refusal")
        assert peer.tls_connections >= 1
        assert peer.messages == []
    assert a.var("chasquid/smtpOut/sts/mode", "enforce") >= 1
    assert a.var("chasquid/smtpOut/tlsCount", "tls:insecure") >= 1
    assert a.var("chasquid/sts/cache/fetches") >= 1
    assert a.var("chasquid/sts/cache/failedFetch") == 0
    assert "invalid security level (TLS_INSECURE) for STS policy" in a.log()
    cached = (a.data_dir / "sts-cache" / "pol:s.test").read_text()
    assert cached == ('{"version":"STSv1","mode":"enforce","mx":'
                      '["mx.s.test"],"max_age":3600000000000}')


def test_unreachable_mx_gives_dsn(chasquid_factory, tmp_path, dns):
    """A refused connection is transient: retried (every 200 ms here)
    until give_up_send_after, then the sender gets a DSN with the last
    error."""
    ca = CA(tmp_path / "ca")
    mbox = tmp_path / "mbox"
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",), mbox,
                    extra='give_up_send_after: "2s"\n')
    a.add_user("alice", "a.test", "pass-a")
    dns.add("down.test", "MX", "10 mx.down.test")
    dns.add("mx.down.test", "A", "127.0.0.1")
    a.start(f"--testing__dns_addr={dns.addr}",
            f"--testing__outgoing_smtp_port={free_port()}",
            "--testing__queue_retry_delay=200ms", env=env_with_ca(ca))
    wait_for_port(a.submission_port)
    submit(a, "alice@a.test", "pass-a", "alice@a.test", "x@down.test", "hi")
    wait_sent(a, "alice@a.test")  # The DSN.
    dsn = (mbox / "alice@a.test").read_text()
    assert "X-Failed-Recipients: x@down.test, " in dsn
    assert ('- "x@down.test" (EMAIL) failed repeatedly and timed out, '
            'last error:') in dsn
    assert ("all MXs returned transient failures (last: Could not dial: "
            "dial tcp 127.0.0.1:") in dsn
    assert "connect: connection refused)" in dsn
    assert "Status: 4.0.0" in dsn
    assert "hi" in dsn.split("message/rfc822", 1)[1]
    # It was retried before giving up, each time as a temporary failure.
    assert mail_log(a).count("to=x@down.test failed (temporary)") >= 2
    assert "failed (permanent)" not in mail_log(a)
    assert a.var("chasquid/queue/dsnQueued") == 1


def test_null_mx_mx_fallback_and_implicit_mx(chasquid_factory, tmp_path,
                                             dns):
    """MX handling: the first MX cannot be resolved so the second
    gets the mail; a domain without MX gets it at its A record; a null MX
    (RFC 7505) bounces at once, without a connection attempt."""
    ca = CA(tmp_path / "ca")
    mbox = tmp_path / "mbox"
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",), mbox)
    a.add_user("alice", "a.test", "pass-a")
    port = free_port()
    dns.add("two.test", "MX", "10 gone.two.test")  # No address: NXDOMAIN.
    dns.add("two.test", "MX", "20 mx.two.test")
    dns.add("mx.two.test", "A", "127.0.0.1")
    dns.add("bare.test", "A", "127.0.0.1")
    dns.add("null.test", "MX", "0 .")
    dns.add("null.test", "A", "127.0.0.1")
    with SMTPPeer(port) as peer:
        a.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={port}", env=env_with_ca(ca))
        wait_for_port(a.submission_port)
        submit(a, "alice@a.test", "pass-a", "alice@a.test", "x@two.test",
               "two")
        submit(a, "alice@a.test", "pass-a", "alice@a.test", "y@bare.test",
               "bare")
        wait_for(lambda: len(peer.messages) == 2, what="2 deliveries")
        assert sorted(m[1][0] for m in peer.messages) == [
            "x@two.test", "y@bare.test"]
        submit(a, "alice@a.test", "pass-a", "alice@a.test", "z@null.test",
               "null")
        wait_sent(a, "alice@a.test")  # The DSN.
        assert len(peer.messages) == 2
        assert peer.connections == 2
    dsn = (mbox / "alice@a.test").read_text()
    assert ('- "z@null.test" (EMAIL) failed permanently with error:\n'
            '    Could not find mail server: domain does not accept mail '
            '(null MX, RFC 7505)') in dsn
    assert "Status: 5.0.0" in dsn
    assert ("gone.two.test", "A") in dns.queries


def test_forwarding_rewrites_sender_and_via(chasquid_factory, tmp_path,
                                           dns):
    """Mail from outside to a local alias that points elsewhere leaves with
    the rewritten sender; a "via" alias goes through the listed
    servers in order, with no MX lookup."""
    ca = CA(tmp_path / "ca")
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",),
                    tmp_path / "mbox")
    (a.config_dir / "domains" / "a.test" / "aliases").write_text(
        "list: x@far.test\n"
        "relayed: z@via.test via nowhere.test/relay.test\n")
    port = free_port()
    dns.add("far.test", "MX", "10 mx.far.test")
    dns.add("mx.far.test", "A", "127.0.0.1")
    dns.add("relay.test", "A", "127.0.0.1")
    with SMTPPeer(port) as peer:
        a.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={port}", env=env_with_ca(ca))
        wait_for_port(a.smtp_port)
        s = smtplib.SMTP("127.0.0.1", a.smtp_port, timeout=20)
        s.sendmail("ext@ext.test", ["list@a.test", "relayed@a.test"],
                   b"Subject: fwd\r\n\r\nforwarded\r\n")
        s.quit()
        wait_for(lambda: len(peer.messages) == 2, what="2 deliveries")
    got = {m[1][0]: m[0] for m in peer.messages}
    assert got == {"x@far.test": "list+fwd_from=ext=ext.test@a.test",
                   "z@via.test": "relayed+fwd_from=ext=ext.test@a.test"}
    assert ("via.test", "MX") not in dns.queries
    assert ("nowhere.test", "A") in dns.queries  # Tried first, in order.
    assert a.var("chasquid/queue/deliverAttempts", "forward") == 1
    assert a.var("chasquid/queue/deliverAttempts", "email:remote") == 1


def test_starttls_failure_falls_back_to_plain(chasquid_factory, tmp_path,
                                              dns):
    """A peer that advertises STARTTLS but refuses it: counted as
    tls:failed, and the attempt is redone in plain text."""
    ca = CA(tmp_path / "ca")
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",),
                    tmp_path / "mbox")
    a.add_user("alice", "a.test", "pass-a")
    port = free_port()
    dns.add("p.test", "MX", "10 mx.p.test")
    dns.add("mx.p.test", "A", "127.0.0.1")
    with SMTPPeer(port, starttls_reply="454 4.7.0 TLS not available") \
            as peer:
        a.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={port}", env=env_with_ca(ca))
        wait_for_port(a.submission_port)
        submit(a, "alice@a.test", "pass-a", "alice@a.test", "x@p.test", "p")
        wait_for(lambda: len(peer.messages) == 1, what="delivery")
        assert peer.connections == 2
        assert peer.tls_connections == 0
    assert a.var("chasquid/smtpOut/tlsCount", "tls:failed") == 1
    assert a.var("chasquid/smtpOut/tlsCount", "plain") == 1
    assert a.var("chasquid/smtpOut/securityLevelChecks", "pass") == 1
    info = (a.data_dir / "domaininfo" / "s:p.test").read_text()
    assert info.strip() == 'name: "p.test"'


def test_tls_downgrade_after_secure_delivery(chasquid_factory, tmp_path,
                                             dns):
    """Once a domain got mail over verified TLS, a peer that stops
    offering STARTTLS is refused (transient), the mail is retried, and it
    goes out when TLS is back; domaininfo-remove then forgets the level."""
    ca = CA(tmp_path / "ca")
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",),
                    tmp_path / "mbox")
    a.add_user("alice", "a.test", "pass-a")
    port = free_port()
    dns.add("d.test", "MX", "10 mx.d.test")
    dns.add("mx.d.test", "A", "127.0.0.1")
    cert = ca.issue(tmp_path / "mx", "mx.d.test")
    with SMTPPeer(port, *cert) as peer:
        a.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={port}",
                "--testing__queue_retry_delay=200ms", env=env_with_ca(ca))
        wait_for_port(a.submission_port)
        submit(a, "alice@a.test", "pass-a", "alice@a.test", "x@d.test", "1")
        wait_for(lambda: len(peer.messages) == 1, what="secure delivery")
        info = a.data_dir / "domaininfo" / "s:d.test"
        assert "TLS_SECURE" in info.read_text()

        peer.tls_enabled = False
        submit(a, "alice@a.test", "pass-a", "alice@a.test", "x@d.test", "2")
        wait_for(lambda: a.var("chasquid/smtpOut/securityLevelChecks",
                                 "fail") >= 2, what="refused and retried")
        assert len(peer.messages) == 1
        assert ("to=x@d.test failed (temporary): all MXs returned transient "
                "failures (last: Security level check failed "
                "(level:PLAIN))") in mail_log(a)

        peer.tls_enabled = True
        wait_for(lambda: len(peer.messages) == 2, what="retry over TLS")
        assert peer.tls_connections >= 2
        assert b"2" in peer.messages[1][2]

        # The operator makes chasquid forget the domain: plain is fine now.
        r = subprocess.run([binary("chasquid-util"), "-C=.",
                            "domaininfo-remove", "d.test"],
                           capture_output=True, text=True, timeout=20,
                           cwd=a.config_dir)
        assert r.returncode == 0, r.stderr
        peer.tls_enabled = False
        submit(a, "alice@a.test", "pass-a", "alice@a.test", "x@d.test", "3")
        wait_for(lambda: len(peer.messages) == 3, what="plain delivery")
    assert "TLS_SECURE" not in info.read_text()


def test_stalling_peer_times_out(chasquid_factory, tmp_path, dns):
    """A peer that never answers DATA: the session deadline (1 s here,
    10 min by default) ends the attempt as a transient failure; the mail
    is retried and finally bounced with that error."""
    ca = CA(tmp_path / "ca")
    mbox = tmp_path / "mbox"
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",), mbox,
                    extra='give_up_send_after: "3s"\n')
    a.add_user("alice", "a.test", "pass-a")
    port = free_port()
    dns.add("slow.test", "MX", "10 mx.slow.test")
    dns.add("mx.slow.test", "A", "127.0.0.1")
    with SMTPPeer(port, stall_at="DATA") as peer:
        a.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={port}",
                "--testing__outgoing_session_timeout=1s",
                "--testing__queue_retry_delay=200ms", env=env_with_ca(ca))
        wait_for_port(a.submission_port)
        submit(a, "alice@a.test", "pass-a", "alice@a.test", "x@slow.test",
               "slow")
        wait_sent(a, "alice@a.test", timeout=30)  # The DSN.
        assert peer.stalled >= 2
        assert peer.messages == []
    dsn = (mbox / "alice@a.test").read_text()
    assert ('- "x@slow.test" (EMAIL) failed repeatedly and timed out, '
            'last error:\n    all MXs returned transient failures '
            '(last: DATA i/o timeout)') in dsn
