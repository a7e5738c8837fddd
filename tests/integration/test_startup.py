"""Daemon start-up: certificate
and domain discovery, the mail log, the data dir, reloads, and the exact
fatal texts for bad input, with the real daemon."""

import os
import signal
import smtplib
import subprocess
import time

import pytest

from conftest import make_cert, wait_for
from smtputil import insecure_ctx


def can_login(c, user, password):
    try:
        s = smtplib.SMTP("127.0.0.1", c.submission_port, timeout=10)
    except ConnectionRefusedError:
        return False  # Still starting: the listeners open last.
    with s:
        s.starttls(context=insecure_ctx())
        try:
            s.login(user, password)
            return True
        except smtplib.SMTPAuthenticationError:
            return False


def wait_for_log(c, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in c.log():
            return
        if c.proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in log:\n{c.log()}")


def wait_exit(c, timeout=10):
    try:
        return c.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("daemon did not exit:\n" + c.log())


def fatal(c, *flags):
    """Runs the daemon to its exit; returns the last 4 output lines (what
    chasquid's own tests look at) after checking the exit status."""
    rc, out = c.run_to_exit(*flags)
    assert rc == 1, out
    return "\n".join(out.strip().split("\n")[-4:])


def test_good_startup_logs(chasquid_factory):
    c = chasquid_factory(domains=("testserver", "Other.Dom", "xn--aca-6ma"))
    c.add_user("user", "testserver", "secretpassword")
    c.add_user("two", "testserver", "x")
    (c.config_dir / "domains" / "README").write_text("a regular file")
    certs = c.config_dir / "certs"
    (certs / "empty-dir").mkdir()
    (certs / "README").write_text("ignored")
    os.symlink("testserver", certs / "symlink")
    os.symlink("README", certs / "file-link")
    c.start()
    wait_for_log(c, "  testserver (2 users, 0 aliases, 0 DKIM keys)")
    log = c.log()
    assert "Loading certificates:" in log
    assert "  empty-dir\n" in log
    assert ("    skipping: stat certs/empty-dir/fullchain.pem: no such file "
            "or directory") in log
    assert ("    skipping: stat certs/file-link/fullchain.pem: not a "
            "directory") in log
    assert "  README\n" not in log.split("Loading certificates:")[1] \
        .split("Domain config paths:")[0]
    assert "  symlink\n" in log
    assert "  other.dom (0 users, 0 aliases, 0 DKIM keys)" in log
    assert "  ñaca (0 users, 0 aliases, 0 DKIM keys)" in log
    # The mail log file is opened (created) at start-up; data dir made.
    assert (c.root / "mail.log").exists()
    assert c.data_dir.is_dir()
    assert c.proc.poll() is None


def test_missing_config(chasquid_factory):
    c = chasquid_factory()
    (c.config_dir / "chasquid.conf").unlink()
    out = fatal(c)
    assert (f'Error loading config: failed to read config at '
            f'"{c.config_dir}/chasquid.conf": open {c.config_dir}/'
            f'chasquid.conf: no such file or directory') in out


def test_malformed_config_names_file_and_line(chasquid_factory):
    c = chasquid_factory()
    c.write_conf('hostname: "x"\nsmtp_address: "a"\nbogus_field: 3\n')
    out = fatal(c)
    assert "Error loading config: parsing config: " in out
    assert f"{c.config_dir}/chasquid.conf:3:" in out
    assert "bogus_field" in out


def test_bad_mail_log(chasquid_factory):
    c = chasquid_factory()
    c.write_conf((c.config_dir / "chasquid.conf").read_text().replace(
        str(c.root / "mail.log"), "/proc/no-such-dir/mail_log"))
    out = fatal(c)
    assert ("Error opening mail log: open /proc/no-such-dir/mail_log: no "
            "such file or directory") in out


@pytest.mark.parametrize("mode", ["<stdout>", "<stderr>"])
def test_mail_log_streams_start(chasquid_factory, mode):
    c = chasquid_factory()
    c.write_conf((c.config_dir / "chasquid.conf").read_text().replace(
        str(c.root / "mail.log"), mode))
    c.start()
    wait_for_log(c, "  testserver (0 users")
    assert c.proc.poll() is None


def test_certs_errors(chasquid_factory):
    c = chasquid_factory(cert=False)
    out = fatal(c)
    assert ('Error reading "certs/" directory: open certs/: no such file or '
            'directory') in out
    (c.config_dir / "certs").mkdir()
    assert 'No entries found in "certs/"' in fatal(c)

    make_cert(c.config_dir / "certs" / "a")
    make_cert(c.config_dir / "certs" / "b")
    # A key that does not match its certificate.
    (c.config_dir / "certs" / "a" / "privkey.pem").write_bytes(
        (c.config_dir / "certs" / "b" / "privkey.pem").read_bytes())
    out = fatal(c)
    assert ("    tls: private key does not match public key "
            "(certs/a/privkey.pem)") in out
    (c.config_dir / "certs" / "a" / "fullchain.pem").write_text("garbage\n")
    out = fatal(c)
    assert ("    tls: failed to find any PEM data in certificate input "
            "(certs/a/fullchain.pem)") in out


def test_domains_errors(chasquid_factory):
    c = chasquid_factory(domains=())
    out = fatal(c)
    assert ('Error reading "domains/" directory: open domains/: no such '
            'file or directory') in out
    (c.config_dir / "domains").mkdir()
    assert 'No entries found in "domains/"' in fatal(c)
    # A bad name is fatal even for a regular file.
    (c.config_dir / "domains" / "xn---").write_text("")
    assert 'Invalid name "xn---": idna: invalid label "-"' in fatal(c)
    (c.config_dir / "domains" / "xn---").unlink()
    (c.config_dir / "domains" / "xn--ñ").mkdir()
    assert 'Invalid name "xn--\\u00f1": idna: invalid label' in fatal(c)
    (c.config_dir / "domains" / "xn--ñ").rmdir()

    d = c.config_dir / "domains" / "testserver"
    d.mkdir()
    (d / "users").write_text(
        "users:{ key: 'user' value:{ plain:{ password: 'x' }}}\n"
        "users:{ key: 'bad' valu:{ }}\n")
    out = fatal(c)
    assert ("  testserver: users file error: domains/testserver/users:2:"
            in out), out
    (d / "users").unlink()
    (d / "users").mkdir()  # Unreadable even for root.
    out = fatal(c)
    assert ("  testserver: users file error: read domains/testserver/users: "
            "is a directory") in out


def test_periodic_reload_picks_up_and_fails_on_users(chasquid_factory):
    c = chasquid_factory()
    c.start("--testing__reload_every=50ms")
    wait_for_log(c, "  testserver (0 users")
    users = c.config_dir / "domains" / "testserver" / "users"
    # A valid file appears: the reload takes it without complaint.
    c.add_user("user", "testserver", "pw")
    # A reload took it: the new user can log in, and the daemon is up.
    wait_for(lambda: can_login(c, "user@testserver", "pw"),
             what="a periodic reload to load the new user")
    assert c.proc.poll() is None, c.log()
    users.write_text("this is not a users file\n")
    assert wait_exit(c) == 1
    assert ('Error reloading authenticators: "testserver": '
            'domains/testserver/users:1:') in c.log()


def test_sighup_reopens_mail_log_and_reloads(chasquid_factory):
    c = chasquid_factory()
    c.start()
    wait_for_log(c, "  testserver (0 users")
    mail_log = c.root / "mail.log"
    assert mail_log.exists()
    mail_log.rename(c.root / "mail.log.1")
    c.proc.send_signal(signal.SIGHUP)
    wait_for_log(c, "Received SIGHUP, reloading")
    deadline = time.monotonic() + 10
    while not mail_log.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mail_log.exists(), "mail log not reopened on SIGHUP"
    assert c.proc.poll() is None
    # A broken users file makes the SIGHUP reload fatal.
    (c.config_dir / "domains" / "testserver" / "users").write_text("{{{")
    c.proc.send_signal(signal.SIGHUP)
    assert wait_exit(c) == 1
    assert 'Error reloading authenticators: "testserver"' in c.log()
