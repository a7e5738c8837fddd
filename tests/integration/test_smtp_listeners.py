"""Listeners: systemd socket activation (systemd-socket-activate), IPv6,
HAProxy PROXY v1, and chasquid's start-up errors for bad listeners."""

import os
import socket
import subprocess

import pytest

from conftest import binary, free_port, wait_for
from smtputil import RawClient


def fatal_tail(c):
    rc, out = c.run_to_exit()
    assert rc == 1, out
    return out


def test_no_address_to_listen_on(chasquid_factory):
    c = chasquid_factory()
    conf = (c.config_dir / "chasquid.conf").read_text().splitlines()
    conf = [l for l in conf if "_address:" not in l or "monitoring" in l]
    c.write_conf("\n".join(conf) + "\n")
    out = fatal_tail(c)
    assert "Warning: No SMTP addresses/listeners" in out
    assert "If using systemd, check that you named the sockets" in out
    assert "No address to listen on" in out.strip().splitlines()[-1]


def test_empty_address_is_fatal(chasquid_factory):
    c = chasquid_factory()
    text = (c.config_dir / "chasquid.conf").read_text()
    c.write_conf(text + 'submission_address: ""\n')
    out = fatal_tail(c)
    assert "Invalid empty listening address for submission" in out
    assert "If you want to disable submission, remove it from the config" \
        in out.strip().splitlines()[-1]


def test_listen_error(chasquid_factory):
    c = chasquid_factory()
    busy = socket.socket()
    busy.bind(("127.0.0.1", c.smtp_port))
    busy.listen()
    out = fatal_tail(c)
    busy.close()
    assert "Error listening: listen tcp 127.0.0.1:" in out
    assert "address already in use" in out


def test_ipv6_and_all_interfaces(chasquid_factory):
    c = chasquid_factory()
    port6 = free_port()
    text = (c.config_dir / "chasquid.conf").read_text()
    c.write_conf(text + f'smtp_address: "[::1]:{port6}"\n')
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 loopback")
    c.start(wait_port=c.submission_tls_port)
    s = socket.create_connection(("::1", port6), timeout=10)
    assert s.recv(100).startswith(b"220 testserver ESMTP chasquid")
    s.close()
    assert f"Server listening on [::1]:{port6} (SMTP)" in c.log()


def test_systemd_socket_activation(chasquid_factory):
    c = chasquid_factory()
    text = (c.config_dir / "chasquid.conf").read_text()
    text = "\n".join(l for l in text.splitlines()
                     if "smtp_address" not in l and
                     "submission_address" not in l)
    c.write_conf(text + '\nsmtp_address: "systemd"\n'
                 'submission_address: "systemd"\n')
    p1, p2 = free_port(), free_port()
    cmd = ["systemd-socket-activate", "-l", f"127.0.0.1:{p1}",
           "-l", f"127.0.0.1:{p2}", "--fdname=smtp:submission",
           binary("chasquid"), f"--config_dir={c.config_dir}", "-v=1"]
    log = open(c.log_path, "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        # systemd-socket-activate binds, then starts the daemon on the first
        # connection.
        clients = []

        def connect():
            try:
                clients.append(RawClient(p1))
                return True
            except OSError:
                return False
        assert wait_for(connect)
        r = clients[0]
        assert r.reply() == ["220 testserver ESMTP chasquid"]
        r.close()
        r = RawClient(p2)
        assert r.reply() == ["220 testserver ESMTP chasquid"]
        assert r.do("MAIL FROM:<a@b>") == \
            "550 5.7.9 Mail to submission port must be authenticated"
        text = c.log()
        assert f"Server listening on 127.0.0.1:{p1} (SMTP, via systemd)" \
            in text
        assert (f"Server listening on 127.0.0.1:{p2} (submission, via "
                "systemd)") in text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def test_systemd_bad_fdnames(chasquid_factory):
    c = chasquid_factory()
    env = dict(os.environ, LISTEN_FDS="2", LISTEN_FDNAMES="smtp")
    # LISTEN_PID must be the daemon's own pid: exec through sh.
    cmd = ["sh", "-c", f'LISTEN_PID=$$ exec {binary("chasquid")} '
                       f'--config_dir={c.config_dir}']
    r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 1
    assert ("Error getting systemd listeners: Incorrect LISTEN_FDNAMES, "
            "have you set FileDescriptorName?") in r.stderr
    env["LISTEN_PID"] = "1"
    r = subprocess.run([binary("chasquid"), f"--config_dir={c.config_dir}"],
                       env=env, capture_output=True, text=True, timeout=20)
    assert "Error getting systemd listeners: $LISTEN_PID != our PID" \
        in r.stderr


def test_haproxy(chasquid_factory):
    c = chasquid_factory(extra_conf="haproxy_incoming: true\n")
    c.start(wait_port=c.submission_tls_port)
    r = RawClient(c.smtp_port)
    r.send("PROXY TCP4 192.0.2.9 198.51.100.1 5555 25\r\n")
    assert r.reply() == ["220 testserver ESMTP chasquid"]
    r.do("EHLO x")
    r.do("MAIL FROM:<a@b>")
    assert r.do("RCPT TO:<x@far.example>") == "503 5.7.1 Relay not allowed"
    assert wait_for(lambda: "192.0.2.9:5555 rejected from=a@b" in
                    (c.root / "mail.log").read_text())
    bad = RawClient(c.smtp_port)
    bad.send("PROXY UNKNOWN\r\n")
    assert bad.reply() == []
    assert wait_for(lambda: "error in haproxy handshake: unknown protocol"
                    in c.log())
