"""MTA-STS end to end (RFC 8461; chasquid's sts counters): our chasquid fetches policies over HTTPS from a server with the
test's own CA (never the internet), caches them on disk in chasquid's
format, refreshes them at start-up, and applies enforce / testing / none
modes when delivering. Every chasquid/sts/cache/* counter and the
chasquid/smtpOut/sts/* maps are checked at the event that moves them."""

import json
import os
import time

import pytest

from conftest import free_port, wait_for_port
from remoteutil import CA, SMTPPeer, STSServer, env_with_ca, \
    free_loopback_ip, make_daemon, self_signed, sts_policy_text, submit, \
    wait_for

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the MTA-STS server needs port 443")

HOUR_NS = 3600 * 10**9


def cache_entry(cache_dir, domain, content, expires_in):
    """Writes pol:<domain> as chasquid does: JSON, mtime = expiry."""
    path = cache_dir / f"pol:{domain}"
    if content is None:
        path.mkdir()
    else:
        path.write_text(content)
    t = time.time() + expires_in
    os.utime(path, (t, t))
    return path


def test_sts_cache_counters_and_refresh(chasquid_factory, tmp_path, dns):
    ca = CA(tmp_path / "ca")
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",),
                    tmp_path / "mbox")
    a.add_user("alice", "a.test", "pass-a")
    ip = free_loopback_ip()
    port = free_port()
    domains = ["good.test", "expired.test", "garbage.test", "invalid.test",
               "dir.test"]
    for d in domains:
        dns.add(d, "MX", "10 mx.good.test")
    dns.add("mx.good.test", "A", "127.0.0.1")
    # Only good.test publishes a policy.
    dns.add("_mta-sts.good.test", "TXT", "v=STSv1; id=2")
    dns.add("mta-sts.good.test", "A", ip)

    cache = a.data_dir / "sts-cache"
    cache.mkdir(parents=True)
    old = {"version": "STSv1", "mode": "testing", "mx": ["old.good.test"],
           "max_age": HOUR_NS}
    good = cache_entry(cache, "good.test", json.dumps(old), 3600)
    cache_entry(cache, "expired.test", json.dumps(old), -3600)
    cache_entry(cache, "garbage.test", "{this is not json", 3600)
    cache_entry(cache, "invalid.test", json.dumps(dict(old, mode="bogus")),
                3600)
    cache_entry(cache, "dir.test", None, 3600)  # Unreadable: a directory.

    sts_cert = ca.issue(tmp_path / "sts", "mta-sts.good.test")
    mx_cert = ca.issue(tmp_path / "mx", "mx.good.test")
    with STSServer(ip, *sts_cert, sts_policy_text("enforce", "mx.good.test")) \
            as sts, SMTPPeer(port, *mx_cert) as peer:
        a.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={port}", env=env_with_ca(ca))
        # The start-up refresh pass: every pol:* file (not the directory)
        # is refetched; only good.test has a policy to fetch.
        wait_for(lambda: (a.var("chasquid/sts/cache/refreshCycles") or 0)
                   >= 1,
                   what="refresh cycle")
        assert a.var("chasquid/sts/cache/refreshes") == 4
        assert a.var("chasquid/sts/cache/refreshErrors") == 3
        assert sts.requests == 1
        assert json.loads(good.read_text()) == {
            "version": "STSv1", "mode": "enforce", "mx": ["mx.good.test"],
            "max_age": HOUR_NS}
        assert abs(good.stat().st_mtime - (time.time() + 3600)) < 60
        assert a.var("chasquid/sts/cache/fetches") == 0

        wait_for_port(a.submission_port)
        for d in domains + ["good.test"]:
            submit(a, "alice@a.test", "pass-a", "alice@a.test", f"x@{d}",
                   f"to {d}")
        wait_for(lambda: len(peer.messages) == 6, what="6 deliveries")
        # The deliveries to good.test used the refreshed entry.
        assert sts.requests == 1

    v = lambda name: a.var(f"chasquid/sts/cache/{name}")
    assert v("fetches") == 6
    assert v("hits") == 2                # good.test, twice.
    assert v("expired") == 1             # expired.test.
    assert v("unmarshalErrors") == 1     # garbage.test.
    assert v("invalid") == 1             # invalid.test.
    assert v("ioErrors") == 1            # dir.test.
    # Each of those four then went to the network: no _mta-sts record.
    assert v("failedFetch") == 4
    # json.Marshal of a policy cannot fail in chasquid either.
    assert v("marshalErrors") == 0
    assert a.var("chasquid/smtpOut/sts/mode", "enforce") == 2
    assert a.var("chasquid/smtpOut/sts/security", "pass") == 2
    assert a.var("chasquid/smtpOut/sts/security", "fail") == 0

    # A trace per STS fetch, per refresh pass and per delivery.
    def traces(fam):
        _, _, body = a.get(f"/debug/traces?fam={fam}&b=0&all=true")
        return body.decode(errors="replace")
    assert "garbage.test" in traces("STSCache.Fetch")
    assert str(cache) in traces("STSCache.Refresh")
    assert "x@dir.test" in traces("Courier.SMTP.Deliver")


def test_sts_testing_and_none_modes_do_not_restrict(chasquid_factory,
                                                    tmp_path, dns):
    """Only enforce restricts MXs and requires valid TLS: a
    testing and a none policy that name other MXs, with a self-signed MX
    certificate, still get the mail."""
    ca = CA(tmp_path / "ca")
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",),
                    tmp_path / "mbox")
    a.add_user("alice", "a.test", "pass-a")
    ip = free_loopback_ip()
    port = free_port()
    policies = {}
    for d, mode in (("t.test", "testing"), ("n.test", "none")):
        dns.add(d, "MX", f"10 mx.{d}")
        dns.add(f"mx.{d}", "A", "127.0.0.1")
        dns.add(f"_mta-sts.{d}", "TXT", "v=STSv1; id=1")
        dns.add(f"mta-sts.{d}", "A", ip)
        policies[d] = sts_policy_text(mode, "elsewhere.example")
    sts_cert = ca.issue(tmp_path / "sts", "mta-sts.t.test", "mta-sts.n.test")
    bad_cert = self_signed(tmp_path / "mx", "mx.t.test")
    with STSServer(ip, *sts_cert, policies) as sts, \
            SMTPPeer(port, *bad_cert) as peer:
        # The system resolver's paths: MX and _mta-sts TXT through
        # /etc/resolv.conf (naming `dns`), the MXs' and the policy
        # servers' addresses from /etc/hosts (conftest's system_dns).
        a.start(f"--testing__outgoing_smtp_port={port}", env=env_with_ca(ca),
                system_dns=dns,
                hosts=["127.0.0.1 mx.t.test mx.n.test",
                       f"{ip} mta-sts.t.test mta-sts.n.test"])
        wait_for_port(a.submission_port)
        submit(a, "alice@a.test", "pass-a", "alice@a.test", "x@t.test", "t")
        submit(a, "alice@a.test", "pass-a", "alice@a.test", "x@n.test", "n")
        wait_for(lambda: len(peer.messages) == 2, what="2 deliveries")
        assert sts.requests == 2
    assert a.var("chasquid/smtpOut/sts/mode", "testing") == 1
    assert a.var("chasquid/smtpOut/sts/mode", "none") == 1
    assert a.var("chasquid/smtpOut/sts/mode", "enforce") == 0
    assert a.var("chasquid/smtpOut/sts/security", "pass") == 0
    assert a.var("chasquid/smtpOut/sts/security", "fail") == 0
    assert a.var("chasquid/smtpOut/tlsCount", "tls:insecure") == 2
    assert a.var("chasquid/sts/cache/failedFetch") == 0
    for d, mode in (("t.test", "testing"), ("n.test", "none")):
        cached = json.loads((a.data_dir / "sts-cache" / f"pol:{d}")
                            .read_text())
        assert cached["mode"] == mode


def test_sts_enforce_skips_mx_not_in_policy(chasquid_factory, tmp_path, dns):
    """An enforce policy whose mx patterns match only the backup MX: the
    primary is never contacted; the wildcard pattern matches one label."""
    ca = CA(tmp_path / "ca")
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",),
                    tmp_path / "mbox")
    a.add_user("alice", "a.test", "pass-a")
    ip = free_loopback_ip()
    good_port = free_port()
    dns.add("e.test", "MX", "10 primary.other.test")
    dns.add("e.test", "MX", "20 backup.mx.e.test")
    dns.add("primary.other.test", "A", "127.0.0.2")
    dns.add("backup.mx.e.test", "A", "127.0.0.1")
    dns.add("_mta-sts.e.test", "TXT", "v=STSv1; id=1")
    dns.add("mta-sts.e.test", "A", ip)
    sts_cert = ca.issue(tmp_path / "sts", "mta-sts.e.test")
    mx_cert = ca.issue(tmp_path / "mx", "backup.mx.e.test")
    with STSServer(ip, *sts_cert, sts_policy_text("enforce", "*.mx.e.test")), \
            SMTPPeer(good_port, *mx_cert) as peer:
        a.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={good_port}",
                env=env_with_ca(ca))
        wait_for_port(a.submission_port)
        submit(a, "alice@a.test", "pass-a", "alice@a.test", "x@e.test", "e")
        wait_for(lambda: len(peer.messages) == 1, what="delivery")
        assert peer.tls_connections == 1
    # The primary's address was never even looked up.
    assert ("primary.other.test", "A") not in dns.queries
    assert a.var("chasquid/smtpOut/sts/security", "pass") == 1
