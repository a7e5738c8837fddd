"""mda-lmtp against a real LMTP server:
Debian's dovecot-lmtpd, started privately on a unix socket and a loopback
TCP port, delivering into Maildirs in a tmp dir. Also a scripted LMTP peer
for the replies Dovecot cannot be made to give (4xx after DATA, bad
greeting), and the daemon using mda-lmtp as its MDA."""

import email
import grp
import os
import pathlib
import pwd
import shutil
import smtplib
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import binary, free_port
from queueutil import wait_for

LMTP_CONF = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
ssl = no
protocols = lmtp
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {base}/passwd
}}
service lmtp {{
  unix_listener lmtp {{
    path = {base}/lmtp.sock
    mode = 0666
  }}
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {port}
  }}
}}
service auth {{
  user = {user}
}}
service auth-worker {{
  user = {user}
}}
service anvil {{
  chroot =
}}
service log {{
  user = {user}
}}
"""


class DovecotLMTP:
    """A private Dovecot LMTP server. Mail is stored as the current user
    (or, when we run as root, as nobody: Dovecot refuses uid 0 for mail)
    in Maildirs under self.mail/<user>."""

    def __init__(self, base, users):
        self.base = pathlib.Path(base)
        (self.base / "run").mkdir(parents=True, exist_ok=True)
        (self.base / "state").mkdir(exist_ok=True)
        uid, gid = os.getuid(), os.getgid()
        if uid == 0:
            uid = gid = 65534
        # The mail dir must be reachable by the mail uid: outside pytest's
        # 0700 tmp tree when that uid is not ours.
        self.mail = pathlib.Path(tempfile.mkdtemp(prefix="lmtp-mail-"))
        os.chmod(self.mail, 0o777)
        lines = [f"{u}:{{PLAIN}}x:{uid}:{gid}::{self.mail}/{u}::"
                 for u in users]
        (self.base / "passwd").write_text("\n".join(lines) + "\n")
        self.port = free_port()
        self.sock = self.base / "lmtp.sock"
        self.conf = self.base / "dovecot.conf"
        self.conf.write_text(LMTP_CONF.format(
            base=self.base, mail=self.mail, port=self.port,
            user=pwd.getpwuid(os.getuid()).pw_name,
            group=grp.getgrgid(os.getgid()).gr_name,
            uid=min(uid, 500), gid=min(gid, 500)))
        self.proc = None

    def start(self):
        exe = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not os.path.exists(exe) or not os.path.exists(
                "/usr/lib/dovecot/lmtp"):
            pytest.fail("dovecot-lmtpd (Debian) is not installed: "
                        "scripts/install-deps.sh installs it")
        self.proc = subprocess.Popen(
            [exe, "-F", "-c", str(self.conf)], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.base / "stderr", "wb"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (
                (self.base / "stderr").read_text() + self.log())
            if self.sock.exists():
                try:
                    socket.create_connection(("127.0.0.1", self.port),
                                             timeout=1).close()
                    return self
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError("dovecot LMTP did not start: " + self.log())

    def log(self):
        p = self.base / "dovecot.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def messages(self, user):
        new = self.mail / user / "new"
        if not new.exists():
            return []
        return [p.read_bytes() for p in sorted(new.iterdir())]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.mail, ignore_errors=True)


@pytest.fixture
def lmtp(tmp_path):
    d = DovecotLMTP(tmp_path / "dovecot", ["user", "other"])
    d.start()
    yield d
    d.stop()


def mda(*args, data=b"Subject: test\n\nThis is a test.\n"):
    return subprocess.run([binary("mda-lmtp"), *args], input=data,
                          capture_output=True, timeout=30)


MSG = (b"Subject: lmtp test\nMessage-ID: <m1@x>\n\nline one\n"
       b".leading dot\nlast line without newline")


@pytest.mark.parametrize("form", ["tcp", "unix", "unix-explicit"])
def test_delivers(lmtp, form):
    if form == "tcp":
        addr = [f"--addr=127.0.0.1:{lmtp.port}"]
    elif form == "unix":
        addr = ["-addr", str(lmtp.sock)]   # network deduced from the '/'
    else:
        addr = [f"-addr={lmtp.sock}", "-addr_network=unix"]
    r = mda(*addr, "-f", "from@x", "-d", "user", data=MSG)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b""), lmtp.log()
    msgs = lmtp.messages("user")
    assert len(msgs) == 1
    m = email.message_from_bytes(msgs[0])
    assert m["Return-Path"] == "<from@x>"
    assert m["Subject"] == "lmtp test"
    # Dot-stuffing undone by the server, line ends normalized, the last
    # line terminated.
    assert m.get_payload() == ("line one\n.leading dot\n"
                               "last line without newline\n")
    assert lmtp.messages("other") == []


def test_null_sender(lmtp):
    r = mda(f"--addr=127.0.0.1:{lmtp.port}", "-f", "<>", "-d", "other")
    assert r.returncode == 0, r.stdout
    m = email.message_from_bytes(lmtp.messages("other")[0])
    assert m["Return-Path"] == "<>"


@pytest.mark.parametrize("tcp", [True, False])
def test_unknown_user(lmtp, tcp):
    addr = f"127.0.0.1:{lmtp.port}" if tcp else str(lmtp.sock)
    r = mda(f"--addr={addr}", "-f", "from@x", "-d", "nobody-here")
    # Dovecot refuses the recipient permanently (5xx); like chasquid's
    # mda-lmtp we still exit 75 (the queue retries, the operator sees it).
    assert r.returncode == 75
    out = r.stdout.decode()
    # Dovecot's reply text, Go-quoted.
    assert out.startswith('Sent "RCPT TO:<nobody-here>", got 550 "'), out
    assert out.endswith('"\n') and out.count("\n") == 1, out
    assert lmtp.messages("user") == []


def test_server_down(tmp_path):
    port = free_port()
    r = mda(f"--addr=127.0.0.1:{port}", "-f", "a", "-d", "b")
    assert r.returncode == 75
    assert r.stdout.decode() == (
        f"Error connecting to (tcp, 127.0.0.1:{port}): dial tcp "
        f"127.0.0.1:{port}: connect: connection refused\n")
    sock = tmp_path / "none.sock"
    r = mda(f"--addr={sock}", "-f", "a", "-d", "b")
    assert r.returncode == 75
    assert r.stdout.decode() == (
        f"Error connecting to (unix, {sock}): dial unix {sock}: connect: "
        f"no such file or directory\n")


def test_server_stopped(lmtp):
    """The same server, up then stopped: transient failure."""
    assert mda(f"--addr={lmtp.sock}", "-f", "a", "-d", "user"
               ).returncode == 0
    lmtp.stop()
    r = mda(f"--addr=127.0.0.1:{lmtp.port}", "-f", "a", "-d", "user")
    assert r.returncode == 75
    assert r.stdout.startswith(b"Error connecting to (tcp, ")


def test_usage_errors():
    r = mda("-f", "a", "-d", "b")
    assert (r.returncode, r.stdout) == (
        2, b"No LMTP server address given (use --addr)\n")
    r = mda("--addr=/x", "-to_puny", "-f", "fr\xf6m", "-d", "xn--t")
    assert r.returncode == 2
    assert r.stdout == b'cannot puny-encode recipient: idna: invalid label "t"\n'
    r = mda("-nosuchflag")
    assert r.returncode == 2
    assert b"flag provided but not defined: -nosuchflag" in r.stderr
    r = mda("-h")
    assert r.returncode == 0 and b"-addr" in r.stderr


class ScriptedLMTP:
    """A one-connection LMTP peer answering with the given replies; records
    what it received."""

    def __init__(self, greeting=b"220 hi\r\n", after_data=b"250 ok\r\n",
                 after_rcpt=b"250 Aja\r\n"):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        self.greeting, self.after_data = greeting, after_data
        self.after_rcpt = after_rcpt
        self.received = b""
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        self.srv.settimeout(20)
        conn, _ = self.srv.accept()
        conn.settimeout(20)
        f = conn.makefile("rb")
        conn.sendall(self.greeting)
        if not self.greeting.startswith(b"220"):
            conn.close()
            return
        in_data = False
        for line in f:
            self.received += line
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    conn.sendall(self.after_data)
                continue
            cmd = line.split(b" ")[0].strip().upper()
            if cmd == b"LHLO":
                conn.sendall(b"250-Bienvenido!\r\n250 PIPELINING\r\n")
            elif cmd == b"DATA":
                in_data = True
                conn.sendall(b"354 Dale\r\n")
            elif cmd == b"QUIT":
                conn.sendall(b"221 chau\r\n")
                break
            elif cmd == b"RCPT":
                conn.sendall(self.after_rcpt)
            else:
                conn.sendall(b"250 Aja\r\n")
        conn.close()


def test_scripted_replies():
    s = ScriptedLMTP(after_data=b"452 Nananana\r\n")
    r = mda(f"--addr=127.0.0.1:{s.port}", "-f", "from", "-d", "to",
            data=b"Subject: test\n\n.\n..x\n")
    # The reply text Go-quoted, as chasquid 1.18 prints it.
    assert (r.returncode, r.stdout) == (
        75, b'Delivery failed remotely: 452 "Nananana"\n')
    s.t.join(10)
    assert s.received.startswith(b"LHLO ")
    assert b"MAIL FROM:<from>\r\nRCPT TO:<to>\r\nDATA\r\n" \
           b"Subject: test\r\n\r\n..\r\n...x\r\n.\r\n" in s.received

    s = ScriptedLMTP(greeting=b"554 go away\r\n")
    r = mda(f"--addr=127.0.0.1:{s.port}", "-f", "a", "-d", "b")
    assert (r.returncode, r.stdout) == (
        75, b'Server greeting error: 554 "go away"\n')

    # A multi-line reply with a tab, a quote and a non-printable rune: one
    # line of output, Go's escapes.
    s = ScriptedLMTP(after_data=b'452-4.2.2 over\tquota\r\n'
                     b'452 "full" \xc2\x85\r\n')
    r = mda(f"--addr=127.0.0.1:{s.port}", "-f", "from", "-d", "to")
    assert (r.returncode, r.stdout) == (
        75, b'Delivery failed remotely: 452 "4.2.2 over\\tquota\\n'
            b'\\"full\\" \\u0085"\n')

    s = ScriptedLMTP(after_rcpt=b"550 5.1.1 <to>: no such user\r\n")
    r = mda(f"--addr=127.0.0.1:{s.port}", "-f", "from", "-d", "to")
    assert (r.returncode, r.stdout) == (
        75, b'Sent "RCPT TO:<to>", got 550 "5.1.1 <to>: no such user"\n')

    s = ScriptedLMTP()
    r = mda(f"--addr=127.0.0.1:{s.port}", "-f", "<>", "-d", "b", data=b"")
    assert (r.returncode, r.stdout) == (0, b"")
    s.t.join(10)
    assert b"MAIL FROM:<>\r\n" in s.received
    assert s.received.endswith(b"DATA\r\n\r\n.\r\nQUIT\r\n")


def test_daemon_delivers_through_mda_lmtp(chasquid_factory, lmtp):
    """mda-lmtp as the daemon's mail_delivery_agent_bin, end to end."""
    c = chasquid_factory()
    c.add_user("user", "testserver", "secret")
    conf = (c.config_dir / "chasquid.conf").read_text()
    conf += (f'mail_delivery_agent_bin: "{binary("mda-lmtp")}"\n'
             f'mail_delivery_agent_args: "--addr={lmtp.sock}"\n'
             'mail_delivery_agent_args: "-f"\n'
             'mail_delivery_agent_args: "%from%"\n'
             'mail_delivery_agent_args: "-d"\n'
             'mail_delivery_agent_args: "%to_user%"\n')
    c.write_conf(conf)
    c.start(wait_port=c.smtp_port)
    with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=10) as s:
        s.sendmail("sender@example.net", ["user@testserver"],
                   b"Subject: via chasquid\r\n\r\nhello\r\n")
    wait_for(lambda: lmtp.messages("user"), 15, "delivery via mda-lmtp")
    m = email.message_from_bytes(lmtp.messages("user")[0])
    assert m["Subject"] == "via chasquid"
    assert m["Return-Path"] == "<sender@example.net>"
