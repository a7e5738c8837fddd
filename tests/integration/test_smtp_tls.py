"""TLS on the receiving side, checked with openssl s_client: STARTTLS and
implicit TLS, versions (1.0/1.1 refused), SNI certificate choice, no
session tickets."""

import subprocess

from conftest import make_cert


def s_client(port, *args, starttls=True, stdin="QUIT\r\n"):
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
           "-ign_eof", *args]
    if starttls:
        cmd += ["-starttls", "smtp"]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                          timeout=20)


def start(chasquid_factory, **kw):
    c = chasquid_factory(**kw)
    c.start(wait_port=c.submission_tls_port)
    return c


def test_starttls_tls12_and_tls13(chasquid_factory):
    c = start(chasquid_factory)
    r = s_client(c.smtp_port, "-tls1_2")
    assert "Protocol  : TLSv1.2" in r.stdout, r.stdout + r.stderr
    assert "ECDHE" in r.stdout
    assert "221 2.0.0 Be seeing you..." in r.stdout
    r = s_client(c.smtp_port, "-tls1_3")
    assert "TLSv1.3" in r.stdout, r.stdout + r.stderr


def test_old_versions_refused(chasquid_factory):
    c = start(chasquid_factory)
    for flag in ("-tls1", "-tls1_1"):
        # SECLEVEL=0 so that it is the server, not our client, refusing.
        r = s_client(c.smtp_port, flag, "-cipher", "DEFAULT@SECLEVEL=0")
        assert r.returncode != 0
        assert "Cipher is (NONE)" in r.stdout
        assert ("protocol version" in r.stderr or
                "unsupported protocol" in r.stderr or
                "alert" in r.stderr), r.stderr
    assert "STARTTLS failed: 554" in c.log() or \
        "554  5.5.0 Error in TLS handshake" in c.log()


def test_no_session_tickets(chasquid_factory):
    c = start(chasquid_factory)
    r = s_client(c.smtp_port, "-tls1_2")
    assert "Protocol  : TLSv1.2" in r.stdout
    assert "TLS session ticket:" not in r.stdout
    r = s_client(c.smtp_port, "-tls1_3")
    assert "Post-Handshake New Session Ticket" not in r.stdout


def test_implicit_tls_greeting(chasquid_factory):
    c = start(chasquid_factory)
    r = s_client(c.submission_tls_port, "-servername", "testserver",
                 starttls=False)
    assert "220 testserver ESMTP chasquid" in r.stdout, r.stdout + r.stderr


def test_sni_picks_the_certificate_and_hostname(chasquid_factory):
    c = chasquid_factory()
    make_cert(c.config_dir / "certs" / "zz-other", "other.example")
    c.start(wait_port=c.submission_tls_port)
    r = s_client(c.submission_tls_port, "-servername", "other.example",
                 starttls=False, stdin="EHLO x\r\nQUIT\r\n")
    assert "CN = other.example" in r.stdout, r.stdout
    # The SNI name replaces the hostname for the connection.
    assert "220 other.example ESMTP chasquid" in r.stdout
    assert "250-other.example - Your hour of destiny has come." in r.stdout
    r = s_client(c.submission_tls_port, "-servername", "testserver",
                 starttls=False)
    assert "CN = testserver" in r.stdout
    r = s_client(c.submission_tls_port, "-servername", "unknown.example",
                 starttls=False)
    assert "CN = testserver" in r.stdout  # The first one.
