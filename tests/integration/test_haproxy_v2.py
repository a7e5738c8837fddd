"""PROXY protocol v2, end to end: Debian's HAProxy with `send-proxy-v2` in
front of the real daemon, on loopback. The client connects to HAProxy from
127.0.0.5 (and from ::1 over IPv6, when the host has it); the address
HAProxy reports must reach SPF, the Received header, the post-data hook's
REMOTE_ADDR and the mail log. v1 headers keep working on the same
listener, a LOCAL header (a health check) keeps the connection's own
peer, and malformed headers are refused with their exact error.
"""

import os
import shutil
import smtplib
import struct
import subprocess

import pytest

from conftest import free_port, have_ipv6_loopback, wait_for, wait_for_port
from dnsserver import DNSServer
from smtputil import RawClient

HOOK = """#!/bin/sh
out="$(dirname "$0")/../../seen"
{ echo "REMOTE_ADDR=$REMOTE_ADDR"; echo "---"; cat; } > "$out.tmp"
mv "$out.tmp" "$out"
exit 0
"""
SIG = b"\r\n\r\n\x00\r\nQUIT\n"


@pytest.fixture
def dns():
    with DNSServer() as d:
        d.load("spf.example TXT v=spf1 ip4:127.0.0.5 ip6:::1 -all\n")
        yield d


@pytest.fixture
def server(chasquid_factory, dns):
    c = chasquid_factory(extra_conf=(
        'haproxy_incoming: true\nmail_delivery_agent_bin: "/bin/true"\n'))
    hooks = c.config_dir / "hooks"
    hooks.mkdir()
    (hooks / "post-data").write_text(HOOK)
    os.chmod(hooks / "post-data", 0o755)
    c.add_user("user", "testserver", "pw")
    # SPF for the addresses HAProxy reports, through the system resolver
    # (/etc/resolv.conf names `dns`; conftest's system_dns).
    c.start(wait_port=c.smtp_port, system_dns=dns)
    c.seen = c.root / "seen"
    return c


@pytest.fixture
def haproxy(server, tmp_path):
    assert shutil.which("haproxy"), "haproxy is not installed (scripts/deps)"
    ports = {"v4": free_port()}
    binds = [f"frontend fe4\n  bind 127.0.0.1:{ports['v4']}\n"
             "  default_backend chasquid\n"]
    if have_ipv6_loopback():
        ports["v6"] = free_port()
        binds.append(f"frontend fe6\n  bind [::1]:{ports['v6']}\n"
                     "  default_backend chasquid\n")
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(
        "global\n  maxconn 64\n"
        "defaults\n  mode tcp\n  timeout connect 10s\n"
        "  timeout client 60s\n  timeout server 60s\n"
        + "".join(binds) +
        "backend chasquid\n"
        f"  server s1 127.0.0.1:{server.smtp_port} send-proxy-v2\n")
    log = open(tmp_path / "haproxy.log", "wb")
    p = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=log,
                         stderr=subprocess.STDOUT)
    try:
        wait_for_port(ports["v4"], proc=p)
        yield ports
    finally:
        p.terminate()
        p.wait(timeout=10)
        log.close()


def send_through(port, host, source):
    with smtplib.SMTP(host, port, timeout=30,
                      source_address=(source, 0)) as s:
        s.ehlo("client.example")
        s.sendmail("someone@spf.example", ["user@testserver"],
                   "Subject: via haproxy\r\n\r\nhello\r\n")
        return s.sock.getsockname()[1]


def seen(c):
    assert wait_for(c.seen.exists, timeout=30), "the hook did not run"
    text = c.seen.read_text()
    c.seen.unlink()
    env, _, msg = text.partition("---\n")
    return dict(l.split("=", 1) for l in env.splitlines()), msg


def test_client_address_through_haproxy_v2(server, haproxy):
    port = send_through(haproxy["v4"], "127.0.0.1", "127.0.0.5")
    env, msg = seen(server)
    assert env["REMOTE_ADDR"] == f"127.0.0.5:{port}"
    assert "Received: from client.example ([127.0.0.5])\n" in msg
    assert "Received-SPF: pass (matched ip)" in msg, msg
    mail_log = (server.root / "mail.log").read_text()
    assert f" from=someone@spf.example queued ip=127.0.0.5:{port} " \
        in mail_log

    if "v6" in haproxy:
        port = send_through(haproxy["v6"], "::1", "::1")
        env, msg = seen(server)
        assert env["REMOTE_ADDR"] == f"[::1]:{port}"
        assert "Received: from client.example ([IPv6:::1])\n" in msg, msg
        assert "Received-SPF: pass (matched ip)" in msg, msg


def test_v1_still_accepted_and_local_keeps_peer(server):
    r = RawClient(server.smtp_port)
    r.send("PROXY TCP4 192.0.2.9 198.51.100.1 5555 25\r\n")
    assert r.reply() == ["220 testserver ESMTP chasquid"]
    r.do("EHLO x")
    r.do("MAIL FROM:<a@b>")
    assert r.do("RCPT TO:<x@far.example>") == "503 5.7.1 Relay not allowed"
    r.close()

    # LOCAL, with a TLV, and the EHLO in the same packet.
    r = RawClient(server.smtp_port)
    tlv = b"\x04\x00\x02xx"
    r.send(SIG + bytes([0x20, 0x00]) + struct.pack(">H", len(tlv)) + tlv
           + b"EHLO x\r\nMAIL FROM:<c@d>\r\nRCPT TO:<x@far.example>\r\n")
    assert r.reply() == ["220 testserver ESMTP chasquid"]
    assert r.reply()[0].startswith("250-testserver")
    r.reply()
    assert r.reply() == ["503 5.7.1 Relay not allowed"]
    local_port = r.sock.getsockname()[1]
    r.close()
    log = server.root / "mail.log"
    assert wait_for(lambda: "192.0.2.9:5555 rejected from=a@b" in
                    log.read_text())
    assert wait_for(lambda: f"127.0.0.1:{local_port} rejected from=c@d" in
                    log.read_text())


@pytest.mark.parametrize("header,error", [
    (SIG + bytes([0x21, 0x11]) + struct.pack(">H", 4096), "v2 header too long"),
    (SIG + bytes([0x31, 0x11, 0, 12]) + bytes(12), "invalid v2 version"),
    (SIG + bytes([0x21, 0x12, 0, 12]) + bytes(12), "unsupported v2 protocol"),
    (SIG + bytes([0x21, 0x00, 0, 0]), "unsupported v2 address family"),
    (SIG + bytes([0x21, 0x11, 0, 15]) + bytes(12) + b"\x05\x00\x09",
     "truncated v2 TLV"),
])
def test_malformed_v2_headers(server, header, error):
    r = RawClient(server.smtp_port)
    r.send(header)
    assert r.reply() == []  # Closed without a greeting.
    assert wait_for(lambda: f"error in haproxy handshake: {error}"
                    in server.log())
