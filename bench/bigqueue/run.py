#!/usr/bin/python3
"""A queue of many waiting items: start-up time, memory per queued item
and the /debug/queue page, for our build and chasquid 1.11 (Debian
package, unpacked, not installed) with the same config and the same item
files, in the same run.

The items: our daemon writes one (a message submitted with AUTH to
rcpt@nowhere.example, whose first attempt failed), and the bench copies
that file --counts times into a fresh queue directory under new IDs
(chasquid's format, so both servers load the same bytes). They wait and
are never delivered: the bench runs in a network namespace of its own
(bench/netns.py) with no DNS server at all, so every MX lookup fails at
once and temporarily (connection refused), and each item goes back to
waiting for its next retry (1 minute or more later).

Per server and count, from the start of the process:
- listening: until the SMTP port listens. Both servers read the whole
  queue before they open their ports.
- settled: until every item's first attempt failed and it waits for its
  retry (the mail log's "completed loop" line for each ID): what a restart
  with that queue costs before the daemon is idle again. CPU s (user +
  system) until then.
- RSS per item: (VmRSS once settled - VmRSS of the same server with an
  empty queue) / count.
- /debug/queue: seconds and bytes of one GET of the page as the server
  serves it by default, and for ours also the whole queue (?limit=0).

Usage: bench/bigqueue/run.py [--counts 1000,10000,100000]
         [--binary build-rel/chasquid] [--only ours|peer] [--csv FILE]
         [--perf FILE] [--dir /dev/shm] [--page_timeout 60]
Not part of the test suite.
"""

import argparse
import os
import pathlib
import random
import re
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("CHASQUID_BUILD", str(REPO / "build"))

from conftest import Chasquid, listening_ports  # noqa: E402
import netns  # noqa: E402
from peer import peer_binary  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
RCPT = "rcpt@nowhere.example"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# About 1 KiB of body: what a short message weighs.
BODY = ("Subject: waiting\r\n\r\n" +
        "".join(f"line {i:03} of a message that waits in the queue\r\n"
                for i in range(20)))


def proc_stat(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / HZ  # utime + stime


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def new_server(root):
    c = Chasquid(root)
    c.add_user("user", "testserver", "x")
    return c


def popen(c, exe):
    c.logf = open(c.log_path, "ab")
    c.proc = subprocess.Popen([exe, f"--config_dir={c.config_dir}"],
                              stdout=c.logf, stderr=subprocess.STDOUT,
                              cwd=c.root)
    return c.proc


def wait_until(pred, proc, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if proc.poll() is not None:
            raise RuntimeError(f"server exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


class LoopLines:
    """Counts distinct item IDs with a "completed loop" line in the mail
    log, reading only what was appended since the last call."""

    def __init__(self, path):
        self.path, self.pos, self.ids, self.rest = path, 0, set(), b""

    def __call__(self):
        if not self.path.exists():
            return 0
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = self.rest + f.read()
            self.pos = f.tell()
        lines = data.split(b"\n")
        self.rest = lines.pop()
        for line in lines:
            if b" completed loop" in line:
                m = re.search(rb"(\S+) from=\S* completed loop", line)
                if m:
                    self.ids.add(m.group(1))
        return len(self.ids)


def template(root, ours):
    """One item file as our daemon writes it, after a failed attempt."""
    c = new_server(root)
    popen(c, ours)
    try:
        wait_until(lambda: c.submission_tls_port in listening_ports(),
                   c.proc, 20, "the template server")
        ctx = ssl._create_unverified_context()
        with smtplib.SMTP_SSL("127.0.0.1", c.submission_tls_port,
                              context=ctx, timeout=20) as s:
            s.login("user@testserver", "x")
            s.sendmail("user@testserver", [RCPT], BODY)
        loops = LoopLines(c.root / "mail.log")
        wait_until(lambda: loops() >= 1, c.proc, 60, "the first attempt")
    finally:
        c.stop()
    (path,) = (c.data_dir / "queue").glob("m:*")
    text = path.read_text()
    old = path.name[2:]
    assert f'ID: "{old}"' in text, text[:200]
    return text, old


def fill_queue(qdir, text, old, count, rng):
    qdir.mkdir(parents=True, exist_ok=True)
    head, tail = text.split(f'ID: "{old}"', 1)
    for _ in range(count):
        new = "".join(rng.choice(B64) for _ in range(11))
        with open(qdir / f"m:{new}", "w") as f:
            f.write(f'{head}ID: "{new}"{tail}')
    # On disk before either server starts, as after any restart that is
    # not right after the items were written.
    os.sync()


def fetch(url, timeout=600):
    """(seconds, body); (None, None) if the page took over `timeout`."""
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = r.read()
    except TimeoutError:
        return None, None
    return time.monotonic() - t0, body


def run_one(name, exe, root, count, text, old, perf=None,
            page_timeout=600):
    """Starts `exe` on a queue of `count` copies of the template."""
    c = new_server(root)
    fill_queue(c.data_dir / "queue", text, old, count,
               random.Random(count))
    loops = LoopLines(c.root / "mail.log")
    t0 = time.monotonic()
    proc = popen(c, exe)
    prof = None
    if perf:
        prof = subprocess.Popen(["perf", "record", "-g", "-o", perf, "-p",
                                 str(proc.pid)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: c.smtp_port in listening_ports(), proc, 600,
                   "the SMTP port")
        t_listen = time.monotonic() - t0
        if count:
            wait_until(lambda: loops() >= count, proc, 1200,
                       "every item's first attempt")
        else:
            # Nothing to wait for: the empty server's RSS once its
            # listeners are up and its start-up work is done.
            wait_until(lambda: c.monitoring_port in listening_ports(), proc,
                       20, "the monitoring port")
            fetch(c.url("/debug/vars"))
        t_settle = time.monotonic() - t0
        cpu = proc_stat(proc.pid)
        if prof:
            prof.send_signal(2)
            prof.wait()
        rss = rss_kib(proc.pid)
        pages = {}
        page_s, body = fetch(c.url("/debug/queue"), page_timeout)
        if body is None:
            pages["default"] = (None, None, None)
        else:
            m = re.search(rb"^length: (\d+)$", body, re.M)
            assert m and int(m.group(1)) == count, body[:300]
            pages["default"] = (page_s, len(body),
                                body.count(b"\n## Item "))
        if name != "chasquid-1.11":
            page_s, body = fetch(c.url("/debug/queue?limit=0"))
            pages["all"] = (page_s, len(body), body.count(b"\n## Item "))
    finally:
        c.stop()
        shutil.rmtree(c.data_dir, ignore_errors=True)
    return {"t_listen": t_listen, "t_settle": t_settle, "cpu": cpu,
            "rss_kib": rss, "pages": pages,
            "load": os.getloadavg()[0]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts", default="1000,10000,100000")
    ap.add_argument("--binary", default=str(REPO / "build" / "chasquid"),
                    help="our daemon (a Release build is what users run)")
    ap.add_argument("--baseline", help="another build of ours, run beside "
                    "(as \"before\") to measure a change in the same run")
    ap.add_argument("--only", choices=["ours", "peer"])
    ap.add_argument("--csv", help="write the results to this CSV file")
    ap.add_argument("--dir", default="/var/tmp",
                    help="where the servers' data directories go; "
                    "/dev/shm (tmpfs) when the disk's file creation is "
                    "slow (journal-less ext4 after mass deletions)")
    ap.add_argument("--page_timeout", type=float, default=60,
                    help="give up on a /debug/queue page after this many "
                    "seconds (chasquid 1.11's took 270 s for 10,000 items)")
    ap.add_argument("--perf", help="perf record -g our daemon into FILE "
                    "(the largest count, until settled)")
    args = ap.parse_args()
    # A namespace with no DNS server: every lookup is refused at once.
    netns.reexec_inside("chasquid-bigqueue")
    run_all(args)


def run_all(args):
    ours = os.path.abspath(args.binary)
    servers = []
    if args.only != "peer":
        servers.append(("ours", ours))
    if args.baseline:
        servers.append(("before", os.path.abspath(args.baseline)))
    if args.only != "ours":
        servers.append(("chasquid-1.11", peer_binary()))
    counts = [int(x) for x in args.counts.split(",")]
    print(f"machine: {os.cpu_count()} cores, {os.uname().release}; "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    out = None
    if args.csv:
        # Row by row: a run of 100,000 items takes minutes.
        import csv
        out = open(args.csv, "w", newline="")
        w = csv.writer(out)
        w.writerow(["server", "items", "listen_s", "settle_s", "cpu_s",
                    "rss_kib", "empty_rss_kib", "bytes_per_item",
                    "page_s", "page_bytes", "page_items",
                    "whole_page_s", "whole_page_bytes", "load"])
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        d = pathlib.Path(d)
        text, old = template(d / "template", ours)
        print(f"template item: {len(text)} bytes; "
              + " ".join(l.strip() for l in text.splitlines()
                         if "last_failure_message" in l), flush=True)
        empty = {}
        for name, exe in servers:
            r = run_one(name, exe, d / f"{name}-0", 0, text, old)
            empty[name] = r["rss_kib"]
            print(f"{name:14} empty queue: listening {r['t_listen']:.2f} s,"
                  f" RSS {r['rss_kib'] / 1024:.1f} MiB", flush=True)
        print("server          items  listen_s  settle_s  cpu_s  "
              "RSS_MiB  B/item  page_s  page_KiB  items_shown  "
              "(all: s, KiB)  load", flush=True)
        for count in counts:
            for name, exe in servers:
                perf = (args.perf if name == "ours" and count == max(counts)
                        else None)
                r = run_one(name, exe, d / f"{name}-{count}", count, text,
                            old, perf, args.page_timeout)
                per_item = (r["rss_kib"] - empty[name]) * 1024 / count
                ps, pb, pn = r["pages"]["default"]
                if ps is None:  # Gave up on the page.
                    ps, pb, pn = float("nan"), 0, 0
                extra = ""
                if "all" in r["pages"]:
                    a = r["pages"]["all"]
                    extra = f"({a[0]:.3f}, {a[1] / 1024:.0f})"
                print(f"{name:14} {count:6}  {r['t_listen']:8.2f}  "
                      f"{r['t_settle']:8.2f}  {r['cpu']:5.1f}  "
                      f"{r['rss_kib'] / 1024:7.1f}  {per_item:6.0f}  "
                      f"{ps:6.3f}  {pb / 1024:8.0f}  {pn:11}  {extra:14}"
                      f"  {r['load']:.1f}", flush=True)
                a = r["pages"].get("all", (ps, pb, pn))
                if out:
                    w.writerow([name, count, f"{r['t_listen']:.3f}",
                                f"{r['t_settle']:.3f}", f"{r['cpu']:.2f}",
                                r["rss_kib"], empty[name], f"{per_item:.0f}",
                                f"{ps:.4f}", pb, pn, f"{a[0]:.4f}", a[1],
                                f"{r['load']:.1f}"])
                    out.flush()


if __name__ == "__main__":
    main()
