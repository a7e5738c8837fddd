"""Error replies of remote servers are shown as chasquid 1.18 shows them:
the code, then the reply text Go-quoted (`550 "5.7.23 SPF check failed:
matched all"`), in DSNs, the mail log, traces and smtp-check. (mda-lmtp's
form is checked in test_mda_lmtp.py.)"""

import socket
import subprocess
import threading

from conftest import binary, wait_for_port
from remoteutil import CA, env_with_ca, mail_log, make_daemon, submit, \
    wait_sent, wait_for

SPF_REPLY = 'MAIL+RCPT 550 "5.7.23 SPF check failed: matched all"'


def test_dsn_for_spf_rejected_recipient(chasquid_factory, tmp_path, dns):
    """srv-b refuses mail from a.test (its SPF record allows no host): the
    sender gets a DSN quoting srv-b's reply."""
    ca = CA(tmp_path / "ca")
    mbox_a, mbox_b = tmp_path / "mbox-a", tmp_path / "mbox-b"
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",), mbox_a)
    b = make_daemon(chasquid_factory, ca, "srv-b", ("b.test",), mbox_b)
    a.add_user("alice", "a.test", "pass-a")
    b.add_user("bob", "b.test", "pass-b")
    dns.add("a.test", "MX", "10 srv-a")
    dns.add("b.test", "MX", "10 srv-b")
    dns.add("srv-a", "A", "127.0.0.1")
    dns.add("srv-b", "A", "127.0.0.1")
    dns.add("a.test", "TXT", "v=spf1 -all")
    env = env_with_ca(ca)
    a.start(f"--testing__dns_addr={dns.addr}",
            f"--testing__outgoing_smtp_port={b.smtp_port}", env=env)
    # srv-b's SPF check through the system resolver (/etc/resolv.conf
    # names `dns`; conftest's system_dns).
    b.start(env=env, system_dns=dns)
    wait_for_port(a.submission_port)
    wait_for_port(b.smtp_port)

    submit(a, "alice@a.test", "pass-a", "alice@a.test", "bob@b.test",
           "spf body")
    wait_sent(a, "alice@a.test")  # The DSN, delivered locally.
    dsn = (mbox_a / "alice@a.test").read_text()
    assert ('Technical details:\n'
            '- "bob@b.test" (EMAIL) failed permanently with error:\n'
            f'    {SPF_REPLY}\n') in dsn, dsn
    assert f"Diagnostic-Code: smtp; {SPF_REPLY}\n" in dsn, dsn
    assert "X-Failed-Recipients: bob@b.test, " in dsn
    assert "spf body" in dsn.split("message/rfc822", 1)[1]
    assert a.var("chasquid/queue/dsnQueued") == 1
    assert b.var("chasquid/smtpIn/spfResultCount", "fail") == 1

    # The mail log, as is; the trace's log line, Go-quoted once more
    # without its outer quotes.
    assert f"to=bob@b.test failed (permanent): {SPF_REPLY}" in mail_log(a)
    wait_for(lambda: 'srv-b: MAIL+RCPT 550 \\"5.7.23 SPF check failed: '
               'matched all\\"' in a.log(), what="the trace's error line")


def test_smtp_check_quotes_the_greeting(tmp_path, dns):
    """A server that refuses in its greeting: smtp-check ends with the
    reply, its text Go-quoted (here with a tab in it)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    greeted = threading.Event()

    def serve():
        srv.settimeout(20)
        conn, _ = srv.accept()
        conn.sendall(b"554 5.7.0 go\taway\r\n")
        greeted.set()
        conn.recv(100)
        conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    dns.add("example.test", "MX", "10 mx.example.test")
    dns.add("mx.example.test", "A", "127.0.0.1")
    dns.add("example.test", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    r = subprocess.run(
        [binary("smtp-check"), f"--testing__dns_addr={dns.addr}",
         "-port", str(port), "example.test"],
        capture_output=True, text=True, timeout=30)
    srv.close()
    assert greeted.is_set()
    assert r.returncode == 1, r.stderr
    last = r.stderr.rstrip("\n").split("\n")[-1]
    assert last.endswith(' 554 "5.7.0 go\\taway"'), r.stderr
