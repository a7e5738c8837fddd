"""Real clients (msmtp, swaks, smtplib) through the whole receiving side:
plain SMTP, STARTTLS, submission over TLS, AUTH PLAIN and LOGIN, DATA and
the post-data hook.

The hook records what it saw (environment and message) and then answers
with a permanent error of its own, so these tests prove every step up to
the queue hand-off independently of the queue (tested elsewhere).
"""

import os
import smtplib
import subprocess

import pytest

from conftest import wait_for
from smtputil import RawClient, insecure_ctx

PASSWORD = "secretpassword"

HOOK = """#!/bin/sh
out="$(dirname "$0")/../../seen"
{
  echo "MAIL_FROM=$MAIL_FROM"
  echo "RCPT_TO=$RCPT_TO"
  echo "AUTH_AS=$AUTH_AS"
  echo "ON_TLS=$ON_TLS"
  echo "EHLO_DOMAIN=$EHLO_DOMAIN"
  echo "FROM_LOCAL_DOMAIN=$FROM_LOCAL_DOMAIN"
  echo "REMOTE_ADDR=$REMOTE_ADDR"
  echo "---"
  cat
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "Nos hacemos la permanente"
exit 20
"""


@pytest.fixture
def server(chasquid_factory, dns):
    c = chasquid_factory()
    c.add_user("user", "testserver", PASSWORD)
    hooks = c.config_dir / "hooks"
    hooks.mkdir()
    (hooks / "post-data").write_text(HOOK)
    os.chmod(hooks / "post-data", 0o755)
    # `dns` through the system resolver (/etc/resolv.conf; conftest's
    # system_dns), as a real client's server would find it.
    c.start(wait_port=c.submission_tls_port, system_dns=dns)
    c.seen = c.root / "seen"
    return c


def seen(c):
    assert wait_for(c.seen.exists), "the hook did not run"
    text = c.seen.read_text()
    env, _, msg = text.partition("---\n")
    return dict(l.split("=", 1) for l in env.splitlines()), msg


def msmtp(c, port, *opts, rcpt="user@testserver", sender="user@testserver"):
    msg = "Subject: msmtp test\n\nHello from msmtp.\n.leading dot\n"
    cmd = ["msmtp", "--host=127.0.0.1", f"--port={port}",
           "--domain=client.example", f"--from={sender}",
           "--tls-certcheck=off", *opts, rcpt]
    return subprocess.run(cmd, input=msg, capture_output=True, text=True,
                          timeout=30)


def test_msmtp_plain_smtp(server):
    r = msmtp(server, server.smtp_port, "--tls=off", "--auth=off",
              sender="someone@example.org")
    assert r.returncode != 0
    assert "Nos hacemos la permanente" in r.stderr
    env, msg = seen(server)
    assert env["ON_TLS"] == "0"
    assert env["AUTH_AS"] == ""
    assert env["MAIL_FROM"] == "someone@example.org"
    assert env["EHLO_DOMAIN"] == "client.example"
    assert msg.startswith("Authentication-Results: testserver\n"
                          "\t;spf=none (no DNS record found)\n"
                          "\t;dkim=none\n"
                          "Received-SPF: none (no DNS record found)\n"
                          "Received: from client.example ([127.0.0.1])\n"
                          "\tby testserver (chasquid) with ESMTP\n")
    assert "\n.leading dot\n" in msg


def test_msmtp_starttls_with_auth(server):
    before = server.var("chasquid/smtpIn/hookResults", "post-data:fail")
    r = msmtp(server, server.submission_port, "--tls=on",
              "--tls-starttls=on", "--auth=plain", "--user=user@testserver",
              f"--passwordeval=echo {PASSWORD}", rcpt="far@remote.example")
    assert "Nos hacemos la permanente" in r.stderr, r.stderr
    env, msg = seen(server)
    assert env["AUTH_AS"] == "user@testserver"
    assert env["ON_TLS"] == "1"
    assert env["RCPT_TO"] == "far@remote.example"
    assert env["FROM_LOCAL_DOMAIN"] == "1"
    assert "with ESMTPSA\n\ttls TLS_" in msg
    assert "(over submission, TLS-1.3, envelope from \"user@testserver\")" \
        in msg
    assert server.var("chasquid/smtpIn/hookResults",
                      "post-data:fail") == before + 1
    log = (server.root / "mail.log").read_text()
    assert "auth succeeded for user@testserver" in log
    assert "rejected from=user@testserver to=[far@remote.example] - " \
           "Nos hacemos la permanente" in log


def test_msmtp_submission_over_tls(server):
    r = msmtp(server, server.submission_tls_port, "--tls=on",
              "--tls-starttls=off", "--auth=on", "--user=user@testserver",
              f"--passwordeval=echo {PASSWORD}")
    assert "Nos hacemos la permanente" in r.stderr, r.stderr
    env, msg = seen(server)
    assert env["AUTH_AS"] == "user@testserver"
    assert "(over submission+TLS, TLS-1.3" in msg


def test_msmtp_wrong_password(server):
    r = msmtp(server, server.submission_port, "--tls=on",
              "--tls-starttls=on", "--auth=plain", "--user=user@testserver",
              "--passwordeval=echo wrong")
    assert r.returncode != 0
    assert "535" in r.stderr or "Incorrect user or password" in r.stderr
    assert not server.seen.exists()
    log = (server.root / "mail.log").read_text()
    assert "auth failed for user@testserver" in log


def test_msmtp_submission_requires_auth(server):
    r = msmtp(server, server.submission_port, "--tls=on",
              "--tls-starttls=on", "--auth=off")
    assert r.returncode != 0
    assert "5.7.9" in r.stderr


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks_auth_mechanisms(server, mech):
    r = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{server.submission_port}",
         "--tls", "--auth", mech, "--auth-user", "user@testserver",
         "--auth-password", PASSWORD, "--from", "user@testserver",
         "--to", "user@testserver", "--helo", "swaks.example",
         "--body", "hi from swaks"],
        capture_output=True, text=True, timeout=30)
    assert "235 2.7.0 Authentication successful" in r.stdout, r.stdout
    assert "554 Nos hacemos la permanente" in r.stdout
    env, msg = seen(server)
    assert env["AUTH_AS"] == "user@testserver"
    assert "hi from swaks" in msg


def test_auth_over_plaintext_is_refused(server):
    r = RawClient(server.smtp_port)
    r.reply()
    r.do("EHLO x")
    assert r.do("AUTH PLAIN AHVzZXJAdGVzdHNlcnZlcgBzZWNyZXRwYXNzd29yZA==") \
        == "503 5.7.10 You feel vulnerable"


def test_smtplib_data_and_counters(server):
    cmds = server.var("chasquid/smtpIn/commandCount", "DATA")
    tls = server.var("chasquid/smtpIn/tlsCount", "tls")
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as s:
        s.starttls(context=insecure_ctx())
        s.ehlo("py.example")
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("ñoño@example.org", ["user@testserver"],
                       "Subject: utf8 ñ\r\n\r\nbody\r\n".encode(),
                       mail_options=["SMTPUTF8"])
        assert e.value.smtp_code == 554
        assert e.value.smtp_error == b"Nos hacemos la permanente"
    env, msg = seen(server)
    assert env["MAIL_FROM"] == "ñoño@example.org"
    assert server.var("chasquid/smtpIn/commandCount", "DATA") == cmds + 1
    assert server.var("chasquid/smtpIn/tlsCount", "tls") == tls + 1
    # `dns` answered through resolv.conf (NXDOMAIN: SPF none); a resolver
    # that could not reach it would have given temperror.
    assert server.var("chasquid/smtpIn/spfResultCount") == {"none": 1}
