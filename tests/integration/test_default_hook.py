"""The post-data hook we ship (dist/etc-chasquid/hooks/post-data), run by
the real daemon.

With no checker installed it adds nothing and the message is delivered.
With a greylisting command on the daemon's PATH, a first attempt from an
unknown client is refused with a 451 and the retry is accepted, and the
command got the client's address, the sender and each recipient. The
stand-in `greylist` answers like greylistd's client (exit 1 "grey", then
exit 0 "white"), since greylistd itself needs a daemon running as root.
"""

import os
import pathlib
import shutil
import smtplib

from conftest import wait_for

REPO = pathlib.Path(__file__).resolve().parents[2]
HOOK = REPO / "dist" / "etc-chasquid" / "hooks" / "post-data"

# Shell built-ins only: the daemon's PATH holds nothing else. {d} is the
# directory it lives in.
FAKE_GREYLIST = """#!/bin/sh
echo "$@" >> {d}/greylist.calls
if [ -e {d}/greylist.seen ]; then echo white; exit 0; fi
: > {d}/greylist.seen
echo grey
exit 1
"""


def start(chasquid_factory, dns, tmp_path, tools, system=False):
    """A daemon with our hook, whose PATH holds only `tools`; `system`:
    it finds `dns` through the system resolver (/etc/resolv.conf,
    conftest's system_dns) rather than the flag."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, text in tools.items():
        (bindir / name).write_text(text.replace("{d}", str(bindir)))
        os.chmod(bindir / name, 0o755)
    c = chasquid_factory(extra_conf='mail_delivery_agent_bin: "/bin/true"\n')
    c.add_user("user", "testserver", "pass")
    hooks = c.config_dir / "hooks"
    hooks.mkdir()
    shutil.copy(HOOK, hooks / "post-data")
    env = dict(os.environ, PATH=str(bindir))
    if system:
        c.start(wait_port=c.smtp_port, env=env, system_dns=dns)
    else:
        c.start(f"--testing__dns_addr={dns.addr}", wait_port=c.smtp_port,
                env=env)
    return c, bindir


def send(c):
    with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=20) as s:
        s.ehlo("client.example")
        assert s.mail("sender@example.org")[0] == 250
        assert s.rcpt("user@testserver")[0] == 250
        return s.data("Subject: hi\r\n\r\nhello\r\n")


def test_no_checker_installed_adds_nothing(chasquid_factory, dns, tmp_path):
    # Through the system resolver, as the hook runs on a real machine.
    c, _ = start(chasquid_factory, dns, tmp_path, {}, system=True)
    before = c.var("chasquid/smtpIn/hookResults", "post-data:success")
    assert send(c)[0] == 250
    assert c.var("chasquid/smtpIn/hookResults",
                 "post-data:success") == before + 1
    log = c.root / "mail.log"
    assert wait_for(lambda: " all done" in log.read_text())
    # `dns` answered through resolv.conf (NXDOMAIN: SPF none); a resolver
    # that could not reach it would have given temperror.
    assert c.var("chasquid/smtpIn/spfResultCount") == {"none": 1}


def test_greylisting_refuses_first_attempt(chasquid_factory, dns, tmp_path):
    c, bindir = start(chasquid_factory, dns, tmp_path,
                      {"greylist": FAKE_GREYLIST})
    code, text = send(c)
    assert (code, text) == (451, b"4.7.1 Greylisted, please try again later")
    assert c.var("chasquid/smtpIn/hookResults", "post-data:fail") == 1
    assert send(c)[0] == 250
    calls = (bindir / "greylist.calls").read_text().splitlines()
    assert calls == ["update 127.0.0.1 sender@example.org user@testserver"] * 2
