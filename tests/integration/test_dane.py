"""DANE for outgoing SMTP (RFC 7672): one of our daemons (dane: true)
delivers to another through a validating unbound on loopback, which
resolves a zone that NSD serves, signed with ldns-signzone (dnssecutil.py;
started once for this module). The receiving daemon's certificate matches
the TLSA records or not; the sender trusts none of the test certificates
through the usual roots, so only DANE can make a delivery TLS_SECURE.

openssl s_client, given the same TLSA records (as unbound returns them)
and connecting to the same daemon, must agree with each verdict.

The zone (test.):
  ee.test     MX mx.ee.test,    TLSA 3 1 1 of the receiver's key
  ta.test     MX mx.ta.test,    TLSA 2 0 1 of the CA, leaf names the MX
  tabad.test  MX mx.tabad.test, TLSA 2 0 1 of the CA, leaf names another
  wrong.test  MX mx.wrong.test, TLSA 3 1 1 of some other key
  plain.test  MX mx.plain.test, TLSA as ee, the MX offers no STARTTLS
  none.test   MX mx.none.test,  no TLSA (an authenticated denial)
  bogus.test  MX mx.bogus.test, TLSA in a child zone whose signatures
              expired
  lame.test   MX mx.lame.test,  TLSA in a signed child zone whose server
              does not answer
  unusable.test MX mx.unusable.test, TLSA 1 1 1 (PKIX-EE: not for SMTP)
  unsigned.test (an unsigned delegation) MX with a wrong TLSA
  mxu.unsigned.test  MX mx.wrong.test: a signed (wrong) TLSA under an
              unsigned MX answer, so DANE does not apply
  rpt.test    A 127.0.0.1: the HTTPS TLS report collector of ee.test,
              wrong.test, bogus.test and unusable.test (_smtp._tls TXT)

Counters proved to move here: chasquid/smtpOut/dane{verified, mismatch,
nostarttls, insecure, none, bogus, lookuperror, unusable},
tlsCount{tls:secure}, tlsrpt/successes{tlsa}, tlsrpt/failures{tlsa-invalid,
dnssec-invalid, starttls-not-supported}, requireTls/messages{relayed,
bounced}.
"""

import shutil
import socket
import subprocess

import pytest

import smtplib
import ssl

import jsonschema

from conftest import binary, free_port, wait_for_port
from dnssecutil import DNSSECWorld, Zone, free_loopback_ip_udp53, \
    tlsa_cert_sha256, tlsa_ee_spki_sha256
from remoteutil import CA, SMTPPeer, STSServer, env_with_ca, \
    free_loopback_ip, mail_log, mda_conf, self_signed, \
    submit, wait_sent, wait_for
from tlsrptutil import SCHEMA, ReportCollector

RECIPIENT_DOMAINS = ("ee.test", "sts.test", "ta.test", "tabad.test",
                     "wrong.test", "plain.test", "none.test", "bogus.test",
                     "lame.test", "unsigned.test", "unusable.test",
                     "mxu.unsigned.test")


def non_loopback_ip():
    """An address of this host that is not loopback, or None."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True,
                             text=True).stdout.split()
    except OSError:
        return None
    for ip in out:
        if "." in ip and not ip.startswith("127."):
            return ip
    return None


class Pki:
    def __init__(self, root):
        self.ca = CA(root / "ca")
        # DANE-EE: a self-signed certificate for an unrelated name (EE
        # records match without name checks, RFC 7672 §3.1.1).
        self.ee = self_signed(root / "ee", "unrelated.example")
        # DANE-TA: leaves from the CA, sent with the CA certificate.
        self.ta = self._with_ca(root / "ta", "mx.ta.test")
        self.tabad = self._with_ca(root / "tabad", "elsewhere.example")
        self.other = self_signed(root / "other", "mx.wrong.test")

    def _with_ca(self, outdir, name):
        chain, key = self.ca.issue(outdir, name)
        chain.write_text(chain.read_text() + self.ca.cert.read_text())
        return chain, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def world(tmp_path_factory, pki):
    ee = tlsa_ee_spki_sha256(pki.ee[0])
    ca = tlsa_cert_sha256(pki.ca.cert)
    other = tlsa_ee_spki_sha256(pki.other[0])
    plain_ip = free_loopback_ip_udp53()
    sts_ip = free_loopback_ip()
    rpt_port = free_port()
    rua = f'"v=TLSRPTv1; rua=https://rpt.test:{rpt_port}/r"'
    top = f"""
a MX 10 mx.a
mx.a A 127.0.0.1
ee MX 10 mx.ee
mx.ee A 127.0.0.1
_25._tcp.mx.ee TLSA 3 1 1 {ee}
ta MX 10 mx.ta
mx.ta A 127.0.0.1
_25._tcp.mx.ta TLSA 2 0 1 {ca}
tabad MX 10 mx.tabad
mx.tabad A 127.0.0.1
_25._tcp.mx.tabad TLSA 2 0 1 {ca}
wrong MX 10 mx.wrong
mx.wrong A 127.0.0.1
_25._tcp.mx.wrong TLSA 3 1 1 {other}
plain MX 10 mx.plain
mx.plain A {plain_ip}
_25._tcp.mx.plain TLSA 3 1 1 {ee}
none MX 10 mx.none
mx.none A 127.0.0.1
bogus MX 10 mx.bogus
mx.bogus A 127.0.0.1
lame MX 10 mx.lame
mx.lame A 127.0.0.1
sts MX 10 mx.sts
mx.sts A 127.0.0.1
_25._tcp.mx.sts TLSA 3 1 1 {ee}
_mta-sts.sts TXT "v=STSv1; id=1"
mta-sts.sts A {sts_ip}
unusable MX 10 mx.unusable
mx.unusable A 127.0.0.1
_25._tcp.mx.unusable TLSA 1 1 1 {ee}
rpt A 127.0.0.1
_smtp._tls.ee TXT {rua}
_smtp._tls.wrong TXT {rua}
_smtp._tls.bogus TXT {rua}
_smtp._tls.unusable TXT {rua}
"""
    zones = [
        Zone("test.", top),
        Zone("unsigned.test.", f"@ MX 10 mx\nmx A 127.0.0.1\n"
             f"_25._tcp.mx TLSA 3 1 1 {other}\n"
             "mxu MX 10 mx.wrong.test.\n", signed=False),
        Zone("_25._tcp.mx.bogus.test.", f"@ TLSA 3 1 1 {ee}\n",
             expired=True),
        Zone("_25._tcp.mx.lame.test.", f"@ TLSA 3 1 1 {ee}\n", lame=True),
    ]
    w = DNSSECWorld(tmp_path_factory.mktemp("dnssec"), zones,
                    also_on=non_loopback_ip(), on_port_53=True)
    w.plain_ip = plain_ip
    w.sts_ip = sts_ip
    w.rpt_port = rpt_port
    with w:
        yield w


class Pair:
    """A receiver (every test domain, certificate `cert`) and a sender
    (a.test, dane: true) whose outgoing mail goes to the receiver's SMTP
    port, resolving through `dns_addr`; or, given `system_dns` (the
    world), the sender finds unbound through the system resolver
    (/etc/resolv.conf; conftest's system_dns)."""

    def __init__(self, factory, tmp, dns_addr, cert, sender_extra="",
                 env=None, dane=True, system_dns=None):
        self.tmp = tmp
        self.b = factory("recv", hostname="recv", domains=RECIPIENT_DOMAINS,
                         extra_conf=mda_conf(tmp / "mbox-b"), cert=False)
        (tmp / "mbox-b").mkdir()
        for dom in RECIPIENT_DOMAINS:
            for user in ("x", "y"):
                self.b.add_user(user, dom, "unused")
        d = self.b.config_dir / "certs" / "recv"
        d.mkdir(parents=True)
        shutil.copy(cert[0], d / "fullchain.pem")
        shutil.copy(cert[1], d / "privkey.pem")
        self.b.start(f"--testing__dns_addr={dns_addr}")
        wait_for_port(self.b.smtp_port)
        self.a = factory("send", hostname="send", domains=("a.test",),
                         extra_conf=mda_conf(tmp / "mbox-a") +
                         ("dane: true\n" if dane else "") + sender_extra)
        (tmp / "mbox-a").mkdir()
        self.a.add_user("alice", "a.test", "pass-a")
        flags = [f"--testing__outgoing_smtp_port={self.b.smtp_port}",
                 "--testing__queue_retry_delay=200ms"]
        if system_dns is not None:
            self.a.start(*flags, env=env, system_dns=system_dns)
        else:
            self.a.start(f"--testing__dns_addr={dns_addr}", *flags, env=env)
        wait_for_port(self.a.submission_port)

    def send(self, to):
        submit(self.a, "alice@a.test", "pass-a", "alice@a.test", to,
               "dane test")

    def level(self, domain):
        p = self.a.data_dir / "domaininfo" / f"s:{domain}"
        return p.read_text().replace("  ", " ") if p.exists() else ""

    def received(self, rcpt):
        return (self.tmp / "mbox-b" / rcpt).exists()

    def dsn(self):
        """Waits for the bounce to alice and returns it."""
        wait_sent(self.a, "alice@a.test", timeout=30)
        return (self.tmp / "mbox-a" / "alice@a.test").read_text()


def openssl_dane(world, port, mx, sni=None):
    """openssl s_client's verdict on the receiver at `port` for the TLSA
    records unbound gives for `mx`: (verified, output)."""
    rcode, ad, records = world.query(f"_25._tcp.{mx}", "TLSA")
    assert rcode == 0 and ad and records, (rcode, ad, records)
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
           "-starttls", "smtp", "-servername", sni or mx,
           "-dane_tlsa_domain", mx, "-dane_ee_no_namechecks",
           "-verify_return_error", "-brief"]
    for r in records:
        cmd += ["-dane_tlsa_rrdata", r]
    p = subprocess.run(cmd, input="QUIT\r\n", capture_output=True,
                       text=True, timeout=20)
    out = p.stdout + p.stderr
    return p.returncode == 0 and "Verification: OK" in out, out


@pytest.mark.parametrize("domain,cert", [("ee.test", "ee"),
                                         ("ta.test", "ta")])
def test_dane_verified_delivery_is_tls_secure(chasquid_factory, tmp_path,
                                              world, pki, domain, cert):
    """A certificate that matches the TLSA records (DANE-EE for a name
    that is not the MX's; DANE-TA through the CA) is TLS_SECURE, though
    no trusted root vouches for it. The sender resolves through
    /etc/resolv.conf, as in production: a loopback resolver there is
    trusted for the AD bit too."""
    p = Pair(chasquid_factory, tmp_path, world.addr, getattr(pki, cert),
             system_dns=world)
    p.send(f"x@{domain}")
    wait_sent(p.b, f"x@{domain}")
    assert p.received(f"x@{domain}")
    assert "outgoing_sec_level: TLS_SECURE" in p.level(domain)
    assert p.a.var("chasquid/smtpOut/dane", "verified") == 1
    assert p.a.var("chasquid/smtpOut/dane", "mismatch") == 0
    assert p.a.var("chasquid/smtpOut/tlsCount", "tls:secure") == 1
    metrics = p.a.get("/metrics")[2].decode()
    assert 'chasquid_smtpOut_dane{result="verified"} 1' in metrics
    wait_for(lambda: "Courier.DANE" in p.a.get("/debug/traces")[2]
               .decode(), what="the DANE lookup's trace")
    ok, out = openssl_dane(world, p.b.smtp_port, f"mx.{domain}")
    assert ok, out


@pytest.mark.parametrize("domain,cert", [("wrong.test", "ee"),
                                         ("tabad.test", "tabad")])
def test_dane_mismatch_is_retried_then_bounced(chasquid_factory, tmp_path,
                                               world, pki, domain, cert):
    """A certificate that matches no TLSA record (another key; a CA-signed
    leaf for another name under DANE-TA, RFC 7672 §3.2): never delivered,
    not even in the clear; retried as a transient failure, then
    bounced."""
    p = Pair(chasquid_factory, tmp_path, world.addr, getattr(pki, cert),
             sender_extra='give_up_send_after: "3s"\n')
    p.send(f"x@{domain}")
    dsn = p.dsn()
    assert (f"DANE: the certificate of mx.{domain} matches none of its "
            f"TLSA records") in dsn
    assert mail_log(p.a).count(f"to=x@{domain} failed (temporary)") >= 2
    assert p.a.var("chasquid/smtpOut/dane", "mismatch") >= 2
    assert p.a.var("chasquid/smtpOut/dane", "verified") == 0
    assert not p.received(f"x@{domain}")
    assert f"x@{domain}" not in mail_log(p.b)
    ok, out = openssl_dane(world, p.b.smtp_port, f"mx.{domain}")
    assert not ok, out


def test_dane_missing_starttls_is_never_plain(chasquid_factory, tmp_path,
                                              world, pki):
    """The MX's TLSA records demand TLS; it offers no STARTTLS: nothing is
    sent, the attempt is a transient failure."""
    port = free_port_for(world.plain_ip)
    with SMTPPeer(port, host=world.plain_ip) as peer:
        p = Pair(chasquid_factory, tmp_path, world.addr, pki.ee,
                 sender_extra='give_up_send_after: "3s"\n')
        # The receiver's port must be the peer's: one outgoing port.
        p.a.stop()
        p.a.start(f"--testing__dns_addr={world.addr}",
                  f"--testing__outgoing_smtp_port={port}",
                  "--testing__queue_retry_delay=200ms")
        wait_for_port(p.a.submission_port)
        p.send("x@plain.test")
        dsn = p.dsn()
        assert ("DANE: mx.plain.test does not offer STARTTLS, which its "
                "TLSA records require") in dsn
        assert peer.connections >= 2
        assert peer.messages == []
    assert p.a.var("chasquid/smtpOut/dane", "nostarttls") >= 2
    # RFC 8460: the records demanded TLS, the server offered none.
    assert p.a.var("chasquid/tlsrpt/failures",
                   "starttls-not-supported") >= 2


def free_port_for(ip):
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("domain,result", [("unsigned.test", "insecure"),
                                           ("none.test", "none")])
def test_dane_does_not_apply(chasquid_factory, tmp_path, world, pki,
                             domain, result):
    """An unsigned delegation (its wrong TLSA record is not believed) and
    an authenticated "no TLSA": delivered as before, over TLS that no
    root vouches for."""
    p = Pair(chasquid_factory, tmp_path, world.addr, pki.ee)
    p.send(f"x@{domain}")
    wait_sent(p.b, f"x@{domain}")
    assert "outgoing_sec_level: TLS_INSECURE" in p.level(domain)
    assert p.a.var("chasquid/smtpOut/dane", result) == 1
    assert p.a.var("chasquid/smtpOut/dane", "verified") == 0
    assert p.a.var("chasquid/smtpOut/dane", "mismatch") == 0
    assert p.a.var("chasquid/smtpOut/tlsCount", "tls:insecure") == 1
    if result == "insecure":
        rcode, ad, records = world.query("_25._tcp.mx.unsigned.test", "TLSA")
        assert rcode == 0 and not ad and records


@pytest.mark.parametrize("domain,result,text", [
    ("bogus.test", "bogus",
     "DANE: TLSA lookup for _25._tcp.mx.bogus.test: DNSSEC validation "
     "failed"),
    ("lame.test", "lookuperror",
     "DANE: TLSA lookup for _25._tcp.mx.lame.test: "),
])
def test_dane_bad_dns_defers(chasquid_factory, tmp_path, world, pki,
                             domain, result, text):
    """Expired signatures on the TLSA records (bogus), and a signed zone
    whose server does not answer: the MX is not tried; the mail waits and
    finally bounces."""
    p = Pair(chasquid_factory, tmp_path, world.addr, pki.ee,
             sender_extra='give_up_send_after: "3s"\n')
    p.send(f"x@{domain}")
    dsn = p.dsn()
    assert text in dsn
    assert p.a.var("chasquid/smtpOut/dane", result) >= 1
    assert not p.received(f"x@{domain}")
    # Never connected: the receiver saw only the tests' own probes.
    assert f"x@{domain}" not in mail_log(p.b)
    assert p.a.var("chasquid/smtpOut/tlsCount", "tls:secure") == 0
    if result == "bogus":
        # unbound agrees: SERVFAIL, yet the data is there without checks.
        rcode, _, _ = world.query("_25._tcp.mx.bogus.test", "TLSA")
        assert rcode == 2
        rcode, _, records = world.query("_25._tcp.mx.bogus.test", "TLSA",
                                        cd=True)
        assert rcode == 0 and records


def test_dane_off_when_resolver_not_on_loopback(chasquid_factory, tmp_path,
                                                world, pki):
    """The same validating unbound, reached on a non-loopback address: its
    AD bit is not trusted, DANE is off (logged once), and the wrong TLSA
    record does not stop delivery."""
    if not world.other_addr:
        pytest.skip("this host has no non-loopback address")
    p = Pair(chasquid_factory, tmp_path, world.other_addr, pki.ee)
    p.send("x@wrong.test")
    wait_sent(p.b, "x@wrong.test")
    p.send("y@wrong.test")
    wait_sent(p.b, "y@wrong.test")
    assert p.a.log().count("DANE disabled: the DNS resolver is not on "
                           "loopback") == 1
    assert p.a.var("chasquid/smtpOut/dane", "mismatch") == 0
    assert p.a.var("chasquid/smtpOut/dane", "insecure") == 0
    assert "outgoing_sec_level: TLS_INSECURE" in p.level("wrong.test")


def smtp_check(world, port, domain, dns_addr=None):
    r = subprocess.run(
        [binary("smtp-check"), f"--testing__dns_addr={dns_addr or world.addr}",
         "-port", str(port), domain],
        capture_output=True, text=True, timeout=60)
    return r.returncode, r.stderr


def test_smtp_check_reports_dane(chasquid_factory, tmp_path, world, pki):
    """smtp-check lists the TLSA records and the DANE result."""
    p = Pair(chasquid_factory, tmp_path, world.addr, pki.ee)
    ee = tlsa_ee_spki_sha256(pki.ee[0])
    rc, out = smtp_check(world, p.b.smtp_port, "ee.test")
    assert f"TLSA: 3 1 1 {ee}" in out, out
    assert "DANE: verified" in out, out
    # SPF is not set up here, so the check fails for that alone.
    assert "DANE failed" not in out, out

    rc, out = smtp_check(world, p.b.smtp_port, "wrong.test")
    assert rc == 1, out
    assert "DANE: mismatch" in out and "mx.wrong.test: DANE failed" in out, \
        out

    rc, out = smtp_check(world, p.b.smtp_port, "bogus.test")
    assert rc == 1, out
    assert "DANE: bogus" in out, out

    rc, out = smtp_check(world, p.b.smtp_port, "unsigned.test")
    assert "DANE: insecure" in out, out

    # A signed TLSA record under an unsigned MX answer (RFC 7672 §2.2.1).
    rc, out = smtp_check(world, p.b.smtp_port, "mxu.unsigned.test")
    assert "DANE: insecure (MX answer not authenticated)" in out, out
    assert "DANE: mismatch" not in out, out


def test_dane_takes_precedence_over_mta_sts(chasquid_factory, tmp_path,
                                            world, pki):
    """sts.test has an enforced MTA-STS policy that does not list its MX,
    and DANE records that the MX matches: DANE wins (RFC 8461 §2), the MX
    is tried and the delivery is TLS_SECURE."""
    chain, key = pki.ca.issue(tmp_path / "sts-cert", "mta-sts.sts.test")
    policy = ("version: STSv1\nmode: enforce\nmx: mx.elsewhere.test\n"
              "max_age: 3600\n")
    with STSServer(world.sts_ip, chain, key, policy) as sts:
        p = Pair(chasquid_factory, tmp_path, world.addr, pki.ee,
                 env=env_with_ca(pki.ca))
        p.send("x@sts.test")
        wait_sent(p.b, "x@sts.test")
        assert sts.requests >= 1
    assert p.a.var("chasquid/smtpOut/sts/mode", "enforce") == 1
    assert p.a.var("chasquid/smtpOut/dane", "verified") == 1
    assert "outgoing_sec_level: TLS_SECURE" in p.level("sts.test")


def test_dane_is_off_by_default(chasquid_factory, tmp_path, world, pki):
    """Without `dane: true` (a chasquid configuration), no TLSA query is
    sent and the wrong TLSA record changes nothing."""
    p = Pair(chasquid_factory, tmp_path, world.addr, pki.ee, dane=False)
    p.send("x@wrong.test")
    wait_sent(p.b, "x@wrong.test")
    assert "outgoing_sec_level: TLS_INSECURE" in p.level("wrong.test")
    assert p.a.var("chasquid/dns/queries", "MX") >= 1
    assert p.a.var("chasquid/dns/queries", "TLSA") == 0
    assert p.a.var("chasquid/smtpOut/dane") == {}
    assert "DANE" not in p.a.log()


def dsns(p, n):
    """Waits for `n` bounces to alice and returns her mailbox."""
    box = p.tmp / "mbox-a" / "alice@a.test"
    wait_for(lambda: box.exists() and
             box.read_text().count("X-Failed-Recipients:") >= n,
             timeout=30, what=f"{n} DSNs")
    return box.read_text()


def test_dane_outcomes_in_tls_reports(chasquid_factory, tmp_path, world,
                                      pki):
    """Each DANE outcome is recorded for TLS reporting (RFC 8460) under
    the policy type "tlsa", the records as the policy strings: a match
    is a success; a mismatch and records that are all unusable are
    tlsa-invalid; bogus TLSA data is dnssec-invalid. A first run records;
    a second, with reports every second, POSTs them to the collector
    that the domains' `_smtp._tls` records name."""
    conf = ('tls_reporting: { enabled: true from_address: "tlsrpt@a.test" '
            'submitter: "send.example" }\n'
            'give_up_send_after: "3s"\n')
    rpt_cert = pki.ca.issue(tmp_path / "rpt", "rpt.test")
    p = Pair(chasquid_factory, tmp_path, world.addr, pki.ee,
             sender_extra=conf, env=env_with_ca(pki.ca))
    for d in ("ee.test", "unusable.test", "wrong.test", "bogus.test"):
        p.send(f"x@{d}")
    wait_sent(p.b, "x@ee.test")
    wait_sent(p.b, "x@unusable.test")
    dsns(p, 2)  # wrong.test and bogus.test gave up.
    assert p.a.var("chasquid/tlsrpt/successes", "tlsa") == 1
    wrong = p.a.var("chasquid/smtpOut/dane", "mismatch")
    assert wrong >= 2
    assert p.a.var("chasquid/smtpOut/dane", "unusable") == 1
    assert p.a.var("chasquid/tlsrpt/failures", "tlsa-invalid") == wrong + 1
    bogus = p.a.var("chasquid/tlsrpt/failures", "dnssec-invalid")
    assert bogus >= 1
    assert "chasquid_tlsrpt_failures{result_type=\"tlsa-invalid\"}" in \
        p.a.get("/metrics")[2].decode()
    p.a.stop()

    with ReportCollector(world.rpt_port, *rpt_cert) as collector:
        p.a.start(f"--testing__dns_addr={world.addr}",
                  f"--testing__outgoing_smtp_port={p.b.smtp_port}",
                  "--testing__tlsrpt_period=1s", env=env_with_ca(pki.ca))
        want = {"ee.test", "unusable.test", "wrong.test", "bogus.test"}
        wait_for(lambda: want <= set(collector.reports()), timeout=30,
                 what="a report for each DANE domain")
    got = {}
    for d in want:
        [report] = collector.reports()[d]
        jsonschema.validate(report, SCHEMA,
                            format_checker=jsonschema.FormatChecker())
        assert report["organization-name"] == "send.example"
        [pol] = report["policies"]
        assert pol["policy"]["policy-type"] == "tlsa"
        got[d] = pol
    ee = tlsa_ee_spki_sha256(pki.ee[0])
    other = tlsa_ee_spki_sha256(pki.other[0])
    assert got["ee.test"]["policy"]["policy-string"] == [f"3 1 1 {ee}"]
    assert got["ee.test"]["summary"] == {
        "total-successful-session-count": 1,
        "total-failure-session-count": 0}
    assert "failure-details" not in got["ee.test"]

    pol = got["wrong.test"]
    assert pol["policy"]["policy-string"] == [f"3 1 1 {other}"]
    assert pol["summary"] == {"total-successful-session-count": 0,
                              "total-failure-session-count": wrong}
    [detail] = pol["failure-details"]
    assert detail["result-type"] == "tlsa-invalid"
    assert detail["failed-session-count"] == wrong
    assert detail["receiving-mx-hostname"] == "mx.wrong.test"
    assert detail["receiving-ip"] == "127.0.0.1"
    assert detail["sending-mta-ip"] == "127.0.0.1"

    pol = got["unusable.test"]
    assert pol["policy"]["policy-string"] == [f"1 1 1 {ee}"]
    [detail] = pol["failure-details"]
    assert detail["result-type"] == "tlsa-invalid"
    assert detail["failure-reason-code"] == "no usable TLSA records"

    pol = got["bogus.test"]
    assert "policy-string" not in pol["policy"]
    assert pol["summary"]["total-failure-session-count"] == bogus
    [detail] = pol["failure-details"]
    assert detail["result-type"] == "dnssec-invalid"
    assert detail["receiving-mx-hostname"] == "mx.bogus.test"
    # Never connected: no addresses to tell.
    assert "receiving-ip" not in detail
    assert p.a.var("chasquid/tlsrpt/reports", "failed") == 0


def send_requiretls(c, to):
    s = smtplib.SMTP("127.0.0.1", c.submission_port, timeout=20)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    s.login("alice@a.test", "pass-a")
    msg = f"From: alice@a.test\r\nTo: {to}\r\nSubject: rt\r\n\r\nhi\r\n"
    s.sendmail("alice@a.test", [to], msg.encode(),
               mail_options=["REQUIRETLS"])
    s.quit()


def test_dane_satisfies_requiretls(chasquid_factory, tmp_path, world, pki):
    """RFC 8689 §4.2.1: a REQUIRETLS message goes to an MX whose TLS DANE
    validated (no MTA-STS policy needed), with REQUIRETLS passed on; a
    DANE mismatch, or an MX with neither DANE nor MTA-STS, gets 5.7.30."""
    p = Pair(chasquid_factory, tmp_path, world.addr, pki.ee)
    send_requiretls(p.a, "x@ee.test")
    wait_sent(p.b, "x@ee.test")
    assert p.a.var("chasquid/requireTls/messages", "relayed") == 1
    # B took it as a REQUIRETLS message, from A.
    assert p.b.var("chasquid/requireTls/messages", "accepted") == 1
    assert p.a.var("chasquid/smtpOut/dane", "verified") == 1

    send_requiretls(p.a, "x@wrong.test")
    send_requiretls(p.a, "x@none.test")
    text = dsns(p, 2)
    assert ("5.7.30 REQUIRETLS support required (mx.wrong.test failed "
            "DANE verification)") in text
    assert ("5.7.30 REQUIRETLS support required (no MTA-STS policy in "
            "enforce mode for none.test, and no DANE for mx.none.test)") \
        in text
    assert p.a.var("chasquid/requireTls/messages", "bounced") == 2
    assert p.a.var("chasquid/requireTls/messages", "relayed") == 1
    assert p.a.var("chasquid/smtpOut/dane", "mismatch") == 1
    assert not p.received("x@wrong.test")
    assert not p.received("x@none.test")


def test_dane_not_under_an_unsigned_mx(chasquid_factory, tmp_path, world,
                                       pki):
    """RFC 7672 §2.2.1: mxu.unsigned.test's MX answer is not
    authenticated, so the signed (and wrong) TLSA records of the host it
    names are not used: delivered over TLS that nothing vouches for, the
    host counted as insecure."""
    rcode, ad, mxs = world.query("mxu.unsigned.test", "MX")
    assert rcode == 0 and not ad and mxs == ["10 mx.wrong.test."]
    rcode, ad, records = world.query("_25._tcp.mx.wrong.test", "TLSA")
    assert rcode == 0 and ad and records
    p = Pair(chasquid_factory, tmp_path, world.addr, pki.ee)
    p.send("x@mxu.unsigned.test")
    wait_sent(p.b, "x@mxu.unsigned.test")
    assert "outgoing_sec_level: TLS_INSECURE" in p.level("mxu.unsigned.test")
    assert p.a.var("chasquid/smtpOut/dane", "insecure") == 1
    assert p.a.var("chasquid/smtpOut/dane", "mismatch") == 0
    assert p.a.var("chasquid/smtpOut/dane", "verified") == 0
    _, _, body = p.a.get("/debug/traces?fam=Courier.SMTP.Deliver&b=0&all=true")
    assert b"MX RRset not authenticated" in body
