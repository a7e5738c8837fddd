"""Fault: a power cut right after the daemon answered 250 to DATA.

What survives a power cut is what was fsync'd. A new queue item is written
to a temporary file, fsync'd, renamed to queue/m:<id>, and the queue
directory is fsync'd so that the rename itself is durable; only then may the
client hear 250. This test watches the real daemon's system calls with
strace, in the order the kernel saw them, while clients send mail over
several sessions at once, and fails if any 250 reply to DATA was written
before the fsync of its item, the rename, and a directory fsync that began
after the rename had finished.
"""

import pathlib
import re
import signal
import smtplib
import subprocess
import threading

from queueutil import delivered, mda_env, setup_mda, wait_for

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
                 "end": None}
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
