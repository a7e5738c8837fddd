"""The outgoing source address (ours: outgoing_source_ipv4/ipv6 in
chasquid.conf): outgoing SMTP connections bind to it, and an address the
host does not have stops the daemon at start-up, naming the field."""

import pytest

from dnsserver import DNSServer
from queueutil import wait_for, write_item
from remoteutil import SMTPPeer, self_signed


@pytest.fixture
def dns():
    with DNSServer() as d:
        d.add("remote.test", "MX", "10 mx.remote.test")
        d.add("mx.remote.test", "A", "127.0.0.1")
        yield d


def deliver_one(chasquid_factory, dns, peer, name, extra_conf="",
                system=False):
    """`system`: the daemon finds `dns` through the system resolver
    (/etc/resolv.conf; conftest's system_dns) and the MX's address in
    its /etc/hosts, rather than both through the flag."""
    c = chasquid_factory(name, extra_conf=extra_conf)
    write_item(c, f"item-{name}", "sender@testserver",
               [("rcpt@remote.test", "EMAIL", "rcpt@remote.test")],
               f"Subject: {name}\r\n\r\nbody\r\n")
    if system:
        c.start(f"--testing__outgoing_smtp_port={peer.port}",
                system_dns=dns, hosts=["127.0.0.1 mx.remote.test"])
    else:
        c.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={peer.port}")
    wait_for(lambda: any(name.encode() in m[2] for m in peer.messages),
             timeout=60, what=f"delivery from {name}")
    return c


def test_outgoing_connections_bind_to_the_source(chasquid_factory, dns,
                                                 tmp_path):
    from conftest import free_port
    cert = self_signed(tmp_path / "peer", "mx.remote.test")
    with SMTPPeer(free_port(), *cert) as peer:
        c = deliver_one(chasquid_factory, dns, peer, "bound",
                        'outgoing_source_ipv4: "127.0.0.2"\n')
        assert peer.peers == ["127.0.0.2"]
        wait_for(lambda: c.var("chasquid/queue/deliveriesSent",
                               "email:remote") == 1,
                 timeout=30, what="the sent counter")
        # The peer's certificate is self-signed: TLS, but not verified.
        assert c.var("chasquid/smtpOut/tlsVersions", "TLSv1.3") == 1
        assert c.var("chasquid/smtpOut/tlsCount", "tls:insecure") == 1
        wait_for(lambda: c.var("chasquid/queue/sizeBytes") == 0, timeout=30,
                 what="an empty queue")
        assert c.var("chasquid/queue/oldestItemTimestamp") == 0
        # The MX and address lookups went through our resolver.
        assert c.var("chasquid/dns/queries", "MX") >= 1
        assert c.var("chasquid/dns/queries", "A") >= 1
        assert c.var("chasquid/dns/queryResults", "ok") >= 2
        assert c.var("chasquid/dns/queryDuration", "MX")["le=+Inf"] >= 1
        # Without the field, the kernel picks (127.0.0.1 towards it);
        # this daemon resolves as on a real machine.
        deliver_one(chasquid_factory, dns, peer, "default", system=True)
        assert peer.peers == ["127.0.0.2", "127.0.0.1"]


@pytest.mark.parametrize("conf,want", [
    ('outgoing_source_ipv4: "192.0.2.77"',
     'outgoing_source_ipv4 "192.0.2.77": bind: cannot assign requested '
     'address'),
    ('outgoing_source_ipv6: "2001:db8::77"',
     'outgoing_source_ipv6 "2001:db8::77": bind: cannot assign requested '
     'address'),
    ('outgoing_source_ipv4: "::1"',
     'outgoing_source_ipv4 "::1": not an IPv4 address'),
    ('outgoing_source_ipv6: "127.0.0.1"',
     'outgoing_source_ipv6 "127.0.0.1": not an IPv6 address'),
    ('outgoing_source_ipv4: "mx.example"',
     'outgoing_source_ipv4 "mx.example": not an IP address'),
])
def test_bad_source_address_fails_start_up(chasquid_factory, conf, want):
    c = chasquid_factory(extra_conf=conf + "\n")
    rc, out = c.run_to_exit()
    assert rc != 0, out
    assert "Invalid configuration: " + want in out, out
