"""smtp-check against a test DNS, a test CA,
an MTA-STS HTTPS server and an SMTP peer, all on loopback."""

import os
import subprocess

import pytest

from conftest import binary, free_port, wait_for
from dnsserver import DNSServer
from remoteutil import CA, SMTPPeer, STSServer, free_loopback_ip, self_signed

POLICY = "version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 86400\n"


def run_check(dns, port, *args, env_extra=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    r = subprocess.run(
        [binary("smtp-check"), f"--testing__dns_addr={dns.addr}",
         "-port", str(port), *args],
        capture_output=True, text=True, timeout=30, env=env)
    return r.returncode, r.stderr


@pytest.fixture
def world(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the MTA-STS server needs port 443")
    ca = CA(tmp_path / "ca")
    ip = free_loopback_ip()
    with DNSServer() as dns:
        dns.add("example.test", "MX", "10 mx.example.test")
        dns.add("mx.example.test", "A", "127.0.0.1")
        dns.add("_mta-sts.example.test", "TXT", "v=STSv1; id=1")
        dns.add("mta-sts.example.test", "A", ip)
        dns.add("example.test", "TXT", "v=spf1 ip4:127.0.0.1 -all")
        yield tmp_path, ca, ip, dns


def test_success(world):
    tmp, ca, ip, dns = world
    port = free_port()
    mx_cert = ca.issue(tmp / "mx", "mx.example.test")
    sts_cert = ca.issue(tmp / "sts", "mta-sts.example.test")
    with STSServer(ip, *sts_cert, POLICY) as sts, \
            SMTPPeer(port, *mx_cert) as peer:
        rc, out = run_check(dns, port, "example.test",
                            env_extra={"SSL_CERT_FILE": str(ca.cert)})
        assert rc == 0, out
        assert sts.requests == 1
        # The peer counts the handshake in its own thread, which may run
        # after smtp-check has already finished.
        wait_for(lambda: peer.tls_connections == 1,
                 what="the peer to count the TLS handshake")
    assert ("Parsed contents:  [{Version:STSv1 Mode:enforce "
            "MXs:[mx.example.test] MaxAge:24h0m0s}]") in out
    assert "=== MX: 10  mx.example.test" in out
    assert "SPF pass for 127.0.0.1: matched ip" in out
    assert "TLS OK: TLS-1.3 - TLS_" in out
    assert "Allowed by policy" in out
    assert out.rstrip().endswith("=== Success")
    # Go's log format.
    assert out.split(" ")[0].count("/") == 2


def test_bad_certificate_and_policy_mismatch(world):
    tmp, ca, ip, dns = world
    port = free_port()
    mx_cert = self_signed(tmp / "mx", "mx.example.test")
    sts_cert = ca.issue(tmp / "sts", "mta-sts.example.test")
    policy = POLICY.replace("mx.example.test", "other.example.test")
    with STSServer(ip, *sts_cert, policy), SMTPPeer(port, *mx_cert):
        rc, out = run_check(dns, port, "example.test",
                            env_extra={"SSL_CERT_FILE": str(ca.cert)})
    assert rc == 1, out
    assert "TLS error: " in out
    assert "NOT allowed by STS policy" in out
    assert "=== FAILED" in out
    assert "mx.example.test: TLS failed" in out
    assert "mx.example.test: STS failed" in out


def test_spf_failure(world):
    tmp, ca, ip, dns = world
    dns.records["example.test"] = [
        r for r in dns.records["example.test"] if r[0] != "TXT"]
    dns.add("example.test", "TXT", "v=spf1 -all")
    rc, out = run_check(dns, free_port(), "-skip_tls_check", "example.test")
    assert rc == 1, out
    assert "SPF fail for 127.0.0.1: " in out
    assert "mx.example.test: SPF failed (127.0.0.1)" in out


def test_no_policy_skip_tls(world):
    tmp, ca, ip, dns = world
    rc, out = run_check(dns, free_port(), "-skip_tls_check", "example.test")
    assert rc == 0, out
    # Nothing listens on mta-sts: the fetch fails and is reported.
    assert "Not available (" in out
    assert "TLS check skipped" in out


def test_usage_errors(world):
    tmp, ca, ip, dns = world
    rc, out = run_check(dns, 25)
    assert rc == 1
    assert "Use: smtp-check <domain>" in out
    rc, out = run_check(dns, 25, "-bogus", "x")
    assert rc == 2
    assert "flag provided but not defined: -bogus" in out
    rc, out = run_check(dns, 25, "nonexistent.test")
    assert rc == 1
    assert "MX lookup: lookup nonexistent.test: no such host" in out


def test_against_our_daemon_with_ptr_spf(world, chasquid_factory):
    """The MX is one of our own daemons (certificate from the test CA), and
    the SPF record authorises by reverse DNS: the "ptr" mechanism needs
    the resolver's PTR lookups (dns::Resolver::LookupAddr)."""
    tmp, ca, ip, dns = world
    b = chasquid_factory("mx", hostname="mx.example.test",
                         domains=("example.test",))
    ca.issue(b.config_dir / "certs" / "mx.example.test", "mx.example.test")
    # The system resolver's path: /etc/resolv.conf names `dns`
    # (conftest's system_dns).
    b.start(wait_port=b.smtp_port, system_dns=dns)
    dns.records["example.test"] = [
        r for r in dns.records["example.test"] if r[0] != "TXT"]
    dns.add("example.test", "TXT", "v=spf1 ptr -all")
    dns.add("127.0.0.1", "PTR", "mx.example.test")
    rc, out = run_check(dns, b.smtp_port, "example.test",
                        env_extra={"SSL_CERT_FILE": str(ca.cert)})
    assert rc == 0, out
    assert "SPF pass for 127.0.0.1: matched ptr" in out
    assert "TLS OK: TLS-1.3 - TLS_" in out
    assert "Not available (" in out  # No MTA-STS server this time.
    assert out.rstrip().endswith("=== Success")
    assert ("1.0.0.127.in-addr.arpa", "PTR") in dns.queries

    # Without the PTR record the same check fails.
    dns.records.pop("1.0.0.127.in-addr.arpa")
    rc, out = run_check(dns, b.smtp_port, "example.test",
                        env_extra={"SSL_CERT_FILE": str(ca.cert)})
    assert rc == 1, out
    assert "SPF fail for 127.0.0.1: " in out
