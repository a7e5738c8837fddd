"""Sender authorization (authorize_sender, authorize_header_from) against
the real daemon, with msmtp and swaks: a user sends as itself, as its
alias, with drop characters and a suffix, and as someone else.

The local MDA is /bin/true: an accepted message is queued and delivered,
a refused one never gets past MAIL FROM (or DATA, for the header).
"""

import subprocess

import pytest

from conftest import wait_for

PASSWORD = "sender-secret"
REFUSED_MAIL = ("550 5.7.1 Sender address not authorized for the "
                "authenticated user (authorize_sender)")
REFUSED_HEADER = ("550 5.7.1 From header not authorized for the "
                  "authenticated user (authorize_header_from)")


def make(chasquid_factory, extra=""):
    c = chasquid_factory(extra_conf=(
        'mail_delivery_agent_bin: "/bin/true"\n' + extra))
    c.add_user("user", "testserver", PASSWORD)
    c.add_user("other", "testserver", "other-secret")
    (c.config_dir / "domains" / "testserver" / "aliases").write_text(
        "team: user, other\n" "postmaster: user\n")
    c.start(wait_port=c.submission_port)
    return c


def msmtp(c, sender, header_from=None):
    msg = (f"From: {header_from or sender}\nTo: user@testserver\n"
           "Subject: msmtp\n\nhello\n")
    return subprocess.run(
        ["msmtp", "--host=127.0.0.1", f"--port={c.submission_port}",
         "--domain=client.example", f"--from={sender}", "--tls=on",
         "--tls-starttls=on", "--tls-certcheck=off", "--auth=plain",
         "--user=user@testserver", f"--passwordeval=echo {PASSWORD}",
         "user@testserver"],
        input=msg, capture_output=True, text=True, timeout=60)


def swaks(c, sender, header_from=None):
    cmd = ["swaks", "--server", f"127.0.0.1:{c.submission_port}", "--tls",
           "--auth", "PLAIN", "--auth-user", "user@testserver",
           "--auth-password", PASSWORD, "--from", sender,
           "--to", "user@testserver", "--header", "Subject: swaks"]
    if header_from:
        cmd += ["--header", f"From: {header_from}"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def delivered(c, n):
    log = c.root / "mail.log"
    return wait_for(lambda: log.read_text().count(" all done") >= n,
                    timeout=30)


ALLOWED = [
    ("user@testserver", "own"),
    ("postmaster@testserver", "alias"),   # An alias of the user alone.
    ("team@testserver", "alias"),         # Resolves to the user and more.
    ("u.ser+news@testserver", "own"),     # Drop characters and suffix.
    ("Post.Master+x@TestServer", "alias"),
]


@pytest.mark.parametrize("client", [msmtp, swaks])
def test_sender_rule(chasquid_factory, client):
    c = make(chasquid_factory, "authorize_sender: true\n")
    for n, (sender, how) in enumerate(ALLOWED, 1):
        before = c.var("chasquid/smtpIn/senderAuthorization", how)
        r = client(c, sender)
        assert r.returncode == 0, (sender, r.stdout, r.stderr)
        assert c.var("chasquid/smtpIn/senderAuthorization",
                     how) == before + 1, sender
        assert delivered(c, n)

    for sender in ("other@testserver", "someone@example.org",
                   "o.ther+x@testserver"):
        r = client(c, sender)
        assert r.returncode != 0, sender
        assert REFUSED_MAIL in r.stdout + r.stderr, (r.stdout, r.stderr)
    assert c.var("chasquid/smtpIn/senderAuthorization", "refused") == 3
    log = (c.root / "mail.log").read_text()
    assert ("rejected from=other@testserver - sender not authorized for "
            "user@testserver (authorize_sender)") in log
    assert log.count(" queued ") == len(ALLOWED)
    assert "rule authorize_sender fired" in c.log()


def test_null_sender_is_allowed(chasquid_factory):
    c = make(chasquid_factory, "authorize_sender: true\n")
    r = swaks(c, "<>")
    assert r.returncode == 0, r.stdout + r.stderr
    assert c.var("chasquid/smtpIn/senderAuthorization", "null") == 1


def test_header_from_rule(chasquid_factory):
    c = make(chasquid_factory,
             "authorize_sender: true\nauthorize_header_from: true\n")
    # The alias in the header is fine; someone else is not, even with the
    # user's own address in the display name.
    r = swaks(c, "user@testserver", header_from="Team <team@testserver>")
    assert r.returncode == 0, r.stdout + r.stderr
    assert c.var("chasquid/smtpIn/senderAuthorization", "headerOk") == 1
    for hdr in ("other@testserver",
                '"user@testserver" <other@testserver>',
                "user@testserver, other@testserver"):
        r = swaks(c, "user@testserver", header_from=hdr)
        assert r.returncode != 0, hdr
        assert REFUSED_HEADER in r.stdout, r.stdout
    r = msmtp(c, "user@testserver", header_from="Other <other@testserver>")
    assert r.returncode != 0
    assert REFUSED_HEADER in r.stderr, r.stderr
    assert c.var("chasquid/smtpIn/senderAuthorization",
                 "headerRefused") == 4
    log = (c.root / "mail.log").read_text()
    assert ("header From not authorized for user@testserver: "
            "other@testserver (authorize_header_from)") in log
    assert log.count(" queued ") == 1


def test_off_by_default(chasquid_factory):
    c = make(chasquid_factory)
    r = swaks(c, "other@testserver", header_from="other@testserver")
    assert r.returncode == 0, r.stdout + r.stderr
    assert delivered(c, 1)
    assert c.var("chasquid/smtpIn/senderAuthorization") == {}
