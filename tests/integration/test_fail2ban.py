"""The fail2ban filter (dist/fail2ban) against a mail log the daemon wrote.

The real daemon gets failed AUTHs and relay attempts from smtplib, over
IPv4 and IPv6, plus one good session (a successful AUTH and a delivered
message); then Debian's fail2ban-regex runs our filter on the mail log:
every failure matches, with the client's address, and nothing of the good
session does.
"""

import pathlib
import shutil
import smtplib
import socket
import subprocess

import pytest

from conftest import free_port, have_ipv6_loopback, wait_for
from smtputil import insecure_ctx

REPO = pathlib.Path(__file__).resolve().parents[2]
FILTER = REPO / "dist" / "fail2ban" / "filter.d" / "chasquid.conf"
PASSWORD = "secret-pass"


def fail2ban_regex(tmp_path, log, out):
    # fail2ban resolves the filter's [INCLUDES] next to it: a filter.d with
    # ours and Debian's common.conf.
    d = tmp_path / "fail2ban" / "filter.d"
    d.mkdir(parents=True)
    shutil.copy(FILTER, d / "chasquid.conf")
    (d / "common.conf").symlink_to("/etc/fail2ban/filter.d/common.conf")
    r = subprocess.run(["fail2ban-regex", "--out", out, str(log),
                        str(d / "chasquid.conf")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.splitlines()


def failed_auth(host, port, user):
    with smtplib.SMTP(host, port, timeout=10) as s:
        s.starttls(context=insecure_ctx())
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login(user, "wrong")
        assert e.value.smtp_code == 535


def relay_attempt(host, port):
    with smtplib.SMTP(host, port, timeout=10) as s:
        s.ehlo("client")
        assert s.mail("someone@example.org")[0] == 250
        assert s.rcpt("x@far.example") == (503, b"5.7.1 Relay not allowed")


def test_filter_matches_failures_not_successes(chasquid_factory, tmp_path):
    ipv6 = have_ipv6_loopback()
    extra = 'mail_delivery_agent_bin: "/bin/true"\n'
    v6_port = free_port() if ipv6 else None
    if ipv6:
        extra += f'smtp_address: "[::1]:{v6_port}"\n'
    c = chasquid_factory(extra_conf=extra)
    c.add_user("user", "testserver", PASSWORD)
    c.start(wait_port=c.submission_port)
    mail_log = c.root / "mail.log"

    for _ in range(3):
        failed_auth("127.0.0.1", c.submission_port, "user@testserver")
    failed_auth("127.0.0.1", c.submission_port, "nobody@testserver")
    relay_attempt("127.0.0.1", c.smtp_port)
    if ipv6:
        relay_attempt("::1", v6_port)

    # The good session: authenticates and sends a message, delivered by
    # the MDA (the mail log then has auth, queued and sent lines).
    with smtplib.SMTP("127.0.0.1", c.submission_port, timeout=10) as s:
        s.starttls(context=insecure_ctx())
        s.login("user@testserver", PASSWORD)
        s.sendmail("user@testserver", ["user@testserver"],
                   "Subject: hi\r\n\r\nhello\r\n")
    # Both lines, in either order: the queue starts delivering before the
    # session logs "queued", and a fast MDA can finish first. A deadline,
    # not a delay: a loaded machine may take a while.
    assert wait_for(lambda: " all done" in mail_log.read_text() and
                    " queued " in mail_log.read_text(), timeout=60), \
        mail_log.read_text()

    lines = mail_log.read_text().splitlines()
    # smtplib tries PLAIN and then LOGIN: each failed login logs two lines.
    auth_failed = [l for l in lines if " auth failed for " in l]
    relay = [l for l in lines if l.endswith(" - relay not allowed")]
    good = [l for l in lines if " auth succeeded for " in l
            or " queued " in l or l.endswith((" sent", " all done"))]
    assert len(auth_failed) >= 4, lines
    assert len(relay) == (2 if ipv6 else 1), lines
    assert len(good) == 4, lines

    matched = fail2ban_regex(tmp_path, mail_log, "msg")
    assert sorted(matched) == sorted(auth_failed + relay)
    assert not set(matched) & set(good)
    ips = fail2ban_regex(tmp_path / "again", mail_log, "ip")
    assert ips.count("127.0.0.1") == len(auth_failed) + 1
    assert ips.count("::1") == (1 if ipv6 else 0)
    assert len(ips) == len(matched)


def test_filter_matches_auth_throttle_refusals(chasquid_factory, tmp_path):
    """The AUTH throttle's refusals ("auth refused for ...") match too,
    with the refused client's address."""
    c = chasquid_factory(extra_conf=(
        "auth_throttle: { ip_failures: 2 delay_after: 100 }\n"))
    c.add_user("user", "testserver", PASSWORD)
    c.start(wait_port=c.submission_port)
    mail_log = c.root / "mail.log"
    for attempt in range(3):
        with smtplib.SMTP("127.0.0.1", c.submission_port, timeout=10,
                          source_address=("127.0.0.2", 0)) as s:
            s.starttls(context=insecure_ctx())
            code = s.docmd("AUTH", "PLAIN AHVzZXJAdGVzdHNlcnZlcgB3cm9uZw==")[0]
            assert code == (535 if attempt < 2 else 454)
    assert wait_for(lambda: " auth refused for " in mail_log.read_text())

    lines = mail_log.read_text().splitlines()
    refused = [l for l in lines if " auth refused for " in l]
    assert len(refused) == 1 and refused[0].endswith(
        " auth refused for user@testserver - too many failures from this "
        "client"), lines
    matched = fail2ban_regex(tmp_path, mail_log, "msg")
    assert refused[0] in matched
    assert len(matched) == 3, matched  # Two failures and the refusal.
    ips = fail2ban_regex(tmp_path / "again", mail_log, "ip")
    assert ips == ["127.0.0.2"] * 3


def test_filter_matches_connection_limit_refusals(chasquid_factory,
                                                  tmp_path):
    """A client refused by the per-client connection limits is banned
    too: its refusals match, with its address."""
    c = chasquid_factory(extra_conf="max_connections_per_client: 1\n")
    c.start(wait_port=c.smtp_port)
    mail_log = c.root / "mail.log"
    held = socket.create_connection(("127.0.0.1", c.smtp_port), timeout=10,
                                    source_address=("127.0.0.2", 0))
    assert held.makefile("rb").readline().startswith(b"220 ")
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", c.smtp_port), timeout=10,
                                      source_address=("127.0.0.2", 0)) as s:
            assert s.makefile("rb").readline().startswith(b"421 4.7.0 ")
    assert wait_for(lambda: mail_log.read_text().count(
        "(connectionsPerClient)") == 2)
    held.close()

    lines = mail_log.read_text().splitlines()
    refused = [l for l in lines if l.endswith("(connectionsPerClient)")]
    matched = fail2ban_regex(tmp_path, mail_log, "msg")
    assert sorted(matched) == sorted(refused), (matched, lines)
    ips = fail2ban_regex(tmp_path / "again", mail_log, "ip")
    assert ips == ["127.0.0.2"] * 2
