"""Fault: peers that stall, reset, or send TLS garbage.

Incoming, against the real daemon started without --testing__dns_addr
(its resolver is set up from the system's configuration; the null sender
keeps SPF, and so any query, out of it), while misbehaving clients hold or
break their connections:

  * clients that stall (silent after connecting, half a command, half a
    DATA body) hold nothing but their own connection: a normal client's
    mail goes through meanwhile, and is delivered;
  * clients that reset the connection (RST) mid-dialog and mid-DATA leave
    nothing queued: only the message that got its 250 is delivered;
  * TLS garbage after STARTTLS gets "554 5.5.0 Error in TLS handshake" and
    the connection is closed at once, as is a client that says STARTTLS
    and hangs up (this one used to wait for the command timeout); garbage
    on the implicit-TLS port is closed at once too;
  * each failed handshake is counted (chasquid/smtpIn/responseCodeCount
    554) and the daemon keeps serving.

Outgoing, a fake remote MX that resets the connection, greets with binary
junk, or accepts STARTTLS and then sends no TLS, for its first two
connections: each attempt is a transient failure, the message is retried
and delivered once, and the daemon keeps serving. (A remote MX that
stalls is test_remote_delivery.py::test_stalling_peer_times_out.)
"""

import socket
import struct
import time

from conftest import free_port, wait_for_port
from dnsserver import DNSServer
from queueutil import delivered, mda_env, setup_mda, wait_for
from remoteutil import CA, SMTPPeer, env_with_ca, make_daemon, submit
from smtputil import RawClient


def send_mail(port, subject):
    """One whole message; returns the reply to the DATA body."""
    cl = RawClient(port)
    assert cl.reply()[0].startswith("220")
    assert cl.do("EHLO client").startswith("250")
    assert cl.do("MAIL FROM:<>").startswith("250")
    assert cl.do("RCPT TO:<user@testserver>").startswith("250")
    assert cl.do("DATA").startswith("354")
    reply = cl.do(f"Subject: {subject}\r\n\r\nbody\r\n.")
    cl.do("QUIT")
    cl.close()
    return reply


def reset(cl):
    """Closes with an RST instead of a FIN."""
    cl.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                       struct.pack("ii", 1, 0))
    cl.sock.close()


def read_to_close(cl, seconds):
    """Reads until EOF; returns (how long that took, or None if it did not
    come within `seconds`; what was read)."""
    cl.sock.settimeout(seconds)
    t0 = time.monotonic()
    data = cl.buf
    try:
        while chunk := cl.sock.recv(4096):
            data += chunk
    except socket.timeout:
        return None, data
    except ConnectionResetError:
        pass
    return time.monotonic() - t0, data


def test_stalls_resets_and_tls_garbage(chasquid_factory):
    c = chasquid_factory()
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    c.start(env=mda_env(maildir), wait_port=c.smtp_port)
    code554 = c.var("chasquid/smtpIn/responseCodeCount", "554")

    # 1. Stalls: silent, half a command, half a DATA body.
    stalled = []
    silent = RawClient(c.smtp_port)
    stalled.append(silent)
    half_cmd = RawClient(c.smtp_port)
    assert half_cmd.reply()[0].startswith("220")
    half_cmd.send("EHLO half-a-comm")
    stalled.append(half_cmd)
    half_data = RawClient(c.smtp_port)
    assert half_data.reply()[0].startswith("220")
    half_data.do("EHLO x")
    assert half_data.do("MAIL FROM:<>").startswith("250")
    assert half_data.do("RCPT TO:<user@testserver>").startswith("250")
    assert half_data.do("DATA").startswith("354")
    half_data.send("Subject: stalled\r\n\r\nnever finished\r\n")
    stalled.append(half_data)
    t0 = time.monotonic()
    assert send_mail(c.smtp_port, "during-stalls").startswith("250 2.0.0")
    during_stalls = time.monotonic() - t0
    print(f"mail during 3 stalls: {during_stalls:.2f} s")
    assert during_stalls < 5, during_stalls

    # 2. Resets: mid-dialog and mid-DATA.
    for _ in range(5):
        cl = RawClient(c.smtp_port)
        cl.reply()
        cl.send("EHLO x\r\nMAIL FROM:<>\r\n")
        reset(cl)
    for _ in range(5):
        cl = RawClient(c.smtp_port)
        cl.reply()
        cl.do("EHLO x")
        cl.do("MAIL FROM:<>")
        cl.do("RCPT TO:<user@testserver>")
        cl.do("DATA")
        cl.send("Subject: reset\r\n\r\n" + "x" * 10000 + "\r\n")
        reset(cl)

    # 3. TLS garbage after STARTTLS, and STARTTLS then a hang-up.
    cl = RawClient(c.smtp_port)
    cl.reply()
    cl.do("EHLO x")
    assert cl.do("STARTTLS").startswith("220 2.0.0")
    cl.send(b"\x16\x03\x01\x00\x05hello, this is no ClientHello\r\n")
    # A TLS alert record, then the reply in plain text, then the close.
    took, data = read_to_close(cl, 10)
    assert b"554 5.5.0 Error in TLS handshake" in data, data
    assert took is not None and took < 2, took
    cl = RawClient(c.smtp_port)
    cl.reply()
    cl.do("EHLO x")
    assert cl.do("STARTTLS").startswith("220 2.0.0")
    cl.sock.shutdown(socket.SHUT_WR)
    took, data = read_to_close(cl, 10)
    assert b"554 5.5.0 Error in TLS handshake" in data, data
    # The command timeout is a minute: this is the connection ending.
    assert took is not None and took < 2, took
    print(f"STARTTLS then hang-up: closed in {took:.3f} s")
    # Implicit TLS: garbage instead of a ClientHello.
    cl = RawClient(c.submission_tls_port)
    cl.send(b"EHLO this is not TLS\r\n")
    took, _ = read_to_close(cl, 10)
    assert took is not None and took < 2, took

    wait_for(lambda: c.var("chasquid/smtpIn/responseCodeCount", "554") >=
             code554 + 2, what="the failed handshakes counted")

    # 4. Still serving; only the messages that got a 250 are delivered.
    assert send_mail(c.smtp_port, "after").startswith("250 2.0.0")
    wait_for(lambda: len(delivered(maildir, "user@testserver")) == 2,
             what="both accepted messages delivered")
    for cl in stalled:
        cl.close()
    # The stalled DATA is dropped when its client goes, never delivered.
    assert c.proc.poll() is None
    assert send_mail(c.smtp_port, "last").startswith("250 2.0.0")
    wait_for(lambda: len(delivered(maildir, "user@testserver")) == 3,
             what="the last message delivered")
    subjects = sorted(m.split(b"Subject: ")[1].split(b"\n")[0].strip()
                      for m in delivered(maildir, "user@testserver"))
    assert subjects == [b"after", b"during-stalls", b"last"], subjects


def test_outgoing_peers_reset_and_send_garbage(chasquid_factory, tmp_path):
    """Remote MXs that reset the connection, answer with binary junk, or
    accept STARTTLS and then send no TLS: each attempt fails as a
    transient error, the daemon keeps serving, and the message is
    retried until the peer behaves, then delivered once."""
    ca = CA(tmp_path / "ca")
    mbox = tmp_path / "mbox"
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",), mbox)
    a.add_user("alice", "a.test", "pass-a")
    mx_cert = tmp_path / "mx-cert"
    ca.issue(mx_cert, "mx.bad.test")
    port = free_port()
    with DNSServer() as dns:
        dns.add("bad.test", "MX", "10 mx.bad.test")
        dns.add("mx.bad.test", "A", "127.0.0.1")
        # The system resolver's paths: the MX through /etc/resolv.conf
        # (naming `dns`), its address from /etc/hosts (conftest's
        # system_dns).
        a.start(f"--testing__outgoing_smtp_port={port}",
                "--testing__queue_retry_delay=200ms", env=env_with_ca(ca),
                system_dns=dns, hosts=["127.0.0.1 mx.bad.test"])
        wait_for_port(a.submission_port)
        for mode in ("reset", "garbage", "tls_garbage"):
            with SMTPPeer(port, certfile=str(mx_cert / "fullchain.pem"),
                          keyfile=str(mx_cert / "privkey.pem"),
                          misbehave=mode, misbehave_times=2) as peer:
                submit(a, "alice@a.test", "pass-a", "alice@a.test",
                       f"x-{mode}@bad.test", f"body-{mode}")
                wait_for(lambda: peer.messages, timeout=30,
                         what=f"delivery after the peer's {mode}")
                assert peer.misbehaved == 2
                print(f"{mode}: delivered after {peer.connections} "
                      f"connections")
                assert len(peer.messages) == 1, peer.messages
                assert f"body-{mode}".encode() in peer.messages[0][2]
                # Still serving: a session on the submission port works.
                cl = RawClient(a.smtp_port)
                assert cl.reply()[0].startswith("220")
                assert cl.do("NOOP").startswith("250")
                cl.close()
        assert a.proc.poll() is None
        # Nothing left waiting in the queue.
        wait_for(lambda: a.var("chasquid/queue/length") == 0,
                 what="the queue empty")


def test_half_close_in_the_middle_of_data_closes(chasquid_factory):
    """A client that sends part of a message and then half-closes (no
    final dot) gets 554 and the connection closes at once, instead of
    staying open until the command timeout. Found by session_fuzz; its
    input is src/smtpsrv/testdata/fuzz/session_fuzz/crash-data-eof-no-close."""
    c = chasquid_factory()
    c.add_user("user", "testserver", "pw")
    c.start()
    s = socket.create_connection(("127.0.0.1", c.smtp_port), timeout=30)
    s.sendall(b"EHLO client\r\nMAIL FROM:<a@example.org>\r\n"
              b"RCPT TO:<user@testserver>\r\nDATA\r\n"
              b"Subject: cut\r\n\r\nno final dot\r\n")
    s.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    out = b""
    while chunk := s.recv(4096):
        out += chunk
    took = time.monotonic() - t0
    s.close()
    assert out.endswith(b"554 5.4.0 Error reading DATA: unexpected EOF\r\n"), out
    # The command timeout is a minute; closing is immediate.
    assert took < 10, took
    assert c.proc.poll() is None
