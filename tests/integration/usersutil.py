"""Helpers for the users/auth integration tests: running chasquid-util,
fetching Go chasquid's own chasquid-util (Debian package) for interop, and
running a real Dovecot on unix sockets."""

import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from conftest import binary

CACHE = pathlib.Path(tempfile.gettempdir()) / "chasquid-cpp-test-cache"


def util(config_dir, *args, input=None, cwd=None, timeout=30):
    """Runs our chasquid-util with -C=<config_dir>; returns CompletedProcess
    with text stdout/stderr."""
    cmd = [binary("chasquid-util"), f"-C={config_dir}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, input=input,
                          cwd=cwd, timeout=timeout)


def go_chasquid_util():
    """Path to Go chasquid's chasquid-util from the Debian package
    (apt-get download + dpkg -x, nothing installed). Failing to get it
    fails the test."""
    exe = CACHE / "chasquid-deb" / "usr" / "bin" / "chasquid-util"
    if exe.exists():
        return str(exe)
    work = CACHE / "download"
    work.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["apt-get", "download", "chasquid"], cwd=work,
                       capture_output=True, timeout=120, check=True)
        debs = sorted(work.glob("chasquid_*.deb"))
        if not debs:
            raise RuntimeError("no .deb downloaded")
        subprocess.run(["dpkg", "-x", str(debs[-1]),
                        str(CACHE / "chasquid-deb")], check=True,
                       capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError, RuntimeError) as e:
        pytest.fail(f"Go chasquid-util (Debian package chasquid) not "
                    f"available: {e}")
    if not exe.exists():
        pytest.fail("Debian package chasquid has no usr/bin/chasquid-util")
    return str(exe)


DOVECOT_CONF = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
ssl = no
protocols = none
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
auth_mechanisms = plain
# Allow UTF-8 user names (the default set is ASCII only).
auth_username_chars =
auth_failure_delay = 0
disable_plaintext_auth = no
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {base}/passwd
}}
service auth {{
  unix_listener auth {{
    path = {base}/auth-client
    mode = 0666
  }}
  unix_listener auth-master {{
    path = {base}/auth-userdb
    mode = 0666
  }}
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


class Dovecot:
    """A private Dovecot (auth service only) with a passwd-file, listening
    on <base>/auth-client and <base>/auth-userdb."""

    def __init__(self, base, users):
        self.base = pathlib.Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / "run").mkdir(exist_ok=True)
        (self.base / "state").mkdir(exist_ok=True)
        import grp
        import pwd
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        # Mail uid/gid only matter to Dovecot's own delivery: use nobody.
        lines = [f"{u}:{{PLAIN}}{p}:65534:65534::"
                 f"{self.base}::" for u, p in users.items()]
        (self.base / "passwd").write_text("\n".join(lines) + "\n")
        self.conf = self.base / "dovecot.conf"
        self.conf.write_text(DOVECOT_CONF.format(base=self.base, user=user,
                                                 group=group))
        self.prefix = str(self.base / "auth")
        self.proc = None

    def start(self):
        exe = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not os.path.exists(exe):
            pytest.fail("dovecot (Debian dovecot-core) is not installed: "
                        "scripts/install-deps.sh installs it")
        # Foreground (-F), so we own the process and can stop it by pid.
        self.proc = subprocess.Popen(
            [exe, "-F", "-c", str(self.conf)], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=open(self.base / "stderr",
                                                   "wb"))
        import time
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("dovecot could not start: "
                            + (self.base / "stderr").read_text()
                            + self.log())
            if ((self.base / "auth-client").exists()
                    and (self.base / "auth-userdb").exists()):
                return self
            time.sleep(0.05)
        self.stop()
        pytest.fail("dovecot did not create its auth sockets: "
                    + self.log())

    def log(self):
        p = self.base / "dovecot.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
