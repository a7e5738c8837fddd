"""Shared fixtures for the integration tests.

Every test starts the real binaries on loopback, with a config directory
made for it under pytest's tmp_path, and stops them when it ends. Ports are
picked free at run time, so tests can run side by side.
"""

import os
import pathlib
import socket
import subprocess
import time
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("CHASQUID_BUILD", REPO / "build"))


def binary(name):
    p = BUILD / name
    if not p.exists():
        p = BUILD / "cmd" / name / name
    assert p.exists(), f"{name} not built in {BUILD}"
    return str(p)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, host="127.0.0.1", timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open")


def http_get(url, method="GET", data=None):
    """Returns (status, headers, body) without raising on HTTP errors."""
    req = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def make_cert(certdir, cn="localhost"):
    certdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-days", "30", "-subj", f"/CN={cn}",
         "-addext", f"subjectAltName=DNS:{cn}",
         "-keyout", str(certdir / "privkey.pem"),
         "-out", str(certdir / "fullchain.pem")],
        check=True, capture_output=True)


class Chasquid:
    """A chasquid daemon with its own config dir, on free loopback ports."""

    def __init__(self, root, hostname="testserver", domains=("testserver",),
                 extra_conf="", monitoring=True, cert=True):
        self.root = pathlib.Path(root)
        self.config_dir = self.root / "config"
        self.data_dir = self.root / "data"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.hostname = hostname
        self.smtp_port = free_port()
        self.submission_port = free_port()
        self.submission_tls_port = free_port()
        self.monitoring_port = free_port() if monitoring else None
        self.log_path = self.root / "chasquid.log"
        self.proc = None
        for d in domains:
            (self.config_dir / "domains" / d).mkdir(parents=True,
                                                   exist_ok=True)
        if cert:
            make_cert(self.config_dir / "certs" / hostname, hostname)
        conf = [
            f'hostname: "{hostname}"',
            f'smtp_address: "127.0.0.1:{self.smtp_port}"',
            f'submission_address: "127.0.0.1:{self.submission_port}"',
            f'submission_over_tls_address: '
            f'"127.0.0.1:{self.submission_tls_port}"',
            f'data_dir: "{self.data_dir}"',
            f'mail_log_path: "{self.root / "mail.log"}"',
        ]
        if monitoring:
            conf.append(f'monitoring_address: '
                        f'"127.0.0.1:{self.monitoring_port}"')
        self.write_conf("\n".join(conf) + "\n" + extra_conf)

    def write_conf(self, text):
        (self.config_dir / "chasquid.conf").write_text(text)

    def add_user(self, user, domain, password):
        users = self.config_dir / "domains" / domain / "users"
        with open(users, "a") as f:
            f.write(f"users:{{ key: '{user}' value:{{ plain:{{ password: "
                    f"'{password}' }}}}}}\n")

    def start(self, *flags, wait_port=None, env=None):
        cmd = [binary("chasquid"), f"--config_dir={self.config_dir}", "-v=1",
               *flags]
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.logf,
                                     stderr=subprocess.STDOUT,
                                     env=env or os.environ.copy(),
                                     cwd=self.root)
        port = self.monitoring_port if wait_port is None else wait_port
        if port:
            wait_for_port(port, proc=self.proc)
        else:
            time.sleep(0.5)
        return self

    def run_to_exit(self, *flags, timeout=10):
        """Runs the daemon expecting it to exit; returns (rc, output)."""
        cmd = [binary("chasquid"), f"--config_dir={self.config_dir}",
               *flags]
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout, cwd=self.root)
        return r.returncode, r.stdout + r.stderr

    def url(self, path):
        return f"http://127.0.0.1:{self.monitoring_port}{path}"

    def get(self, path, **kw):
        return http_get(self.url(path), **kw)

    def var(self, name, key=None):
        """Reads one expvar (or one key of a map expvar) via /debug/vars."""
        import json
        _, _, body = self.get("/debug/vars")
        v = json.loads(body).get(name)
        if key is None:
            return v
        return (v or {}).get(key, 0)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()


@pytest.fixture
def chasquid_factory(tmp_path):
    """Makes Chasquid instances; every one is stopped at the end."""
    made = []

    def make(name="a", **kw):
        c = Chasquid(tmp_path / name, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop()
