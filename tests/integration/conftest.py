"""Shared fixtures for the integration tests.

Every test starts the real binaries on loopback, with a config directory
made for it under pytest's tmp_path, and stops them when it ends. Ports are
picked free at run time, so tests can run side by side.
"""

import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from dnsserver import DNSServer

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("CHASQUID_BUILD", REPO / "build"))

# Sanitizer reports. In an ASan+UBSan build (scripts/test.sh runs the whole
# suite against one), every binary the tests start inherits these options
# and writes any report to a file of its own in SANITIZER_DIR ("report.<pid>")
# instead of its stderr, where a test that checks output would trip on it or
# a test that discards output would hide it. The autouse fixtures below fail
# the test (or module) during which a report appeared, and print it. Leaks
# are reported too: the daemon runs LeakSanitizer itself when it stops on
# SIGTERM (base::QuickExit), the tools at their normal exit. In a plain
# build these variables are read by nobody.
SANITIZER_DIR = pathlib.Path(tempfile.mkdtemp(prefix="chasquid-sanitizers-"))
_report = f"log_path={SANITIZER_DIR}/report"
os.environ["ASAN_OPTIONS"] = ":".join(
    o for o in (os.environ.get("ASAN_OPTIONS"), _report) if o)
os.environ["UBSAN_OPTIONS"] = ":".join(
    o for o in (os.environ.get("UBSAN_OPTIONS"), "print_stacktrace=1",
                "halt_on_error=1", _report) if o)
_SUPPRESSIONS = REPO / "tests" / "integration" / "lsan.supp"
if _SUPPRESSIONS.exists():
    os.environ["LSAN_OPTIONS"] = ":".join(
        o for o in (os.environ.get("LSAN_OPTIONS"),
                    f"suppressions={_SUPPRESSIONS}") if o)


def _sanitized_build():
    cache = BUILD / "CMakeCache.txt"
    return cache.exists() and \
        "CHASQUID_SANITIZE:BOOL=ON" in cache.read_text(errors="replace")


SANITIZED = _sanitized_build()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "profiler: needs the daemon linked with tcmalloc and "
        "libprofiler, which a sanitized build leaves out (scripts/test.sh "
        "runs these against the plain build)")


def pytest_collection_modifyitems(config, items):
    if not SANITIZED:
        return
    skip = pytest.mark.skip(reason="sanitized build: no tcmalloc/libprofiler;"
                            " run against the plain build (scripts/test.sh)")
    for item in items:
        if "profiler" in item.keywords:
            item.add_marker(skip)


def sanitizer_reports():
    """The report files written so far, oldest name first."""
    return sorted(p for p in SANITIZER_DIR.glob("report*") if p.is_file())


# UBSan, as GCC 12 links it beside ASan (its own libubsan), ignores
# log_path and always writes to stderr; the daemon's stderr is its log, so
# Chasquid.stop() looks there too. These begin every report.
_REPORT_MARKERS = ("runtime error: ", "ERROR: AddressSanitizer",
                   "ERROR: LeakSanitizer", "ERROR: UndefinedBehaviorSanitizer")


def sanitizer_output_in(text):
    """The first sanitizer report in `text` (a process's stderr), with
    what follows it; None if there is none."""
    starts = [i for i in (text.find(m) for m in _REPORT_MARKERS) if i >= 0]
    if not starts:
        return None
    start = text.rfind("\n", 0, min(starts)) + 1
    return text[start:start + 8000]


def _check_sanitizer_reports(before, what):
    new = [p for p in sanitizer_reports() if p not in before]
    if not new:
        return
    texts = []
    seen = SANITIZER_DIR / "seen"
    seen.mkdir(exist_ok=True)
    for p in new:
        texts.append(f"--- {p.name}\n" + p.read_text(errors="replace"))
        # Reported once: the next test starts clean.
        p.rename(seen / p.name)
    pytest.fail(f"sanitizer report(s) during {what}:\n" + "\n".join(texts),
                pytrace=False)


@pytest.fixture(autouse=True)
def _no_sanitizer_reports_in_test(request):
    before = set(sanitizer_reports())
    yield
    _check_sanitizer_reports(before, request.node.nodeid)


@pytest.fixture(autouse=True, scope="module")
def _no_sanitizer_reports_in_module(request):
    # Module-scoped daemons stop after the module's last test: their leak
    # reports are read here.
    before = set(sanitizer_reports())
    yield
    _check_sanitizer_reports(before, f"module {request.module.__name__}")


def binary(name):
    p = BUILD / name
    if not p.exists():
        p = BUILD / "cmd" / name / name
    assert p.exists(), f"{name} not built in {BUILD}"
    return str(p)


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# Ports handed out so far go up from a random start below the kernel's
# ephemeral range. A port from bind(("127.0.0.1", 0)) came from that range,
# so an outgoing connection (the daemon's own, a client's) could take it
# as its source port before the daemon bound it: "bind: address already
# in use", seen once in CI on a daemon's restart. Each port is handed out
# once per session, so two calls never return the same one.
_PORT_LOW = 10000
_PORT_HIGH = max(_PORT_LOW + 1000, _ephemeral_low()) - 1
_next_port = [_PORT_LOW + (os.getpid() * 7919) % (_PORT_HIGH - _PORT_LOW)]


def free_port():
    """A TCP port on 127.0.0.1 that is free now, outside the ephemeral
    range, and not handed out before in this session."""
    for _ in range(_PORT_HIGH - _PORT_LOW):
        port = _next_port[0]
        _next_port[0] = (_PORT_LOW if port >= _PORT_HIGH else port + 1)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port below the ephemeral range")


def have_ipv6_loopback():
    """Whether this machine can bind ::1 (some CI sandboxes have no IPv6)."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def wait_for(pred, timeout=20.0, what="condition", interval=0.05):
    """The suite's one polling helper: calls `pred` until it returns a
    truthy value, and returns that value. When `timeout` seconds pass first,
    fails the test with what it waited for and the last value it saw.

    To show that something did NOT happen, don't sleep and look: wait with
    this for a later event that proves it (a log line, a counter, the next
    reply)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what} "
                f"(last value: {last!r})")
        time.sleep(interval)


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


def listening_ports():
    """The local TCP ports in LISTEN state, from /proc/net/tcp and tcp6."""
    ports = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A":  # TCP_LISTEN
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except FileNotFoundError:
            pass
    return ports


def wait_for_listen(port, timeout=10.0, proc=None):
    """Waits until something listens on `port`, without connecting to it:
    a probe connection would count in the daemon's connection variables."""
    deadline = time.monotonic() + timeout
    while port not in listening_ports():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        if time.monotonic() >= deadline:
            raise TimeoutError(f"port {port} did not open")
        time.sleep(0.02)


def system_resolver(root, nameserver, hosts=()):
    """A command prefix (for Chasquid.start(prefix=...)) that runs the
    daemon, without --testing__dns_addr, on the system resolver's paths for
    real: in a mount namespace of its own (`unshare --mount`; root only),
    /etc/resolv.conf names only `nameserver` (an IP address; port 53, as
    resolv.conf has no ports: a dnsserver.DNSServer(port=53, host=...) on
    another loopback address) and /etc/hosts holds localhost and the
    `hosts` lines ("<ip> <name>..."). Nothing outside the namespace sees
    the two files; the daemon keeps the shell's PID (exec)."""
    root = pathlib.Path(root)
    root.mkdir(parents=True, exist_ok=True)
    resolv, hostsf = root / "resolv.conf", root / "hosts"
    resolv.write_text(f"nameserver {nameserver}\n")
    hostsf.write_text("127.0.0.1 localhost\n" +
                      "".join(f"{h}\n" for h in hosts))
    # Full paths: the daemon's environment may have a PATH of the test's
    # own (test_default_hook.py's holds only fake tools).
    tools = {t: shutil.which(t) for t in ("unshare", "mount", "sh")}
    assert all(tools.values()), f"missing from PATH: {tools}"
    script = (f'{tools["mount"]} --bind "$1" /etc/resolv.conf && '
              f'{tools["mount"]} --bind "$2" /etc/hosts && shift 2 && '
              'exec "$@"')
    return [tools["unshare"], "--mount", "--propagation", "private",
            tools["sh"], "-c", script, "sh", str(resolv), str(hostsf)]


# How each test module's daemons found their DNS server: module file name
# -> {"flag", "system"}. "flag": --testing__dns_addr (or system_dns= when
# not root); "system": through /etc/resolv.conf and /etc/hosts, as in
# production (Chasquid.start(system_dns=...)). A module that points a
# daemon at a DNS server of its own must also start one on the system
# resolver's path, so that those paths of c-ares and ours run under the
# sanitizers with the rest: pytest_sessionfinish below fails a run (as
# root) in which such a module ran whole and never did.
DNS_PATHS = {}
_DESELECTED_MODULES = set()
# Modules still to get a system-resolver start (by whoever changes them
# next); they are named at the end of a run instead of failing it, and
# test_dns_paths.py checks that the list holds no module that has one.
DNS_PATH_PENDING = set()


def _current_module():
    # "tests/integration/test_x.py::test_y (call)" while a test runs,
    # fixtures included.
    nodeid = os.environ.get("PYTEST_CURRENT_TEST", "")
    return pathlib.Path(nodeid.split("::", 1)[0]).name if nodeid else None


def _note_dns_path(flags, system_dns):
    module = _current_module()
    if module is None:
        return
    if system_dns is not None and os.geteuid() == 0:
        DNS_PATHS.setdefault(module, set()).add("system")
    elif system_dns is not None or any(
            f.startswith("--testing__dns_addr") for f in flags):
        DNS_PATHS.setdefault(module, set()).add("flag")


def pytest_deselected(items):
    # -k, -m, --lf: a module only partly run may have left its
    # system-resolver start out.
    for item in items:
        _DESELECTED_MODULES.add(item.path.name)


def pytest_sessionfinish(session, exitstatus):
    if exitstatus != 0 or os.geteuid() != 0:
        return
    partial = set(_DESELECTED_MODULES)
    for arg in session.config.args:  # "test_x.py::test_y": part of one.
        if "::" in arg:
            partial.add(pathlib.Path(arg.split("::", 1)[0]).name)
    missing = sorted(m for m, paths in DNS_PATHS.items()
                     if paths == {"flag"} and m not in partial)
    pending = [m for m in missing if m in DNS_PATH_PENDING]
    missing = [m for m in missing if m not in DNS_PATH_PENDING]
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    if tr and (pending or missing):
        tr.write_line("")  # After the progress dots.
    say = tr.write_line if tr else print
    if pending:
        say("still only through --testing__dns_addr (DNS_PATH_PENDING): " +
            ", ".join(pending))
    if missing:
        say("these modules start daemons with --testing__dns_addr but "
            "none through the system resolver "
            "(Chasquid.start(system_dns=...)): " + ", ".join(missing))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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

    def start(self, *flags, wait_port=None, env=None, prefix=(),
              system_dns=None, hosts=()):
        # `prefix`: a command the daemon runs under, which must exec it
        # (the same PID, so that stop() signals the daemon); see
        # system_resolver().
        # `system_dns`: a dnsserver.DNSServer that the daemon reaches
        # through the system resolver, without --testing__dns_addr: its
        # /etc/resolv.conf names only the server's port-53 address
        # (dns.system_host()) and its /etc/hosts holds `hosts` ("<ip>
        # <name>..." lines), in a mount namespace of its own
        # (system_resolver()). Or a dnssecutil.DNSSECWorld made
        # on_port_53 (anything with system_host() and addr), or an IP
        # address (str) for resolv.conf to name, where no server may
        # listen at all. That needs root; otherwise the daemon gets
        # --testing__dns_addr for the same server (so the names in
        # `hosts` must be in the server too), and the start counts as one
        # through the flag (see DNS_PATHS).
        _note_dns_path(flags, system_dns)
        if system_dns is not None:
            assert not prefix, "system_dns makes its own prefix"
            assert not any(f.startswith("--testing__dns_addr") for f in flags)
            plain = isinstance(system_dns, str)
            if os.geteuid() == 0:
                host = system_dns if plain else system_dns.system_host()
                prefix = system_resolver(self.root / "system-resolver",
                                         host, hosts)
            else:
                addr = f"{system_dns}:53" if plain else system_dns.addr
                flags = (*flags, f"--testing__dns_addr={addr}")
        cmd = [*prefix, binary("chasquid"), f"--config_dir={self.config_dir}",
               "-v=1", *flags]
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.logf,
                                     stderr=subprocess.STDOUT,
                                     env=env or os.environ.copy(),
                                     cwd=self.root)
        # The monitoring server opens early and the SMTP listeners last, one
        # after another: wait for every port the config names (or the one
        # the caller names), so a test never connects before the daemon
        # listens. Read from the kernel's socket table rather than probed
        # with a connection, which the daemon would count.
        if wait_port is not None:
            ports = [wait_port]
        else:
            conf = (self.config_dir / "chasquid.conf").read_text()
            ports = [p for p in (self.monitoring_port, self.smtp_port,
                                 self.submission_port,
                                 self.submission_tls_port)
                     if p and f"127.0.0.1:{p}" in conf]
        try:
            for port in ports or [self.smtp_port]:
                wait_for_listen(port, proc=self.proc)
        except (RuntimeError, TimeoutError) as e:
            # Why it did not come up (a port taken, a crash) is in its log.
            self.logf.flush()
            tail = "\n".join(self.log().splitlines()[-30:])
            raise RuntimeError(f"{self.root.name}: {e}; its log ends:\n"
                               f"{tail}") from e
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
                # Generous: a sanitized daemon runs its leak check first.
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and not self.logf.closed:
            self.logf.close()
            report = sanitizer_output_in(self.log())
            if report:
                pytest.fail(f"sanitizer report in {self.log_path}:\n{report}",
                            pytrace=False)


@pytest.fixture
def dns():
    """A DNS server of the test's own on loopback, with no records until
    the test adds them (so SPF at MAIL finds none: hermetic). A module
    that needs records from the start defines its own `dns`, which
    overrides this one."""
    with DNSServer() as d:
        yield d


@pytest.fixture
def chasquid_factory(tmp_path):
    """Makes Chasquid instances; every one is stopped at the end."""
    made = []

    def make(name="a", **kw):
        c = Chasquid(tmp_path / name, **kw)
        made.append(c)
        return c

    yield make
    # Every daemon is stopped even if one's log has a sanitizer report;
    # then the first report fails the test.
    failures = []
    for c in made:
        try:
            c.stop()
        except pytest.fail.Exception as e:
            failures.append(e)
    if failures:
        raise failures[0]
