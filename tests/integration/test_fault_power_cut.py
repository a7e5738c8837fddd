"""Fault: a power cut right after the daemon answered 250 to DATA.

What survives a power cut is what was fsync'd. A new queue item is written
to a temporary file, fsync'd, renamed to queue/m:<id>, and the queue
directory is fsync'd so that the rename itself is durable; only then may the
client hear 250. This test watches the real daemon's system calls with
strace, in the order the kernel saw them, while clients send mail over
several sessions at once, and fails if any 250 reply to DATA was written
before the fsync of its item, the rename, and a directory fsync that began
after the rename had finished.

The MTA-STS cache keeps a domain's enforced policy across fetches an
attacker could block, so its entries are fsync'd before they are renamed
into place too, on the blocking pool rather than a network thread; and a
cache entry torn by a power cut (cut short, whatever its mtime says) is
never taken for a policy: it is fetched again and replaced whole.
"""

import json
import os
import pathlib
import re
import signal
import smtplib
import subprocess
import threading
import time

from conftest import free_port
from dnsserver import DNSServer
from queueutil import delivered, mda_env, setup_mda, wait_for
from remoteutil import CA, SMTPPeer, STSServer, env_with_ca, \
    free_loopback_ip, sts_policy_text, submit

TRACED = "openat,fsync,fdatasync,rename,renameat,renameat2," \
         "write,writev,sendto,sendmsg"

_LINE = re.compile(r"^(\d+)\s+(.*)$")
_CALL = re.compile(r"^(\w+)\((.*)$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
_RET = re.compile(r"\)\s+=\s+(-?\d+|\?)")
_FD_PATH = re.compile(r"^\d+<([^>]*)>")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def parse_strace(text):
    """strace -f output -> syscalls in order, each a dict with name, args,
    ret, start and end (line indexes of its entry and its exit)."""
    calls, open_calls = [], {}
    for i, raw in enumerate(text.splitlines()):
        m = _LINE.match(raw)
        if not m:
            continue
        pid, rest = m.groups()
        r = _RESUMED.match(rest)
        if r:
            c = open_calls.pop((pid, r.group(1)), None)
            if c is None:
                continue
            c["args"] += r.group(2)
            c["end"] = i
        else:
            cm = _CALL.match(rest)
            if not cm:
                continue  # Signals, exits.
            c = {"name": cm.group(1), "args": cm.group(2), "start": i,
                 "end": None, "tid": int(pid)}
            calls.append(c)
            if rest.endswith("<unfinished ...>"):
                open_calls[(pid, c["name"])] = c
                continue
            c["end"] = i
        ret = _RET.search(c["args"])
        c["ret"] = ret.group(1) if ret else None
    return [c for c in calls if c["end"] is not None]


def check_250_after_fsyncs(calls, qdir):
    """Returns (number of 250 replies to DATA, list of problems)."""
    q = str(qdir)
    tmp_synced = {}   # temporary path -> exit index of its fsync
    creations = []    # (rename entry, rename exit, destination)
    seen_dests = set()
    dir_syncs = []    # (entry, exit)
    replies = []      # entry indexes of "250 2.0.0" writes
    for c in calls:
        name, args = c["name"], c["args"]
        if name in ("fsync", "fdatasync") and c["ret"] == "0":
            m = _FD_PATH.match(args)
            path = m.group(1) if m else ""
            if path == q:
                dir_syncs.append((c["start"], c["end"]))
            elif path.startswith(q + "/."):
                tmp_synced[path] = c["end"]
        elif name.startswith("rename") and c["ret"] == "0":
            paths = _QUOTED.findall(args)
            if len(paths) == 2 and paths[1].startswith(q + "/m:") \
                    and paths[1] not in seen_dests:
                seen_dests.add(paths[1])
                synced = tmp_synced.get(paths[0])
                if synced is not None and synced < c["start"]:
                    creations.append((c["start"], c["end"], paths[1]))
                else:
                    creations.append((c["start"], c["end"], None))
        elif name in ("write", "writev", "sendto", "sendmsg") and \
                '"250 2.0.0 ' in args:
            replies.append(c["start"])

    # A rename made durable by a directory fsync that began after it ended
    # is valid for every reply after that fsync's end, so matching each
    # reply, in order, to the earliest valid unclaimed item is exact.
    problems, claimed = [], set()
    for w in replies:
        found = None
        for k, (_, r_end, dest) in enumerate(creations):
            if k in claimed or dest is None or r_end >= w:
                continue
            if any(d_start > r_end and d_end < w
                   for d_start, d_end in dir_syncs):
                found = k
                break
        if found is None:
            problems.append(f"250 at trace line {w + 1} with no item "
                            "fsync'd, renamed and its directory fsync'd "
                            "before it")
        else:
            claimed.add(found)
    return len(replies), problems


def test_checker_catches_a_missing_directory_fsync(tmp_path):
    # The checker itself, on hand-made traces: it must be able to fail.
    q = tmp_path / "queue"
    good = (f'1 fsync(9<{q}/.m:abc123>) = 0\n'
            f'1 rename("{q}/.m:abc123", "{q}/m:abc") = 0\n'
            f'1 fsync(8<{q}>) = 0\n'
            f'2 write(5<TCP:[1]>, "250 2.0.0 Ok\\r\\n", 14) = 14\n')
    assert check_250_after_fsyncs(parse_strace(good), q) == (1, [])
    no_dir = good.replace(f"1 fsync(8<{q}>) = 0\n", "")
    assert check_250_after_fsyncs(parse_strace(no_dir), q)[1]
    no_file = good.replace(f"1 fsync(9<{q}/.m:abc123>) = 0\n", "")
    assert check_250_after_fsyncs(parse_strace(no_file), q)[1]
    # A directory fsync already running when the rename ended does not
    # cover it.
    early = (f'1 fsync(9<{q}/.m:abc123>) = 0\n'
             f'3 fsync(8<{q}> <unfinished ...>\n'
             f'1 rename("{q}/.m:abc123", "{q}/m:abc") = 0\n'
             f'3 <... fsync resumed>) = 0\n'
             f'2 write(5<TCP:[1]>, "250 2.0.0 Ok\\r\\n", 14) = 14\n')
    assert check_250_after_fsyncs(parse_strace(early), q)[1]
    # Two replies, one durable item.
    two = good + '2 write(5<TCP:[1]>, "250 2.0.0 Ok\\r\\n", 14) = 14\n'
    assert len(check_250_after_fsyncs(parse_strace(two), q)[1]) == 1


def attach_strace(pid, out, err):
    """Starts strace on every thread of `pid`; returns once attached."""
    st = subprocess.Popen(
        ["strace", "-f", "-qq", "-yy", "-s", "64", "-e", f"trace={TRACED}",
         "-o", str(out), "-p", str(pid)],
        stdout=subprocess.DEVNULL, stderr=open(err, "wb"))
    # -qq hides the attach messages: wait until the daemon's threads show
    # as traced instead.
    def attached():
        try:
            tasks = list(pathlib.Path(f"/proc/{pid}/task").iterdir())
            return all(
                re.search(r"^TracerPid:\s+[1-9]",
                          (t / "status").read_text(), re.M)
                for t in tasks)
        except OSError:
            return False
    wait_for(attached, timeout=30, what="strace attached")
    return st


def test_no_250_before_the_item_and_its_directory_are_fsynced(
        chasquid_factory):
    c = chasquid_factory()
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    c.start(env=mda_env(maildir), wait_port=c.smtp_port)
    qdir = c.data_dir / "queue"
    st = attach_strace(c.proc.pid, c.root / "strace.txt",
                       c.root / "strace.err")
    try:
        def send(n):
            with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=60) as s:
                for i in range(3):
                    s.sendmail("a@far", ["user@testserver"],
                               f"Subject: m{n}.{i}\r\n\r\nbody\r\n")

        # One session alone, then six at once: concurrent items share
        # directory fsyncs, the path most likely to get the order wrong.
        send(0)
        threads = [threading.Thread(target=send, args=(n,))
                   for n in range(1, 7)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        wait_for(lambda: len(delivered(maildir, "user@testserver")) == 21,
                 timeout=60, what="all 21 messages delivered")
    finally:
        st.send_signal(signal.SIGINT)  # Detaches; the daemon runs on.
        st.wait(timeout=30)
    assert c.proc.poll() is None
    calls = parse_strace((c.root / "strace.txt").read_text())
    n, problems = check_250_after_fsyncs(calls, qdir)
    assert n == 21, f"strace saw {n} replies of 250 to DATA, not 21"
    assert problems == []

    # The daemon still serves after having been traced.
    with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=30) as s:
        s.sendmail("a@far", ["user@testserver"], "Subject: after\r\n\r\nx\r\n")
    wait_for(lambda: len(delivered(maildir, "user@testserver")) == 22,
             timeout=30, what="the message after tracing delivered")


def test_sts_cache_entry_fsynced_on_the_pool_and_torn_one_refetched(
        chasquid_factory, tmp_path):
    """A torn entry for good.test (a prefix of a policy naming another
    MX, its mtime a day ahead, as a power cut could leave it) is on disk
    at start-up (and stays: the refresh pass at start-up cannot fetch a
    policy yet). The first delivery to good.test does not take it for a
    policy: it fetches the real one (enforce, mx.good.test), delivers by
    it, and replaces the entry whole, fsync'ing the temporary file before
    the rename, on a thread of the blocking pool (neither the main thread
    nor an "io-N" one)."""
    c = chasquid_factory()
    c.add_user("alice", "testserver", "pw")
    ca = CA(tmp_path / "ca")
    ip, port = free_loopback_ip(), free_port()
    cache = c.data_dir / "sts-cache"
    cache.mkdir(parents=True, exist_ok=True)
    entry = cache / "pol:good.test"
    whole = json.dumps({"version": "STSv1", "mode": "enforce",
                        "mx": ["evil.test"], "max_age": 86400 * 10**9},
                       separators=(",", ":"))
    entry.write_text(whole[:len(whole) // 2])
    later = time.time() + 86400
    os.utime(entry, (later, later))
    sts_cert = ca.issue(tmp_path / "sts", "mta-sts.good.test")
    mx_cert = ca.issue(tmp_path / "mx", "mx.good.test")
    with DNSServer() as dns, \
            STSServer(ip, *sts_cert,
                      sts_policy_text("enforce", "mx.good.test")) as sts, \
            SMTPPeer(port, *mx_cert) as peer:
        dns.add("good.test", "MX", "10 mx.good.test")
        dns.add("mx.good.test", "A", "127.0.0.1")
        # Through /etc/resolv.conf (the same DNS server on port 53 of an
        # address of its own).
        c.start(f"--testing__outgoing_smtp_port={port}",
                env=env_with_ca(ca), wait_port=c.submission_port,
                system_dns=dns)
        pid = c.proc.pid
        # The refresh pass at start-up finds no policy to fetch yet, and
        # leaves the entry as it is.
        wait_for(lambda: (c.var("chasquid/sts/cache/refreshCycles") or 0)
                 >= 1, what="the refresh pass at start-up")
        assert c.var("chasquid/sts/cache/refreshErrors") == 1
        assert entry.read_text() == whole[:len(whole) // 2]
        dns.add("_mta-sts.good.test", "TXT", "v=STSv1; id=1")
        dns.add("mta-sts.good.test", "A", ip)
        st = attach_strace(pid, c.root / "strace.txt", c.root / "strace.err")
        try:
            submit(c, "alice@testserver", "pw", "alice@testserver",
                   "x@good.test", "after the power cut")
            wait_for(lambda: len(peer.messages) == 1, timeout=30,
                     what="delivered to the MX the fetched policy names")
            wait_for(lambda: c.var("chasquid/queue/length") == 0,
                     what="queue empty")
            threads = {int(t.name): (t / "comm").read_text().strip()
                       for t in pathlib.Path(f"/proc/{pid}/task").iterdir()}
        finally:
            st.send_signal(signal.SIGINT)  # Detaches; the daemon runs on.
            st.wait(timeout=30)
        assert c.proc.poll() is None
        assert sts.requests == 1
        assert c.var("chasquid/sts/cache/unmarshalErrors") == 1
        assert (c.var("chasquid/sts/cache/hits") or 0) == 0
        assert c.var("chasquid/smtpOut/sts/security", "pass") == 1
        assert json.loads(entry.read_text()) == {
            "version": "STSv1", "mode": "enforce", "mx": ["mx.good.test"],
            "max_age": 3600 * 10**9}
        assert sorted(p.name for p in cache.iterdir()) == ["pol:good.test"]

    calls = parse_strace((c.root / "strace.txt").read_text())
    tmp = re.compile(re.escape(str(cache)) + r"/\.pol:good\.test\d+")
    synced = [x for x in calls if x["name"] in ("fsync", "fdatasync")
              and x["ret"] == "0" and tmp.search(x["args"])]
    renamed = [x for x in calls if x["name"].startswith("rename")
               and x["ret"] == "0" and tmp.search(x["args"])
               and f'"{entry}"' in x["args"]]
    assert len(synced) == 1 and len(renamed) == 1, (synced, renamed)
    assert synced[0]["end"] < renamed[0]["start"]
    # Both on one thread of the blocking pool.
    tid = synced[0]["tid"]
    assert renamed[0]["tid"] == tid
    assert tid != pid and tid in threads, (tid, threads)
    assert not threads[tid].startswith("io-"), threads
