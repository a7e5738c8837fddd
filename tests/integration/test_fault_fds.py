"""Fault: the daemon runs out of file descriptors.

The test lowers the running daemon's RLIMIT_NOFILE with prlimit(1) and
opens many connections:

  * the daemon serves as many connections as the limit leaves room for,
    less a headroom for queue files, hooks and MDAs; the connections beyond get "421 4.3.2 Too many connections" at once
    and are closed (none is left waiting in the listen backlog);
  * the connections it took finish their mail: 250, then delivered;
  * with the limit down to what is already open, accept(2) itself fails
    (EMFILE): the client is still answered, "421 4.3.2 Too many open
    files", from a descriptor kept in reserve, and counted in
    chasquid/smtpIn/refusedOutOfFds;
  * the accept loop does not spin: the daemon's CPU time (from /proc)
    during a flood of refused connections stays low;
  * with the limit back, mail flows again, no restart.
"""

import os
import subprocess
import time

from queueutil import delivered, mda_env, setup_mda, wait_for
from smtputil import RawClient

CLK_TCK = os.sysconf("SC_CLK_TCK")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def lowest_free_fd(pid):
    """RLIMIT_NOFILE bounds descriptor numbers: at this limit, the process
    has none left to open."""
    used = {int(n) for n in os.listdir(f"/proc/{pid}/fd")}
    return next(n for n in range(len(used) + 1) if n not in used)


def exhaust(pid, hard):
    """Lowers the soft limit to the lowest free descriptor number, again
    until no descriptor was freed meanwhile (an MDA's pipes close a little
    after its delivery shows)."""
    for _ in range(100):
        n = lowest_free_fd(pid)
        set_nofile(pid, n, hard)
        time.sleep(0.2)
        if lowest_free_fd(pid) == n:
            return n
    raise AssertionError("the daemon's descriptors never settled")


def cpu_seconds(pid):
    """User + system CPU time of the whole process (every thread)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def set_nofile(pid, soft, hard):
    subprocess.run(["prlimit", f"--pid={pid}", f"--nofile={soft}:{hard}"],
                   check=True)


def greeting(port):
    """Connects; returns (client, first reply line or "" if closed)."""
    cl = RawClient(port, timeout=20)
    try:
        lines = cl.reply()
    except ConnectionResetError:
        lines = []
    return cl, (lines[0] if lines else "")


def flood(port, seconds):
    """Connects again and again for `seconds`; returns the replies seen."""
    seen = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        cl, first = greeting(port)
        cl.close()
        seen[first] = seen.get(first, 0) + 1
    return seen


def send_mail(cl, i):
    assert cl.do("EHLO client").startswith("250")
    assert cl.do("MAIL FROM:<a@far>").startswith("250")
    assert cl.do("RCPT TO:<user@testserver>").startswith("250")
    assert cl.do("DATA").startswith("354")
    reply = cl.do(f"Subject: c{i}\r\n\r\nbody\r\n.")
    assert reply.startswith("250 2.0.0"), reply
    assert cl.do("QUIT").startswith("221")
    cl.close()


def test_out_of_fds_refuses_new_and_finishes_open(chasquid_factory):
    c = chasquid_factory()
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    c.start("--testing__queue_retry_delay=1s", env=mda_env(maildir), wait_port=c.smtp_port)
    pid = c.proc.pid
    with open(f"/proc/{pid}/limits") as f:
        line = [l for l in f if l.startswith("Max open files")][0]
    orig_soft, orig_hard = line.split()[3:5]

    # 1. 80 descriptors to spare: about 48 connections, and 32 of headroom.
    limit = open_fds(pid) + 80
    set_nofile(pid, limit, orig_hard)
    served, refused = [], []
    for _ in range(80):
        cl, first = greeting(c.smtp_port)
        if first.startswith("220"):
            served.append(cl)
        else:
            assert first == "421 4.3.2 Too many connections, try again " \
                "later", first
            refused.append(cl)
            assert cl.closed()
            cl.close()
    print(f"limit {limit}: {len(served)} served, {len(refused)} refused")
    assert 35 <= len(served) <= 55
    assert len(refused) == 80 - len(served)
    # The open ones finish their mail, with the others still holding on.
    for i, cl in enumerate(served):
        send_mail(cl, i)
    wait_for(lambda: len(delivered(maildir, "user@testserver")) ==
             len(served), timeout=60, what="their mail delivered")

    # 2. Down to what is open now: accept itself fails; a flood of clients
    # is answered from the reserve, and the loop does not spin.
    # (The monitoring server cannot accept either: read counters before
    # and after.)
    wait_for(lambda: c.var("chasquid/queue/length") == 0, timeout=30,
             what="the queue idle")
    before = c.var("chasquid/smtpIn/refusedOutOfFds")
    exhaust(pid, orig_hard)
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    seen = flood(c.smtp_port, 3)
    cpu_s = cpu_seconds(pid) - cpu0
    cpu = cpu_s / (time.monotonic() - t0)
    per_conn_us = cpu_s / max(1, sum(seen.values())) * 1e6
    # Idle, with the clients gone: a spinning loop would keep burning.
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    time.sleep(2)
    idle_cpu = (cpu_seconds(pid) - cpu1) / (time.monotonic() - t1)
    print(f"out of fds: {sum(seen.values())} connections in 3 s, {seen}; "
          f"daemon CPU {cpu:.0%} during ({per_conn_us:.0f} us per "
          f"connection), {idle_cpu:.0%} after")
    assert set(seen) == {"421 4.3.2 Too many open files, try again later"}
    # The work follows the clients (a faster client, more CPU), so the
    # bound is per connection; a spinning loop would burn with none.
    assert per_conn_us < 500
    assert idle_cpu < 0.1
    assert "refusing new connections until descriptors free up" in c.log()

    # 3. The limit is back: mail flows.
    set_nofile(pid, orig_soft, orig_hard)
    refusals = c.var("chasquid/smtpIn/refusedOutOfFds") - before
    assert refusals == sum(seen.values())
    cl, first = greeting(c.smtp_port)
    assert first.startswith("220"), first
    send_mail(cl, "after")
    wait_for(lambda: len(delivered(maildir, "user@testserver")) ==
             len(served) + 1, timeout=60, what="mail after recovery")
    assert "descriptors available again" in c.log()
    assert c.proc.poll() is None
