"""The post-data hook runs like every other child of the daemon: it gets
no descriptor of ours, it dies with the daemon, and on timeout its whole
process group is killed."""

import os
import signal
import smtplib
import threading

from conftest import wait_for


def start(chasquid_factory, dns, tmp_path, hook, *flags, system=False):
    """`system`: the daemon finds `dns` through the system resolver
    (/etc/resolv.conf, conftest's system_dns) rather than the flag."""
    c = chasquid_factory(extra_conf='mail_delivery_agent_bin: "/bin/true"\n')
    c.add_user("user", "testserver", "pass")
    hooks = c.config_dir / "hooks"
    hooks.mkdir()
    (hooks / "post-data").write_text(
        "#!/bin/sh\n" + hook.replace("{d}", str(tmp_path)))
    os.chmod(hooks / "post-data", 0o755)
    if system:
        c.start(*flags, wait_port=c.smtp_port, system_dns=dns)
    else:
        c.start(f"--testing__dns_addr={dns.addr}", *flags,
                wait_port=c.smtp_port)
    return c


def send(c):
    """Returns DATA's (code, text), or the exception if the connection
    broke."""
    try:
        with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=60) as s:
            s.ehlo("client.example")
            s.mail("sender@example.org")
            s.rcpt("user@testserver")
            return s.data("Subject: hi\r\n\r\nhello\r\n")
    except (smtplib.SMTPException, OSError) as e:
        return e


def alive(pid):
    """Running, and not a zombie waiting for a reaper."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def read_pid(path):
    wait_for(lambda: path.exists() and path.read_text().endswith("\n"))
    return int(path.read_text())


# Records its pid and a background child's, then waits for the child.
SLOW_HOOK = """echo $$ > {d}/hook.pid.tmp && mv {d}/hook.pid.tmp {d}/hook.pid
sleep 300 &
echo $! > {d}/child.pid.tmp && mv {d}/child.pid.tmp {d}/child.pid
wait
"""


def test_hook_gets_no_descriptor_of_the_daemon(chasquid_factory, dns,
                                               tmp_path):
    # Through the system resolver: its sockets are not the hook's either.
    c = start(chasquid_factory, dns, tmp_path,
              "ls /proc/self/fd > {d}/fds\necho 'X-Hook: ran'\n",
              system=True)
    before = c.var("chasquid/smtpIn/hookResults", "post-data:success")
    assert send(c)[0] == 250
    # 0, 1, 2 and the one ls lists /proc/self/fd with: no listener,
    # connection or queue file.
    assert sorted((tmp_path / "fds").read_text().split()) == [
        "0", "1", "2", "3"]
    assert c.var("chasquid/smtpIn/hookResults",
                 "post-data:success") == before + 1
    # `dns` answered through resolv.conf (NXDOMAIN: SPF none); a resolver
    # that could not reach it would have given temperror.
    assert c.var("chasquid/smtpIn/spfResultCount") == {"none": 1}


def test_timeout_kills_the_hooks_process_group(chasquid_factory, dns,
                                               tmp_path):
    c = start(chasquid_factory, dns, tmp_path, SLOW_HOOK,
              "--testing__hook_timeout=1s")
    before = c.var("chasquid/smtpIn/hookResults", "post-data:fail")
    code, _ = send(c)
    assert code == 451
    hook = read_pid(tmp_path / "hook.pid")
    child = read_pid(tmp_path / "child.pid")
    assert wait_for(lambda: not alive(hook) and not alive(child))
    assert c.var("chasquid/smtpIn/hookResults",
                 "post-data:fail") == before + 1


def test_hook_dies_with_the_daemon(chasquid_factory, dns, tmp_path):
    c = start(chasquid_factory, dns, tmp_path, SLOW_HOOK)
    result = []
    t = threading.Thread(target=lambda: result.append(send(c)), daemon=True)
    t.start()
    hook = read_pid(tmp_path / "hook.pid")
    read_pid(tmp_path / "child.pid")
    assert alive(hook)
    c.proc.send_signal(signal.SIGKILL)
    c.proc.wait(timeout=10)
    assert wait_for(lambda: not alive(hook)), "hook outlived the daemon"
    t.join(30)
    # The client never got a 250 for a message nobody queued.
    assert result and not isinstance(result[0], tuple), result
    # The background sleep is the hook's own business; end it.
    os.kill(read_pid(tmp_path / "child.pid"), signal.SIGKILL)
