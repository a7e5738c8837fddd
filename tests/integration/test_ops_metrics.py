"""Our operations variables move when their events happen, seen through
/debug/vars and /metrics of the real daemon: AUTH results by mechanism,
incoming TLS versions, delivery results (permanent failure, given up) and
DSNs that could not be queued."""

import smtplib
import ssl
import time

from dnssecutil import free_loopback_ip_udp53
from queueutil import mda_env, setup_mda, wait_for, write_item


def tls_client(c):
    s = smtplib.SMTP("127.0.0.1", c.submission_port, timeout=30)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    return s


def test_auth_attempts_by_mechanism_and_result(chasquid_factory):
    c = chasquid_factory()
    c.add_user("user", "testserver", "secret")
    c.start(wait_port=c.submission_port)
    s = tls_client(c)
    s.ehlo("client.example")
    # LOGIN with a wrong password, twice (a third error would close the
    # connection); then PLAIN, right.
    s.user, s.password = "user@testserver", "wrong"
    for _ in range(2):
        code, _ = _try(s, "LOGIN")
        assert code == 535
    s.user, s.password = "user@testserver", "secret"
    code, _ = _try(s, "PLAIN")
    assert code == 235
    s.quit()
    # An unknown mechanism, on a new connection.
    s = tls_client(c)
    s.ehlo("client.example")
    code, _ = s.docmd("AUTH", "CRAM-MD5")
    assert code == 534
    s.quit()

    assert c.var("chasquid/smtpIn/authAttempts", "LOGIN") == 2
    assert c.var("chasquid/smtpIn/authFailure", "LOGIN") == 2
    assert c.var("chasquid/smtpIn/authAttempts", "PLAIN") == 1
    assert c.var("chasquid/smtpIn/authSuccess", "PLAIN") == 1
    assert c.var("chasquid/smtpIn/authError", "other") == 1
    assert c.var("chasquid/smtpIn/authSuccess") == {"PLAIN": 1}
    assert c.var("chasquid/smtpIn/tlsVersions", "TLSv1.3") == 2
    metrics = c.get("/metrics")[2].decode()
    assert 'chasquid_smtpIn_authFailure{mechanism="LOGIN"} 2' in metrics
    assert 'chasquid_smtpIn_tlsVersions{version="TLSv1.3"} 2' in metrics


def _try(s, mech):
    try:
        return s.auth(mech, getattr(s, "auth_" + mech.lower()),
                      initial_response_ok=(mech == "PLAIN"))
    except smtplib.SMTPAuthenticationError as e:
        return e.smtp_code, e.smtp_error


def test_permanent_failure_counted(chasquid_factory):
    c = chasquid_factory()
    maildir = setup_mda(c)
    write_item(c, "perm", "sender@testserver",
               [("failuser@testserver", "EMAIL", "failuser@testserver")],
               "Subject: x\r\n\r\nx\r\n")
    c.start(env=mda_env(maildir))
    wait_for(lambda: c.var("chasquid/queue/deliveriesPermanentFailed",
                           "email:local") == 1, timeout=30,
             what="the permanent failure")
    # The DSN back to the local sender is delivered: a success.
    wait_for(lambda: c.var("chasquid/queue/deliveriesSent",
                           "email:local") == 1, timeout=30, what="the DSN")
    assert c.var("chasquid/queue/dsnQueued") == 1
    assert c.var("chasquid/queue/deliveriesTransientFailed") == {}
    wait_for(lambda: c.var("chasquid/queue/sizeBytes") == 0, timeout=30,
             what="an empty queue")
    assert c.var("chasquid/queue/oldestItemTimestamp") == 0


def test_given_up_and_dsn_failed(chasquid_factory):
    # An item older than give_up_send_after is given up at once; the queue
    # holds only it (max_queue_items: 1), so its DSN cannot be queued.
    c = chasquid_factory(extra_conf='give_up_send_after: "1h"\n'
                                    'max_queue_items: 1\n')
    write_item(c, "old", "sender@testserver",
               [("rcpt@remote.example", "EMAIL", "rcpt@remote.example")],
               "Subject: x\r\n\r\nx\r\n", created=int(time.time()) - 7200)
    # The system resolver's path: /etc/resolv.conf names a loopback
    # address where nothing listens (conftest's system_dns).
    c.start(system_dns=free_loopback_ip_udp53())
    wait_for(lambda: c.var("chasquid/queue/deliveriesGivenUp",
                           "email:remote") == 1, timeout=30, what="give-up")
    wait_for(lambda: c.var("chasquid/queue/dsnErrors") == 1, timeout=30,
             what="the failed DSN")
    assert c.var("chasquid/queue/dsnQueued") == 0
    assert c.var("chasquid/queue/deliverAttempts") == {}


def test_local_rpc_calls_by_method(chasquid_factory):
    import socket
    import subprocess
    from conftest import binary
    c = chasquid_factory().start()
    sock_path = c.data_dir / "localrpc-v1"
    wait_for(lambda: sock_path.exists(), what="the local RPC socket")

    def util(*args):
        return subprocess.run([binary("chasquid-util"), "-C=.", *args],
                              capture_output=True, text=True, timeout=30,
                              cwd=c.config_dir)

    r = util("aliases-resolve", "someone@testserver")
    assert r.returncode == 0, r.stdout + r.stderr
    # A domain with no entry: the method's error reaches the tool.
    r = util("domaininfo-remove", "example.com")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "does not exist" in r.stderr
    # A method the server does not have, straight over the socket.
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(str(sock_path))
        s.sendall(b"DropTables \n")
        assert s.makefile("rb").readline() == b"500 unknown method\r\n"

    assert c.var("chasquid/localrpc/calls") == {"AliasResolve:ok": 1,
                                                "DomaininfoClear:error": 1,
                                                "unknown:error": 1}
