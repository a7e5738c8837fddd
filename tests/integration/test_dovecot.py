"""Dovecot authentication against a real
Dovecot (Debian dovecot-core) started on unix sockets in a tmp dir, through
dovecot-auth-cli and the daemon's start-up check."""

import subprocess

import pytest

from conftest import binary
from usersutil import Dovecot


def cli(*args):
    r = subprocess.run([binary("dovecot-auth-cli"), *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    return r


@pytest.fixture
def dovecot(tmp_path):
    d = Dovecot(tmp_path / "dovecot", {"user@dom": "pass word",
                                       "bare": "pw2",
                                       "ñandú@dom": "ñ"})
    d.start()
    yield d
    d.stop()


def test_exists_and_auth(dovecot):
    p = dovecot.prefix
    assert cli(p, "exists", "user@dom").stdout == "yes\n"
    assert cli(p, "exists", "bare").stdout == "yes\n"
    assert cli(p, "exists", "ñandú@dom").stdout == "yes\n"
    assert cli(p, "exists", "nobody@dom").stdout == "no: <nil>\n"
    assert cli(p, "auth", "user@dom", "pass word").stdout == "yes\n"
    assert cli(p, "auth", "ñandú@dom", "ñ").stdout == "yes\n"
    assert cli(p, "auth", "bare", "pw2").stdout == "yes\n"
    assert cli(p, "auth", "user@dom", "wrong").stdout == "no: <nil>\n"
    assert cli(p, "auth", "nobody@dom", "x").stdout == "no: <nil>\n"
    # Field injection is refused before anything is sent.
    assert cli(p, "exists", "a\tb").stdout == \
        "no: username not safe (contains spaces)\n"
    assert cli(p, "auth", "user@dom x", "p").stdout == \
        "no: username not safe (contains spaces)\n"


def test_cli_arguments_and_errors(tmp_path):
    r = cli("x", "exists")
    assert r.stdout == "no: invalid arguments\n"
    assert "Usage:" in r.stderr
    assert cli("x", "frob", "u").stdout == 'no: unknown subcommand "frob"\n'
    prefix = str(tmp_path / "none")
    assert cli(prefix, "exists", "u").stdout == (
        f"no: dial unix {prefix}-userdb: connect: no such file or "
        f"directory\n")
    assert cli(prefix, "auth", "u", "p").stdout == (
        f"no: dial unix {prefix}-client: connect: no such file or "
        f"directory\n")


def test_daemon_fallback_check(chasquid_factory, dovecot):
    c = chasquid_factory()
    c.write_conf((c.config_dir / "chasquid.conf").read_text()
                 + "dovecot_auth: true\n"
                 + f'dovecot_userdb_path: "{dovecot.prefix}-userdb"\n'
                 + f'dovecot_client_path: "{dovecot.prefix}-client"\n')
    c.start()
    expected = (f'Fallback authenticator: DovecotAuth("{dovecot.prefix}'
                f'-userdb", "{dovecot.prefix}-client")')
    import time
    deadline = time.monotonic() + 10
    while "  testserver (0 users" not in c.log():
        assert time.monotonic() < deadline, c.log()
        time.sleep(0.05)
    assert expected in c.log()
    assert "Dovecot auth is not responding" not in c.log()


def test_daemon_fallback_not_responding(chasquid_factory, tmp_path):
    c = chasquid_factory()
    c.write_conf((c.config_dir / "chasquid.conf").read_text()
                 + "dovecot_auth: true\n"
                 + f'dovecot_userdb_path: "{tmp_path}/nope-userdb"\n')
    c.start()
    import time
    deadline = time.monotonic() + 10
    while "  testserver (0 users" not in c.log():
        assert time.monotonic() < deadline, c.log()
        time.sleep(0.05)
    # Only a warning: the daemon keeps running.
    assert (f"Warning: Dovecot auth is not responding: dial unix "
            f"{tmp_path}/nope-userdb: connect: no such file or directory"
            in c.log())
    assert c.proc.poll() is None
