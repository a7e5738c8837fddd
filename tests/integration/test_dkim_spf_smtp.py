"""SPF, the incoming security level and DKIM inside the SMTP server, end to
end: the real daemon, real clients (smtplib, a raw line client, swaks), the
test DNS server for SPF and DKIM key records, and the test MDA for the
delivered messages, with chasquid's reply texts and headers.

Counters proved to move here (chasquid/smtpIn/...):
  spfResultCount{pass,fail,softfail,none,neutral,permerror,temperror}:
      test_spf_results_and_headers
  securityLevelChecks{skip,pass,fail}: test_security_level,
      test_spf_results_and_headers (skip)
  dkimSigned: test_authenticated_mail_is_signed
  dkimSignErrors: test_dkim_sign_error
  dkimVerifyFound, dkimVerifyNotFound, dkimVerifyValid, dkimVerifyErrors:
      test_dkim_verify_incoming
"""

import shutil
import smtplib
import socket
import ssl
import subprocess

import pytest

from dkimutil import (crlf, dkimpy_verify, dkimpy_verify_each, keygen,
                      mail_dkim_verify, sign, util)
from conftest import wait_for_port
from queueutil import delivered, mda_env, setup_mda, wait_for

MSG = ("From: Alice <alice@{dom}>\n"
       "To: user@testserver\n"
       "Subject: {subject}\n"
       "Date: Wed, 25 Nov 2026 10:00:00 +0000\n"
       "Message-ID: <{subject}@{dom}>\n"
       "\n"
       "Hello.\n")

# Accepted by the header parser of the loop check (Go's net/mail joins the
# continuation before looking for the colon) but not by DKIM's (a header
# line without a colon): DKIM cannot parse this message.
DKIM_UNPARSEABLE = ("From: alice@{dom}\n"
                    "To: user@testserver\n"
                    "X-Folded-Name\n"
                    " : value\n"
                    "Subject: {subject}\n"
                    "\n"
                    "Hello.\n")

RSA_SEL, ED_SEL = "a-rsa", "b-ed"


class Client:
    """A minimal SMTP line client: exact replies, no smtplib retries."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.f = self.sock.makefile("rb")
        self.reply()

    def reply(self):
        lines = []
        while True:
            line = self.f.readline().decode().rstrip("\r\n")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return "\n".join(lines)

    def do(self, line):
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def data(self, msg_bytes):
        r = self.do("DATA")
        assert r.startswith("354"), r
        body = crlf(msg_bytes).replace(b"\r\n.", b"\r\n..")
        self.sock.sendall(body + b".\r\n")
        return self.reply()

    def send(self, sender, msg_bytes, rcpt="user@testserver"):
        r = self.do(f"MAIL FROM:<{sender}>")
        assert r.startswith("250"), r
        r = self.do(f"RCPT TO:<{rcpt}>")
        assert r.startswith("250"), r
        return self.data(msg_bytes)

    def close(self):
        self.do("QUIT")
        self.sock.close()


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """An RSA-3072 and an Ed25519 key made by chasquid-util, once: {selector:
    (pem path, TXT record)}."""
    conf = tmp_path_factory.mktemp("keys")
    out = {}
    for sel, algo in ((RSA_SEL, "rsa3072"), (ED_SEL, "ed25519")):
        txt = keygen(conf, "testserver", sel, algo)
        out[sel] = (conf / "domains" / "testserver" / f"dkim:{sel}.pem", txt)
    return out


def records(keys):
    return {f"{sel}._domainkey.testserver": txt
            for sel, (_, txt) in keys.items()}


def make_server(chasquid_factory, dns, keys=None, hook_dir=None,
                system=False):
    """A chasquid for "testserver" (user "user", password "secret") and
    "other.example" (no keys), using `dns`, with the test MDA; with `keys`
    copied to domains/testserver/; with `hook_dir`, a post-data hook that
    files each message as the server stored it. `system`: `dns` is found
    through the system resolver (/etc/resolv.conf; conftest's
    system_dns) rather than the flag."""
    c = chasquid_factory("a", hostname="testserver",
                         domains=("testserver", "other.example"))
    c.add_user("user", "testserver", "secret")
    c.add_user("user", "other.example", "secret")
    for sel, (pem, txt) in (keys or {}).items():
        shutil.copy(pem, c.config_dir / "domains" / "testserver"
                    / f"dkim:{sel}.pem")
        dns.add(f"{sel}._domainkey.testserver", "TXT", txt)
    if hook_dir:
        hooks = c.config_dir / "hooks"
        hooks.mkdir()
        hook = hooks / "post-data"
        hook.write_text("#!/bin/sh\n"
                        f"cat > {hook_dir}/.t.$$ && "
                        f"mv {hook_dir}/.t.$$ {hook_dir}/$(date +%s%N)\n")
        hook.chmod(0o755)
    maildir = setup_mda(c)
    if system:
        c.start(env=mda_env(maildir), system_dns=dns)
    else:
        c.start(f"--testing__dns_addr={dns.addr}", env=mda_env(maildir))
    for port in (c.smtp_port, c.submission_port, c.submission_tls_port):
        wait_for_port(port, proc=c.proc)
    c.maildir = maildir
    return c


def next_delivery(c, n, to="user@testserver"):
    """Waits for the n-th (1-based) message delivered to `to`."""
    msgs = wait_for(lambda: (lambda m: m if len(m) >= n else None)(
        delivered(c.maildir, to)), what=f"delivery #{n} to {to}")
    return msgs[n - 1]


def header_block(msg):
    """The header lines of a CRLF message (folded lines kept apart)."""
    return msg.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")


def test_spf_results_and_headers(chasquid_factory, dns, tmp_path):
    stored = tmp_path / "stored"
    stored.mkdir()
    dns.load("pass.example TXT v=spf1 ip4:127.0.0.0/8 -all\n"
             "fail.example TXT v=spf1 ip4:192.0.2.1 -all\n"
             "exp.example TXT v=spf1 -all exp=why.exp.example\n"
             "why.exp.example TXT You are not %{i}, go away\n"
             "soft.example TXT v=spf1 ~all\n"
             "neutral.example TXT v=spf1 ip4:192.0.2.1\n"
             "perm.example TXT v=spf1 bogus -all\n")
    dns.servfail("temp.example")
    # Every SPF result through the system resolver, as in production.
    c = make_server(chasquid_factory, dns, hook_dir=stored, system=True)

    cl = Client(c.smtp_port)
    assert cl.do("EHLO client.example").startswith("250")

    # fail rejects at MAIL with the library's text; exp= is ignored.
    assert cl.do("MAIL FROM:<x@fail.example>") == \
        "550 5.7.23 SPF check failed: matched all"
    assert cl.do("MAIL FROM:<x@exp.example>") == \
        "550 5.7.23 SPF check failed: matched all"
    cl.close()

    # Everything else is accepted and reported.
    cl = Client(c.smtp_port)
    assert cl.do("EHLO client.example").startswith("250")
    expected = [
        ("pass.example", "pass (matched ip)"),
        ("soft.example", "softfail (matched all)"),
        ("nospf.example", "none (no DNS record found)"),
        ("neutral.example", "neutral (<nil>)"),
        ("perm.example", "permerror (unknown field)"),
    ]
    for i, (dom, spf) in enumerate(expected, 1):
        r = cl.send(f"x@{dom}", MSG.format(dom=dom, subject=f"m{i}"))
        assert r.startswith("250 2.0.0 "), (dom, r)
        h = header_block(next_delivery(c, i))
        assert h[0] == "Authentication-Results: testserver", (dom, h)
        assert h[1] == f"\t;spf={spf}", (dom, h)
        assert h[2] == "\t;dkim=none", (dom, h)
        assert h[3] == f"Received-SPF: {spf}", (dom, h)
        assert h[4] == "Received: from client.example ([127.0.0.1])", h

    # A temporary DNS error: temperror with the resolver's text, accepted.
    r = cl.send("x@temp.example", MSG.format(dom="temp.example",
                                             subject="m6"))
    assert r.startswith("250 2.0.0 "), r
    h = header_block(next_delivery(c, 6))
    assert h[1].startswith("\t;spf=temperror ("), h
    assert h[3].startswith("Received-SPF: temperror ("), h

    # The null sender: no SPF, no headers about it.
    r = cl.send("", MSG.format(dom="testserver", subject="m7"))
    assert r.startswith("250 2.0.0 "), r
    h = header_block(next_delivery(c, 7))
    assert not any(x.startswith("Received-SPF:") for x in h), h
    assert h[0] == "Authentication-Results: testserver", h
    assert h[1] == "\t;dkim=none", h
    cl.close()

    for result, n in (("pass", 1), ("fail", 2), ("softfail", 1), ("none", 1),
                      ("neutral", 1), ("permerror", 1), ("temperror", 1)):
        assert c.var("chasquid/smtpIn/spfResultCount", result) == n, result
    # No SPF pass on a new domain at PLAIN... except pass.example, which
    # was recorded at PLAIN; the others skip. Rejected MAILs never reach
    # the check.
    assert c.var("chasquid/smtpIn/securityLevelChecks") == {
        "pass": 1, "skip": 5}
    info = (c.data_dir / "domaininfo" / "s:pass.example").read_text()
    assert "PLAIN" in info or "incoming_sec_level" not in info

    log = (c.root / "mail.log").read_text()
    assert "rejected from=x@fail.example" in log
    assert "failed SPF: matched all" in log

    # As stored (what the hook gets): LF line breaks only, no stray CR
    # inside Authentication-Results.
    files = sorted(stored.iterdir(), key=lambda p: p.name)
    assert len(files) == 7
    first = files[0].read_bytes()
    assert first.startswith(b"Authentication-Results: testserver\n"
                            b"\t;spf=pass (matched ip)\n"
                            b"\t;dkim=none\n"
                            b"Received-SPF: pass (matched ip)\n"
                            b"Received: from client.example ([127.0.0.1])\n")
    assert b"\r" not in first


def test_spf_single_label_domains(chasquid_factory, dns):
    """Senders at single-label hosts ("srv-a") get their SPF records looked
    up like any other domain's, as chasquid does; "invalid domain" never
    comes up."""
    dns.load("srv-a TXT v=spf1 mx -all\n"
             "srv-a MX 10 srv-a\n"
             "srv-a A 127.0.0.1\n"
             "srv-f TXT v=spf1 -all\n")
    c = make_server(chasquid_factory, dns)
    cl = Client(c.smtp_port)
    assert cl.do("EHLO client.example").startswith("250")
    assert cl.do("MAIL FROM:<userA@srv-f>") == \
        "550 5.7.23 SPF check failed: matched all"
    cl.close()

    cl = Client(c.smtp_port)
    assert cl.do("EHLO client.example").startswith("250")
    for i, (dom, spf) in enumerate((("srv-a", "pass (matched mx)"),
                                    ("srv-n", "none (no DNS record found)")),
                                   1):
        r = cl.send(f"userA@{dom}", MSG.format(dom=dom, subject=f"m{i}"))
        assert r.startswith("250 2.0.0 "), (dom, r)
        h = header_block(next_delivery(c, i))
        assert h[1] == f"\t;spf={spf}", (dom, h)
        assert h[3] == f"Received-SPF: {spf}", (dom, h)
    cl.close()
    for result in ("pass", "fail", "none"):
        assert c.var("chasquid/smtpIn/spfResultCount", result) == 1, result


def test_spf_events_in_connection_trace(chasquid_factory, dns):
    dns.add("pass.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    c = make_server(chasquid_factory, dns)
    cl = Client(c.smtp_port)
    cl.do("EHLO client.example")
    assert cl.do("MAIL FROM:<x@pass.example>").startswith("250")
    cl.close()
    # The SPF evaluation is a child trace of the connection's, and the
    # connection's trace records the outcome.
    _, _, page = c.get("/debug/traces?fam=SPF&b=0&all=true")
    page = page.decode()
    assert "127.0.0.1" in page and "parent" in page, page
    _, _, conns = c.get("/debug/traces?fam=SMTP.Conn&b=0&all=true")
    ids = [p.split('"', 1)[0]
           for p in conns.decode().split('href="?trace=')[1:]]
    pages = [c.get(f"/debug/traces?trace={i}")[2].decode() for i in ids]
    assert any("SPF pass (matched ip)" in p and "SPF 127.0.0.1" in p
               for p in pages), pages


def starttls_mail(port, sender):
    """MAIL FROM over STARTTLS with smtplib; returns (code, text)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.ehlo("client.example")
        s.starttls(context=ctx)
        s.ehlo("client.example")
        code, text = s.mail(sender)
        s.rset()
        return code, text.decode()


def test_security_level(chasquid_factory, dns):
    dns.add("tls.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    dns.add("soft.example", "TXT", "v=spf1 ~all")
    c = make_server(chasquid_factory, dns)
    var = "chasquid/smtpIn/securityLevelChecks"

    # Seen with TLS and SPF pass: recorded at TLS_CLIENT.
    assert starttls_mail(c.smtp_port, "x@tls.example") == \
        (250, "2.1.5 You feel like you are being watched")
    assert c.var(var) == {"pass": 1}
    info = (c.data_dir / "domaininfo" / "s:tls.example").read_text()
    assert "incoming_sec_level: TLS_CLIENT" in info

    # Later in plain text: refused, counted once.
    cl = Client(c.smtp_port)
    cl.do("EHLO client.example")
    assert cl.do("MAIL FROM:<x@tls.example>") == \
        "550 5.7.3 Security level check failed"
    assert c.var(var) == {"pass": 1, "fail": 1}
    # SPF not pass: the check is skipped, plain text is fine.
    assert cl.do("MAIL FROM:<x@soft.example>").startswith("250")
    assert c.var(var) == {"pass": 1, "fail": 1, "skip": 1}
    cl.close()

    # Again with TLS: allowed.
    assert starttls_mail(c.smtp_port, "x@tls.example")[0] == 250
    assert c.var(var) == {"pass": 2, "fail": 1, "skip": 1}
    assert c.var("chasquid/smtpIn/spfResultCount") == {"pass": 3,
                                                       "softfail": 1}
    log = (c.root / "mail.log").read_text()
    assert "security level check failed" in log

    # chasquid-util domaininfo-remove resets it: plain text is fine again.
    util(f"-C={c.config_dir}", "domaininfo-remove", "tls.example")
    cl = Client(c.smtp_port)
    cl.do("EHLO client.example")
    assert cl.do("MAIL FROM:<x@tls.example>").startswith("250")
    cl.close()
    assert c.var(var) == {"pass": 3, "fail": 1, "skip": 1}


def test_dkim_verify_incoming(chasquid_factory, dns, keys):
    c = make_server(chasquid_factory, dns, keys=keys)
    cl = Client(c.smtp_port)
    cl.do("EHLO client.example")
    msg = MSG.format(dom="testserver", subject="signed")

    # Signed by each key (chasquid-util dkim-sign): dkim=pass.
    conf = keys[RSA_SEL][0].parents[2]
    signed_rsa = sign(conf, msg, "testserver", RSA_SEL)
    signed_ed = sign(conf, msg, "testserver", ED_SEL)
    for i, m in enumerate((signed_rsa, signed_ed), 1):
        assert cl.send("x@nospf.example", m).startswith("250 2.0.0 ")
        h = header_block(next_delivery(c, i))
        assert h[0] == "Authentication-Results: testserver"
        assert h[1] == "\t;spf=none (no DNS record found)"
        assert h[2].startswith("\t;dkim=pass  header.b="), h
        assert h[2].endswith("  header.d=testserver"), h
        assert len(h[2].split("header.b=")[1].split()[0]) == 12

    # A changed body: dkim=fail, never rejected.
    changed = signed_ed.replace(b"Hello.", b"Bye.")
    assert cl.send("x@nospf.example", changed).startswith("250 2.0.0 ")
    h = header_block(next_delivery(c, 3))
    assert h[2] == '\t;dkim=fail  reason="body hash mismatch (got ' \
        + h[2].split("(got ")[1], h
    assert h[3].startswith("\t  header.b="), h
    assert h[3].endswith("  header.d=testserver"), h

    # A key that is not published: permerror from the DNS lookup.
    dns_unknown = signed_ed.replace(b"s=" + ED_SEL.encode(), b"s=nokey")
    assert cl.send("x@nospf.example", dns_unknown).startswith("250 2.0.0 ")
    h = header_block(next_delivery(c, 4))
    assert h[2].startswith("\t;dkim=permerror  reason="), h

    # Unsigned: dkim=none.
    assert cl.send("x@nospf.example", msg).startswith("250 2.0.0 ")
    h = header_block(next_delivery(c, 5))
    assert h[2] == "\t;dkim=none", h

    # DKIM cannot parse it: no DKIM part, still accepted.
    bad = DKIM_UNPARSEABLE.format(dom="nospf.example", subject="bad")
    assert cl.send("x@nospf.example", bad).startswith("250 2.0.0 ")
    h = header_block(next_delivery(c, 6))
    assert h[0] == "Authentication-Results: testserver"
    assert h[1] == "\t;spf=none (no DNS record found)"
    assert h[2].startswith("Received-SPF: "), h
    cl.close()

    assert c.var("chasquid/smtpIn/dkimVerifyFound") == 4
    assert c.var("chasquid/smtpIn/dkimVerifyValid") == 2
    assert c.var("chasquid/smtpIn/dkimVerifyNotFound") == 1
    assert c.var("chasquid/smtpIn/dkimVerifyErrors") == 1
    assert c.var("chasquid/smtpIn/dkimSigned") == 0


def submit(c, sender, msg, user="user@testserver"):
    """Sends over submission+TLS with AUTH; returns smtplib's refusals."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP_SSL("127.0.0.1", c.submission_tls_port, context=ctx,
                          timeout=20) as s:
        s.login(user, "secret")
        return s.sendmail(sender, ["user@testserver"], crlf(msg))


def test_authenticated_mail_is_signed(chasquid_factory, dns, keys):
    c = make_server(chasquid_factory, dns, keys=keys)
    assert c.var("chasquid/smtpIn/dkimSigned") == 0
    submit(c, "user@testserver", MSG.format(dom="testserver", subject="out"))
    m = next_delivery(c, 1)
    h = header_block(m)
    # No SPF and no verification for authenticated mail; both signatures
    # below Received, the last key's on top.
    text = "\n".join(h)
    assert "Authentication-Results:" not in text
    assert "Received-SPF:" not in text
    assert h[0].startswith("Received: from ")
    sigs = [i for i, x in enumerate(h) if x.startswith("DKIM-Signature:")]
    assert len(sigs) == 2, h
    assert h[sigs[0]] == ("DKIM-Signature: v=1; a=ed25519-sha256; "
                          "c=relaxed/relaxed;")
    assert h[sigs[0] + 1].startswith(f"\td=testserver; s={ED_SEL}; t=")
    assert h[sigs[1]] == "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;"
    assert h[sigs[1] + 1].startswith(f"\td=testserver; s={RSA_SEL}; t=")
    assert c.var("chasquid/smtpIn/dkimSigned") == 1
    assert c.var("chasquid/smtpIn/dkimSignErrors") == 0
    assert c.var("chasquid/smtpIn/spfResultCount") in (None, {})

    # Both verify with dkimpy (the library behind dkimverify), each one.
    recs = records(keys)
    assert dkimpy_verify_each(m, recs, 2) == [True, True]
    assert dkimpy_verify(m, recs)
    # And with Mail::DKIM, keys fetched from the test DNS server (Debian
    # 12's has no ed25519-sha256: that one is "invalid" there).
    res = mail_dkim_verify(m, dns.port)
    assert "pass" in res[1] and res[-1] == "overall pass", res

    # A sender domain without keys: delivered unsigned, not counted.
    submit(c, "user@other.example", MSG.format(dom="other.example",
                                               subject="nokeys"),
           user="user@other.example")
    h = header_block(next_delivery(c, 2))
    assert not any(x.startswith("DKIM-Signature:") for x in h), h
    assert c.var("chasquid/smtpIn/dkimSigned") == 1

    # The signing domain is the MAIL FROM's, not the AUTH user's.
    submit(c, "someone@testserver", MSG.format(dom="testserver",
                                               subject="other-user"),
           user="user@other.example")
    m = next_delivery(c, 3)
    assert dkimpy_verify(m, recs)
    assert c.var("chasquid/smtpIn/dkimSigned") == 2


def test_dkim_sign_error(chasquid_factory, dns, keys):
    c = make_server(chasquid_factory, dns, keys=keys)
    bad = DKIM_UNPARSEABLE.format(dom="testserver", subject="bad")
    with pytest.raises(smtplib.SMTPDataError) as e:
        submit(c, "user@testserver", bad)
    assert e.value.smtp_code == 451
    assert e.value.smtp_error == b"4.3.0 DKIM signing failed"
    assert c.var("chasquid/smtpIn/dkimSignErrors") == 1
    assert c.var("chasquid/smtpIn/dkimSigned") == 0
    # The same message from a domain without keys is not signed: accepted.
    submit(c, "user@other.example", bad, user="user@other.example")
    next_delivery(c, 1)
    assert c.var("chasquid/smtpIn/dkimSignErrors") == 1


def test_swaks_signed_submission(chasquid_factory, dns, keys):
    c = make_server(chasquid_factory, dns, keys=keys)
    r = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{c.submission_port}", "--tls",
         "--auth", "PLAIN", "--auth-user", "user@testserver",
         "--auth-password", "secret", "--from", "user@testserver",
         "--to", "user@testserver", "--header", "Subject: swaks"],
        capture_output=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    m = next_delivery(c, 1)
    assert dkimpy_verify(m, records(keys))
    assert c.var("chasquid/smtpIn/dkimSigned") == 1


@pytest.mark.parametrize("content,error", [
    ("not a key\n", "error decoding PEM block"),
    ("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
     "unsupported block type: RSA PRIVATE KEY"),
])
def test_bad_key_is_fatal_at_startup(chasquid_factory, content, error):
    c = chasquid_factory("a", hostname="testserver", domains=("testserver",))
    (c.config_dir / "domains" / "testserver" / "dkim:bad.pem").write_text(
        content)
    rc, out = c.run_to_exit()
    assert rc != 0
    assert f"  testserver: DKIM loading error: {error}" in out, out


def test_spf_ptr_through_our_resolver(chasquid_factory, dns, tmp_path):
    """The ptr mechanism and %{p} use the daemon's c-ares PTR lookups."""
    stored = tmp_path / "stored"
    stored.mkdir()
    dns.load("ptr.example TXT v=spf1 ptr -all\n"
             "mx.ptr.example A 127.0.0.1\n"
             "far.example TXT v=spf1 ptr:elsewhere.example -all\n")
    dns.add("127.0.0.1", "PTR", "mx.ptr.example")
    c = make_server(chasquid_factory, dns, hook_dir=stored)
    cl = Client(c.smtp_port)
    assert cl.do("EHLO client.example").startswith("250")
    # 127.0.0.1 -> mx.ptr.example -> 127.0.0.1: a validated name under
    # ptr.example, so "ptr" matches.
    r = cl.send("x@ptr.example", MSG.format(dom="ptr.example", subject="p1"))
    assert r.startswith("250 2.0.0 "), r
    h = header_block(next_delivery(c, 1))
    assert "Received-SPF: pass (matched ptr)" in h, h
    # The validated name is not under elsewhere.example: -all.
    assert cl.do("MAIL FROM:<x@far.example>") == \
        "550 5.7.23 SPF check failed: matched all"
    cl.close()
    assert c.var("chasquid/smtpIn/spfResultCount", "pass") == 1
    assert c.var("chasquid/smtpIn/spfResultCount", "fail") == 1
