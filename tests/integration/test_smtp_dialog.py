"""The SMTP dialog against the real daemon: exact replies, limits, metrics.

Clients: Python smtplib and a raw socket client (smtputil.RawClient).
"""

import smtplib

from conftest import wait_for
from smtputil import RawClient

EHLO = ("250-testserver - Your hour of destiny has come.\n"
        "250-8BITMIME\n250-PIPELINING\n250-SMTPUTF8\n"
        "250-ENHANCEDSTATUSCODES\n250-SIZE 52428800\n250-STARTTLS\n"
        "250 HELP")


def start(chasquid_factory, **kw):
    c = chasquid_factory(**kw)
    c.start(wait_port=c.smtp_port)
    return c


def test_greeting_and_ehlo_exact(chasquid_factory):
    c = start(chasquid_factory)
    r = RawClient(c.smtp_port)
    assert r.reply() == ["220 testserver ESMTP chasquid"]
    assert r.do("EHLO client") == EHLO
    assert r.do("HELP") == "214 2.0.0 Hoy por ti, mañana por mi"
    assert r.do("QUIT") == "221 2.0.0 Be seeing you..."
    assert r.closed()


def test_smtplib_sees_extensions(chasquid_factory):
    c = start(chasquid_factory)
    with smtplib.SMTP("127.0.0.1", c.submission_port, timeout=10) as s:
        code, _ = s.ehlo("client")
        assert code == 250
        for ext in ("8bitmime", "pipelining", "smtputf8",
                    "enhancedstatuscodes", "size", "starttls", "help"):
            assert s.has_extn(ext), ext
        assert s.esmtp_features["size"] == "52428800"
        assert not s.has_extn("auth")
        s.starttls()
        s.ehlo("client")
        assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        # Submission without AUTH: refused.
        code, msg = s.mail("a@b")
        assert (code, msg) == (550, b"5.7.9 Mail to submission port must "
                                    b"be authenticated")


def test_error_replies_and_counters(chasquid_factory):
    c = start(chasquid_factory)
    cmds = c.var("chasquid/smtpIn/commandCount", "unknown<\"WHATIS\">")
    r421 = c.var("chasquid/smtpIn/responseCodeCount", "421")
    r = RawClient(c.smtp_port)
    r.reply()
    assert r.do("MAIL FROM:<pepe>") == "501 5.1.7 Sender address malformed"
    assert r.do("WHATISTHIS") == "500 5.5.1 Unknown command"
    assert r.do("RCPT TO:<a@b>") == "421 4.5.0 Too many errors, bye"
    assert r.closed()
    assert c.var("chasquid/smtpIn/commandCount",
                 "unknown<\"WHATIS\">") == cmds + 1
    assert c.var("chasquid/smtpIn/responseCodeCount", "421") == r421 + 1
    assert "error: too many errors, breaking connection" in c.log()


def test_relay_refused_and_unknown_user(chasquid_factory):
    c = start(chasquid_factory)
    with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=10) as s:
        s.ehlo("client")
        assert s.mail("someone@example.org")[0] == 250
        assert s.rcpt("x@far.example") == (503, b"5.7.1 Relay not allowed")
    assert wait_for(lambda: "RCPT failed: 503" in c.log())


def test_pipelining_and_long_lines(chasquid_factory):
    c = start(chasquid_factory)
    r = RawClient(c.smtp_port)
    r.reply()
    r.send("NOOP\r\nHELO x\r\nNOOP " + "x" * 995 + "\r\n")
    assert r.reply() == ["250 2.0.0 You hear a faint typing noise."]
    assert r.reply()[0].startswith("250 Hello my friend, welcome to ")
    assert r.reply() == ["250 2.0.0 You hear a faint typing noise."]
    r.send("NOOP " + "x" * 2000 + "\r\n")
    assert r.reply() == ["554 error reading command: line too long"]
    assert r.closed()


def test_http_is_refused(chasquid_factory):
    c = start(chasquid_factory)
    before = c.var("chasquid/smtpIn/wrongProtoCount", "POST")
    r = RawClient(c.smtp_port)
    r.reply()
    assert r.do("POST / HTTP/1.1") == \
        "502 5.7.0 You hear someone cursing shoplifters"
    assert r.closed()
    assert c.var("chasquid/smtpIn/wrongProtoCount", "POST") == before + 1
    assert "http command, closing connection" in c.log()


def test_stalling_client_is_dropped(chasquid_factory):
    c = chasquid_factory()
    c.start("--testing__command_timeout=300ms", wait_port=c.smtp_port)
    r = RawClient(c.smtp_port)
    r.reply()
    r.send("EHLO x\r\n")
    assert r.reply()[-1] == "250 HELP"
    # Then silence: the server gives up after the command timeout.
    assert r.reply() == []
    assert wait_for(lambda: "i/o timeout" in c.log())


def test_connection_limit(chasquid_factory):
    c = chasquid_factory()
    c.start("--testing__max_connections=2", wait_port=c.smtp_port)
    a = RawClient(c.smtp_port)
    assert a.reply() == ["220 testserver ESMTP chasquid"]
    # The start-up probe connection may still be counted for a moment.
    held = []

    def second_served():
        b = RawClient(c.smtp_port)
        held.append(b)
        return b.reply() == ["220 testserver ESMTP chasquid"]
    assert wait_for(second_served)
    # a and the last b are live: the bound (2) is reached.
    x = RawClient(c.smtp_port)
    assert x.reply() == ["421 4.3.2 Too many connections, try again later"]
    assert x.closed()
