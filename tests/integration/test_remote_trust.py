"""Which server certificates the outgoing side trusts: every certificate
in SSL_CERT_FILE and in every file of the SSL_CERT_DIR directories is a
trust anchor, as with Go's crypto/x509, also when several of them share a
subject name (self-signed certificates made by the same tool all do).

Two of our daemons deliver to each other over STARTTLS; the level each
one records for the other's domain (domaininfo), its tlsCount and
securityLevelChecks counters, and smtp-check with the same trusted set
show what was trusted.

Counters proved to move here (chasquid/smtpOut/...):
  tlsCount{tls:secure}: test_same_subject_self_signed,
      test_chain_through_intermediate
  tlsCount{tls:insecure}: test_untrustworthy_certificate
  securityLevelChecks{pass}: every test
"""

import os
import subprocess

import pytest

from conftest import binary, wait_for_port
from dnsserver import DNSServer
from remoteutil import GoStyleCerts, mda_conf, submit, \
    wait_sent, wait_for


@pytest.fixture
def dns():
    with DNSServer() as d:
        d.add("a.test", "MX", "10 srv-a")
        d.add("b.test", "MX", "10 srv-b")
        d.add("srv-a", "A", "127.0.0.1")
        d.add("srv-b", "A", "127.0.0.1")
        # So that smtp-check's SPF check passes too.
        d.add("a.test", "TXT", "v=spf1 ip4:127.0.0.1 -all")
        d.add("b.test", "TXT", "v=spf1 ip4:127.0.0.1 -all")
        yield d


class Pair:
    """Daemons srv-a (domain a.test) and srv-b (b.test), each sending its
    outgoing mail to the other's SMTP port, trusting exactly the PEM files
    of `trusted` (name -> bytes) in one SSL_CERT_DIR. srv-a finds `dns`
    through the system resolver (/etc/resolv.conf) and srv-b's address in
    /etc/hosts (conftest's system_dns); srv-b uses the flag."""

    def __init__(self, factory, tmp, dns, cert_a, cert_b, trusted):
        self.tmp = tmp
        self.a = self._daemon(factory, "srv-a", "a.test", cert_a)
        self.b = self._daemon(factory, "srv-b", "b.test", cert_b)
        self.a.add_user("alice", "a.test", "pass-a")
        self.b.add_user("bob", "b.test", "pass-b")
        certs = tmp / "trusted"
        certs.mkdir()
        for name, pem in trusted.items():
            (certs / name).write_bytes(pem)
        self.env = dict(os.environ)
        # No bundle file: only the directory's certificates are trusted.
        self.env["SSL_CERT_FILE"] = str(tmp / "no-such-bundle.pem")
        self.env["SSL_CERT_DIR"] = f"{tmp / 'no-such-dir'}:{certs}"
        self.a.start(f"--testing__outgoing_smtp_port={self.b.smtp_port}",
                     env=self.env, system_dns=dns,
                     hosts=["127.0.0.1 srv-b"])
        self.b.start(f"--testing__dns_addr={dns.addr}",
                     f"--testing__outgoing_smtp_port={self.a.smtp_port}",
                     env=self.env)
        wait_for_port(self.a.submission_port)
        wait_for_port(self.b.submission_port)

    def _daemon(self, factory, name, domain, cert):
        chain, key = cert
        c = factory(name, hostname=name, domains=(domain,),
                    extra_conf=mda_conf(self.tmp / f"mbox-{name}"),
                    cert=False)
        (self.tmp / f"mbox-{name}").mkdir()
        GoStyleCerts.write(c.config_dir / "certs" / name, chain, key)
        return c

    def a_to_b(self):
        submit(self.a, "alice@a.test", "pass-a", "alice@a.test",
               "bob@b.test", "to b")
        wait_sent(self.b, "bob@b.test")

    def b_to_a(self):
        submit(self.b, "bob@b.test", "pass-b", "bob@b.test",
               "alice@a.test", "to a")
        wait_sent(self.a, "alice@a.test")


def level(sender, domain):
    info = (sender.data_dir / "domaininfo" / f"s:{domain}").read_text()
    return info.replace("  ", " ")


def smtp_check(dns, pair, port, domain):
    r = subprocess.run(
        [binary("smtp-check"), f"--testing__dns_addr={dns.addr}",
         "-port", str(port), domain],
        capture_output=True, text=True, timeout=30, env=pair.env)
    return r.returncode, r.stderr


@pytest.mark.parametrize("names", [("1-a.pem", "2-b.pem"),
                                   ("2-a.pem", "1-b.pem")],
                         ids=["srv-a-first", "srv-b-first"])
def test_same_subject_self_signed(chasquid_factory, tmp_path, dns, names):
    """Two self-signed certificates with the same subject, one per host,
    in one directory: both hosts are trusted, whichever file comes first."""
    g = GoStyleCerts()
    cert_a, key_a = g.make("srv-a")
    cert_b, key_b = g.make("srv-b")
    assert cert_a.subject == cert_b.subject
    p = Pair(chasquid_factory, tmp_path, dns, ([cert_a], key_a),
             ([cert_b], key_b),
             {names[0]: g.pem(cert_a), names[1]: g.pem(cert_b)})

    p.a_to_b()
    p.b_to_a()
    for sender, domain in ((p.a, "b.test"), (p.b, "a.test")):
        assert "outgoing_sec_level: TLS_SECURE" in level(sender, domain)
        assert sender.var("chasquid/smtpOut/tlsCount", "tls:secure") == 1
        assert sender.var("chasquid/smtpOut/tlsCount", "tls:insecure") == 0
        assert sender.var("chasquid/smtpOut/securityLevelChecks",
                          "pass") == 1
        assert "cert does not match" not in sender.log()

    # smtp-check uses the same trusted set, and a failed validation there
    # aborts the handshake.
    for port, domain in ((p.a.smtp_port, "a.test"),
                         (p.b.smtp_port, "b.test")):
        rc, out = smtp_check(dns, p, port, domain)
        assert rc == 0, out
        assert "TLS OK: TLS-1.3" in out, out


def test_chain_through_intermediate(chasquid_factory, tmp_path, dns):
    """srv-b's certificate chains to a trusted root through an intermediate
    that only srv-b sends; the root's subject is also that of srv-a's
    self-signed certificate, trusted beside it."""
    g = GoStyleCerts()
    cert_a, key_a = g.make("srv-a")
    root, root_key = g.make(ca=True)
    inter, inter_key = g.make(ca=True, issuer=(root, root_key),
                              org="Test Intermediate Org")
    leaf, leaf_key = g.make("srv-b", issuer=(inter, inter_key))
    assert root.subject == cert_a.subject
    p = Pair(chasquid_factory, tmp_path, dns, ([cert_a], key_a),
             ([leaf, inter], leaf_key),
             {"1-a.pem": g.pem(cert_a), "2-root.pem": g.pem(root)})

    p.a_to_b()
    assert "outgoing_sec_level: TLS_SECURE" in level(p.a, "b.test")
    assert p.a.var("chasquid/smtpOut/tlsCount", "tls:secure") == 1
    assert p.a.var("chasquid/smtpOut/securityLevelChecks", "pass") == 1
    rc, out = smtp_check(dns, p, p.b.smtp_port, "b.test")
    assert rc == 0, out
    assert "TLS OK: TLS-1.3" in out, out


@pytest.mark.parametrize("what", ["expired", "wrong-name", "untrusted"])
def test_untrustworthy_certificate(chasquid_factory, tmp_path, dns, what):
    """A trusted but expired certificate, a trusted one for another host
    name, and one that is not in the trusted set: TLS is used, but only
    as TLS_INSECURE."""
    g = GoStyleCerts()
    cert_a, key_a = g.make("srv-a")
    if what == "expired":
        cert_b, key_b = g.make("srv-b", expired=True)
    elif what == "wrong-name":
        cert_b, key_b = g.make("srv-x")
    else:
        cert_b, key_b = g.make("srv-b")
    trusted = {"1-a.pem": g.pem(cert_a)}
    if what != "untrusted":
        trusted["2-b.pem"] = g.pem(cert_b)
    p = Pair(chasquid_factory, tmp_path, dns, ([cert_a], key_a),
             ([cert_b], key_b), trusted)

    p.a_to_b()
    assert "outgoing_sec_level: TLS_INSECURE" in level(p.a, "b.test")
    assert p.a.var("chasquid/smtpOut/tlsCount", "tls:insecure") == 1
    assert p.a.var("chasquid/smtpOut/tlsCount", "tls:secure") == 0
    assert p.a.var("chasquid/smtpOut/securityLevelChecks", "pass") == 1
    wait_for(lambda: "cert does not match srv-b" in p.a.log(),
               what="the insecure TLS trace line")
    # The other direction is unaffected.
    p.b_to_a()
    assert "outgoing_sec_level: TLS_SECURE" in level(p.b, "a.test")

    rc, out = smtp_check(dns, p, p.b.smtp_port, "b.test")
    assert rc == 1, out
    assert "TLS error: " in out and "srv-b: TLS failed" in out, out
