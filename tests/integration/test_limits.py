"""Per-client connection limits and the per-user hourly brake, against the
real daemon over loopback, with small limits set in the config. Clients
come from distinct loopback addresses (127.0.0.2, ...) so that each limit
is seen to be per client. Each refusal's reply, mail log line and counter
(chasquid/smtpIn/limitRefusals, by limit name) is checked.
"""

import smtplib
import socket
import struct

from conftest import wait_for
from smtputil import insecure_ctx

PASSWORD = "limits-secret"
SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def connect(c, src, port=None):
    """A raw connection from `src`; returns (socket, first reply line)."""
    s = socket.create_connection(("127.0.0.1", port or c.smtp_port),
                                 timeout=30, source_address=(src, 0))
    f = s.makefile("rb")
    return s, f.readline().decode().rstrip("\r\n")


def refusals(c, limit):
    return c.var("chasquid/smtpIn/limitRefusals", limit)


def test_open_connections_per_client(chasquid_factory):
    c = chasquid_factory(extra_conf=(
        "max_connections_per_client: 3\n"
        "max_new_connections_per_client_minute: 0\n"))
    c.start(wait_port=c.smtp_port)
    held = [connect(c, "127.0.0.2") for _ in range(3)]
    assert [g for _, g in held] == ["220 testserver ESMTP chasquid"] * 3
    s, g = connect(c, "127.0.0.2")
    assert g == ("421 4.7.0 Too many connections from your address, try "
                 "again later")
    assert s.recv(1) == b""  # Closed.
    # Another client is not affected.
    assert connect(c, "127.0.0.3")[1].startswith("220 ")
    # Once one of its connections ends, the client gets a slot again.
    held[0][0].close()
    assert wait_for(lambda: connect(c, "127.0.0.2")[1].startswith("220 "),
                    timeout=30)
    assert c.var("chasquid/smtpIn/limitRefusals",
                 "connectionsPerClient") >= 1
    log = (c.root / "mail.log").read_text()
    assert ("rejected - Too many connections from your address, try again "
            "later (connectionsPerClient)") in log
    assert "limit connectionsPerClient fired" in c.log()


def test_new_connections_per_minute(chasquid_factory):
    c = chasquid_factory(extra_conf=(
        "max_new_connections_per_client_minute: 5\n"))
    c.start(wait_port=c.smtp_port)
    for _ in range(5):
        s, g = connect(c, "127.0.0.4")
        assert g.startswith("220 ")
        s.close()
    s, g = connect(c, "127.0.0.4")
    assert g == ("421 4.7.0 Too many new connections from your address, "
                 "try again later")
    assert connect(c, "127.0.0.5")[1].startswith("220 ")
    assert refusals(c, "newConnectionsPerClientMinute") == 1


def test_limits_see_the_haproxy_client(chasquid_factory):
    c = chasquid_factory(extra_conf=(
        "haproxy_incoming: true\nmax_connections_per_client: 1\n"))
    c.start(wait_port=c.smtp_port)

    def via_proxy(src):
        s = socket.create_connection(("127.0.0.1", c.smtp_port), timeout=30)
        addrs = socket.inet_aton(src) + socket.inet_aton("192.0.2.250")
        s.sendall(SIG + bytes([0x21, 0x11]) + struct.pack(">H", 12) + addrs
                  + struct.pack(">HH", 4000, 25))
        return s, s.makefile("rb").readline().decode().rstrip("\r\n")

    first = via_proxy("192.0.2.1")
    assert first[1].startswith("220 ")
    # Same real client through the proxy: refused; another one: served,
    # although all come from the proxy's one address.
    assert via_proxy("192.0.2.1")[1].startswith("421 4.7.0 Too many "
                                                "connections")
    assert via_proxy("192.0.2.2")[1].startswith("220 ")
    assert wait_for(lambda: "192.0.2.1:4000 rejected - Too many connections"
                    in (c.root / "mail.log").read_text())


def send(c, user, rcpts):
    """One message from `user`; returns the refusal (code, text) or None."""
    with smtplib.SMTP("127.0.0.1", c.submission_port, timeout=30) as s:
        s.starttls(context=insecure_ctx())
        s.login(user, PASSWORD)
        code, text = s.mail(user)
        if code != 250:
            return code, text.decode()
        for r in rcpts:
            code, text = s.rcpt(r)
            if code != 250:
                return code, text.decode()
        code, text = s.data(b"Subject: brake\r\n\r\nhi\r\n")
        assert code == 250, text
        return None


def test_hourly_brake_per_user(chasquid_factory):
    c = chasquid_factory(extra_conf=(
        'mail_delivery_agent_bin: "/bin/true"\n'
        "max_messages_per_user_hour: 2\nmax_recipients_per_user_hour: 5\n"))
    for u in ("user", "bulk", "other"):
        c.add_user(u, "testserver", PASSWORD)
    c.start(wait_port=c.submission_port)

    assert send(c, "user@testserver", ["other@testserver"]) is None
    assert send(c, "user@testserver", ["other@testserver"]) is None
    assert send(c, "user@testserver", ["other@testserver"]) == (
        451, "4.7.1 Too many messages from this user in the last hour, "
        "try again later")
    # Another user is not braked.
    assert send(c, "other@testserver", ["user@testserver"]) is None

    rcpts = [f"user+{i}@testserver" for i in range(4)]
    assert send(c, "bulk@testserver", rcpts) is None
    assert send(c, "bulk@testserver", ["other@testserver", "user@testserver"]
                ) == (452, "4.5.3 Too many recipients from this user in the "
                      "last hour, try again later")

    assert c.var("chasquid/smtpIn/limitRefusals",
                 "messagesPerUserHour") == 1
    assert refusals(c, "recipientsPerUserHour") == 1
    log = (c.root / "mail.log").read_text()
    assert ("rejected - Too many messages from this user in the last hour, "
            "try again later (messagesPerUserHour)") in log
    assert ("(recipientsPerUserHour)") in log
    assert log.count(" queued ") == 4
    assert "limit messagesPerUserHour fired" in c.log()
