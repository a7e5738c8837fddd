"""Certificates reload without a restart (ours; chasquid reads certs/ only
at start-up): on the reload timer and on SIGHUP, new handshakes get the
new pair while open connections keep theirs; a broken pair keeps the old
one serving; new certs/ directories are served via SNI. Checked with
openssl s_client, on STARTTLS (submission) and implicit TLS."""

import os
import queue
import signal
import ssl
import subprocess
import threading
import time

from conftest import wait_for


DEADLINE = 60  # Seconds; generous for a loaded machine.


def make_pair(d, cn, serial, key=None):
    """A self-signed pair with a known serial in directory `d`; reuses the
    private key file `key` when given (to make a mismatched pair)."""
    d.mkdir(parents=True, exist_ok=True)
    args = ["openssl", "req", "-x509", "-nodes", "-days", "30",
            "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}",
            "-set_serial", str(serial), "-out", str(d / "fullchain.pem")]
    if key:
        args += ["-key", str(key)]
    else:
        args += ["-newkey", "rsa:2048", "-keyout", str(d / "privkey.pem")]
    subprocess.run(args, check=True, capture_output=True)
    return d


def repoint(link, target):
    """Replaces the symlink `link` atomically, as certbot does."""
    tmp = link.with_name(link.name + ".new")
    os.symlink(target, tmp)
    os.replace(tmp, link)


def s_client(port, starttls, servername="testserver"):
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
           "-servername", servername, "-ign_eof"]
    if starttls:
        cmd += ["-starttls", "smtp"]
    return subprocess.run(cmd, input="QUIT\r\n", capture_output=True,
                          text=True, timeout=30)


def serial_of(pem_text):
    r = subprocess.run(["openssl", "x509", "-noout", "-serial"],
                       input=pem_text, capture_output=True, text=True)
    assert r.returncode == 0, pem_text
    return int(r.stdout.strip().split("=")[1], 16)


def served_serial(port, starttls, servername="testserver"):
    r = s_client(port, starttls, servername)
    assert "221 2.0.0 Be seeing you..." in r.stdout, r.stdout + r.stderr
    return serial_of(r.stdout)




class HeldConnection:
    """An openssl s_client session kept open across the reload."""

    def __init__(self, port):
        self.proc = subprocess.Popen(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
             "-servername", "testserver", "-ign_eof", "-quiet"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.expect("220 ").startswith("220 testserver")

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)

    def expect(self, prefix):
        deadline = time.monotonic() + DEADLINE
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no line starting with {prefix!r}"
            line = self.lines.get(timeout=left)
            if line.startswith(prefix):
                return line

    def send(self, text):
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def close(self):
        self.proc.kill()
        self.proc.wait()


def start(chasquid_factory, *flags):
    """A daemon whose certs/testserver files are symlinks, through a
    "current" symlink, into an archive directory: repointing "current"
    renews the certificate and its key in one atomic step, so the reload
    timer never sees half a renewal. Returns (daemon, live dir, archive
    dir)."""
    c = chasquid_factory(cert=False)
    archive = c.root / "archive"
    make_pair(archive / "v1", "testserver", 1001)
    os.symlink(archive / "v1", archive / "current")
    live = c.config_dir / "certs" / "testserver"
    live.mkdir(parents=True)
    for f in ("fullchain.pem", "privkey.pem"):
        os.symlink(archive / "current" / f, live / f)
    c.start(*flags)
    return c, live, archive


def reloads(c, result):
    return c.var("chasquid/tls/certReloads", result)


def test_renewal_on_timer_keeps_open_connections(chasquid_factory):
    c, live, archive = start(chasquid_factory, "--testing__reload_every=1s")
    for port, starttls in ((c.submission_port, True),
                           (c.submission_tls_port, False)):
        assert served_serial(port, starttls) == 1001
    not_after = c.var("chasquid/tls/certNotAfter", "testserver")
    enddate = subprocess.run(
        ["openssl", "x509", "-noout", "-enddate", "-in",
         str(archive / "v1" / "fullchain.pem")],
        capture_output=True, text=True, check=True).stdout
    assert not_after == int(ssl.cert_time_to_seconds(
        enddate.strip().split("=", 1)[1]))

    held = HeldConnection(c.submission_tls_port)
    try:
        # A renewal: new files, then a symlink repointed.
        make_pair(archive / "v2", "testserver", 2002)
        repoint(archive / "current", archive / "v2")
        wait_for(lambda: reloads(c, "ok") >= 1, DEADLINE, "the reload")
        for port, starttls in ((c.submission_port, True),
                               (c.submission_tls_port, False)):
            assert wait_for(lambda: served_serial(port, starttls) == 2002,
                            DEADLINE, "the new serial", interval=0.2)
        # The connection opened before the renewal still works.
        held.send("EHLO held.example\r\n")
        assert held.expect("250 ").startswith("250 ")
        held.send("QUIT\r\n")
        assert held.expect("221 ").startswith("221 2.0.0")
    finally:
        held.close()
    assert reloads(c, "error") == 0
    assert "Reloaded certificate testserver" in c.log()

    # A broken renewal: the new certificate does not match the key. The
    # old pair keeps serving, and the failure is logged and counted once.
    make_pair(archive / "v3", "testserver", 3003,
              key=archive / "v1" / "privkey.pem")
    repoint(live / "fullchain.pem", archive / "v3" / "fullchain.pem")
    wait_for(lambda: reloads(c, "error") >= 1, DEADLINE,
             "the refused reload")
    assert served_serial(c.submission_tls_port, False) == 2002
    assert served_serial(c.submission_port, True) == 2002
    log = c.log()
    assert ("Error reloading certificate testserver: tls: private key does "
            "not match public key (certs/testserver/privkey.pem); still "
            "serving the previous one") in log, log

    # Garbage in place of the key (a file now, not a symlink).
    garbage = c.root / "garbage.pem"
    garbage.write_text("not a key\n")
    os.replace(garbage, live / "privkey.pem")
    wait_for(lambda: reloads(c, "error") >= 2, DEADLINE,
             "the second refusal")
    assert served_serial(c.submission_tls_port, False) == 2002
    assert "tls: failed to find any PEM data in key input " \
        "(certs/testserver/privkey.pem)" in c.log()

    # Fixed again (v3's certificate has v1's key): served at once.
    repoint(live / "privkey.pem", archive / "v1" / "privkey.pem")
    wait_for(lambda: served_serial(c.submission_tls_port, False) == 3003,
             DEADLINE, "the fixed pair", interval=0.2)
    assert reloads(c, "ok") == 2
    # Refused files are reported once, not again on every tick.
    assert reloads(c, "error") == 2
    assert c.log().count("Error reloading certificate") == 2
    metrics = c.get("/metrics")[2].decode()
    assert 'chasquid_tls_certReloads{result="ok"} 2' in metrics
    assert 'chasquid_tls_certReloads{result="error"} 2' in metrics


def test_new_directory_served_via_sni_after_sighup(chasquid_factory):
    # A timer too long to fire during the test: only SIGHUP reloads.
    c, live, archive = start(chasquid_factory, "--testing__reload_every=1h")
    r = s_client(c.submission_tls_port, False, "other.example")
    assert "CN = testserver" in r.stdout, r.stdout
    assert c.var("chasquid/tls/certNotAfter", "other.example") == 0

    make_pair(c.config_dir / "certs" / "other.example", "other.example", 4004)
    c.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: reloads(c, "ok") >= 1, DEADLINE, "the reload")
    for port, starttls in ((c.submission_tls_port, False),
                           (c.submission_port, True)):
        r = s_client(port, starttls, "other.example")
        assert "CN = other.example" in r.stdout, r.stdout
        assert serial_of(r.stdout) == 4004
        assert served_serial(port, starttls, "testserver") == 1001
    assert c.var("chasquid/tls/certNotAfter", "other.example") > time.time()
    # Other certificates were not reloaded: only the new one was loaded.
    assert c.var("chasquid/tls/certReloads") == {"ok": 1}
    # The reload has its trace.
    _, _, page = c.get("/debug/traces?fam=TLS.CertReload&b=0&all=true")
    assert b"other.example" in page, page
    assert c.proc.poll() is None
