"""SPF and DKIM inside the SMTP server, end to end, with the test DNS
server: SPF decides at MAIL FROM and writes Received-SPF, unauthenticated
mail is DKIM-verified into Authentication-Results, authenticated mail is
signed (and the signature verifies with dkimpy), and the counters move."""

import smtplib
import socket
import ssl
import stat

import pytest

from dkimutil import crlf, dkimpy_verify, keygen, sign
from dnsserver import DNSServer

MSG = ("From: Alice <alice@{dom}>\n"
       "To: user@testserver\n"
       "Subject: {subject}\n"
       "Message-ID: <{subject}@{dom}>\n"
       "\n"
       "Hello.\n")


class Client:
    """A minimal line client: exact replies, no smtplib retries."""

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
        assert self.do("DATA").startswith("354")
        body = msg_bytes.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        body = body.replace(b"\r\n.", b"\r\n..")
        self.sock.sendall(body + b".\r\n")
        return self.reply()

    def close(self):
        self.sock.close()


@pytest.fixture
def server(chasquid_factory, tmp_path):
    with DNSServer() as dns:
        c = chasquid_factory("a", hostname="testserver",
                             domains=("testserver",))
        c.add_user("user", "testserver", "secret")
        txt = keygen(c.config_dir, "testserver", "s1", "ed25519")
        dns.add("s1._domainkey.testserver", "TXT", txt)
        dns.add("pass.example", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
        dns.add("fail.example", "TXT", "v=spf1 -all")
        dns.add("soft.example", "TXT", "v=spf1 ~all")
        # The post-data hook keeps each message as the server built it.
        out = tmp_path / "msgs"
        out.mkdir()
        hooks = c.config_dir / "hooks"
        hooks.mkdir()
        hook = hooks / "post-data"
        hook.write_text(f"#!/bin/sh\ncat > {out}/$(date +%s%N).eml\n")
        hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
        c.start(f"--testing__dns_addr={dns.addr}")
        c.msgs = out
        c.dns_txt = {"s1._domainkey.testserver": txt}
        yield c


def last_message(c):
    files = sorted(c.msgs.iterdir())
    assert files, "no message reached the post-data hook"
    return files[-1].read_bytes()


def test_spf_and_dkim_verify(server):
    c = server
    cl = Client(c.smtp_port)
    assert cl.do("EHLO client").startswith("250")

    assert cl.do("MAIL FROM:<x@fail.example>") == \
        "550 5.7.23 SPF check failed: matched all"
    assert c.var("chasquid/smtpIn/spfResultCount", "fail") == 1

    # SPF pass, DKIM-signed by testserver's own key: dkim=pass.
    assert cl.do("MAIL FROM:<x@pass.example>").startswith("250")
    assert cl.do("RCPT TO:<user@testserver>").startswith("250")
    signed = sign(c.config_dir,
                  MSG.format(dom="testserver", subject="signed"),
                  "testserver", "s1")
    assert cl.data(signed).startswith("250")
    m = last_message(c).decode()
    lines = m.split("\n")
    assert lines[0] == "Authentication-Results: testserver"
    assert lines[1] == "\t;spf=pass (matched ip)"
    assert lines[2].startswith("\t;dkim=pass  header.b=")
    assert lines[2].endswith("  header.d=testserver")
    assert lines[3] == "Received-SPF: pass (matched ip)"
    assert lines[4].startswith("Received: from ")

    # Unsigned, softfail SPF: dkim=none.
    assert cl.do("MAIL FROM:<x@soft.example>").startswith("250")
    assert cl.do("RCPT TO:<user@testserver>").startswith("250")
    assert cl.data(crlf(MSG.format(dom="soft.example",
                                   subject="plain"))).startswith("250")
    m = last_message(c).decode()
    assert m.startswith("Authentication-Results: testserver\n"
                        "\t;spf=softfail (matched all)\n"
                        "\t;dkim=none\n"
                        "Received-SPF: softfail (matched all)\n")

    # A signed message changed in transit: dkim=fail, still accepted.
    assert cl.do("MAIL FROM:<x@nospf.example>").startswith("250")
    assert cl.do("RCPT TO:<user@testserver>").startswith("250")
    assert cl.data(signed.replace(b"Hello.", b"Bye.")).startswith("250")
    m = last_message(c).decode()
    assert ("\t;spf=none (no DNS record found)\n"
            "\t;dkim=fail  reason=\"body hash mismatch (got ") in m
    assert "Received-SPF: none (no DNS record found)\n" in m
    cl.do("QUIT")
    cl.close()

    assert c.var("chasquid/smtpIn/spfResultCount", "pass") == 1
    assert c.var("chasquid/smtpIn/spfResultCount", "softfail") == 1
    assert c.var("chasquid/smtpIn/spfResultCount", "none") == 1
    assert c.var("chasquid/smtpIn/dkimVerifyFound") == 2
    assert c.var("chasquid/smtpIn/dkimVerifyNotFound") == 1
    assert c.var("chasquid/smtpIn/dkimVerifyValid") == 1
    assert c.var("chasquid/smtpIn/dkimVerifyErrors") == 0
    assert c.var("chasquid/smtpIn/dkimSigned") == 0


def test_authenticated_mail_is_signed(server):
    c = server
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP_SSL("127.0.0.1", c.submission_tls_port, context=ctx,
                          timeout=20) as s:
        s.login("user@testserver", "secret")
        s.sendmail("user@testserver", ["user@testserver"],
                   crlf(MSG.format(dom="testserver", subject="out")))
    m = last_message(c)
    text = m.decode()
    # No SPF for authenticated sessions, no verification: no
    # Authentication-Results; the signature sits below Received.
    assert "Authentication-Results:" not in text
    assert "Received-SPF:" not in text
    assert text.index("Received: ") < text.index("DKIM-Signature: v=1; "
                                                 "a=ed25519-sha256; ")
    assert "\n\td=testserver; s=s1; t=" in text
    # The signature verifies with another implementation.
    assert dkimpy_verify(crlf(m), c.dns_txt)
    assert c.var("chasquid/smtpIn/dkimSigned") == 1
    assert c.var("chasquid/smtpIn/dkimSignErrors") == 0
    assert c.var("chasquid/smtpIn/spfResultCount") in (None, {})
