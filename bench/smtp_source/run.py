#!/usr/bin/python3
"""Throughput benchmark with Postfix's smtp-source (Debian package
postfix; only /usr/sbin/smtp-source is used, the Postfix daemon is not
started): 10 KiB messages over 1, 10 and 50 parallel sessions to a local
user, delivered by a trivial MDA (`exec cat > file`), for our build and
chasquid 1.11 (Debian package, unpacked, not installed) with the same
config, in the same run. Also measures the disk's durable-write rate
(write + fsync + rename + dir fsync of small files) in the data dir.

Per run: accepted msg/s (messages smtp-source got 250 for, divided by the
time until all of them were accepted; messages refused with 4xx, e.g.
"queue full", are sent again and that time counts), seconds until all were
delivered, CPU seconds per 1,000 messages (daemon + its waited-for
children, i.e. the MDAs: utime+stime+cutime+cstime from /proc/<pid>/stat),
peak RSS (VmHWM). Medians over --runs.

4xx refusals: messages sent again after a 4xx (e.g. "queue full"), i.e.
every message smtp-source sent minus those answered 250. Runs of the two
servers alternate (ours, 1.11, ours, ...), so that a change in the
machine's load falls on both.

Usage: bench/smtp_source/run.py [--sessions 1,10,50]
         [--messages 3000,3000,3000] [--runs 3] [--only ours|peer]
         [--binary build-rel/chasquid] [--perf FILE]
         [--rcpts 1,10,50,100 [--remote]] [--sizes ...] [--csv FILE]
Not part of the test suite. Keep runs short: the machine is shared.
"""

import argparse
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import netns  # noqa: E402
from peer import peer_binary  # noqa: E402

SMTP_SOURCE = "/usr/sbin/smtp-source"
# The benchmark's own DNS (bench/netns.py): the sender's domain publishes
# an SPF record that passes for loopback, so every MAIL does a real SPF
# check (one TXT query, a pass) against a resolver that answers at once.
# With --remote, the recipients are aliases of addresses at sink.example,
# whose MX is Postfix's smtp-sink on 127.0.0.1:25 in the namespace.
ZONE = """
example.net TXT v=spf1 ip4:127.0.0.0/8 -all
sink.example MX 10 mx.sink.example
mx.sink.example A 127.0.0.1
"""
SMTP_SINK = "/usr/sbin/smtp-sink"
HZ = os.sysconf("SC_CLK_TCK")
# The trivial MDA: appends stdin to $MDA_DIR/mbox, in one O_APPEND write
# for a message up to 1 MiB (atomic among concurrent MDAs), 1 MiB at a
# time for larger ones. A static C program, so that the numbers
# are about the daemons, not about starting a shell (sh + cat cost ~11 ms
# CPU per message on the 2-core VM this was written on). One file, not one
# per message: this VM's ext4 has no journal, and without one ext4 skips
# every inode deleted in the last 1-5 minutes when it allocates one; after
# a run's files are cleaned up, creating a file cost the next runs ~0.8 ms
# of CPU each (measured with perf), noise larger than what is measured.
# Deliveries are counted from the mail log's "sent" lines instead.
MDA_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static char buf[1 << 20];
int main(void) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/mbox", getenv("MDA_DIR"));
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) return 75;
  for (;;) {
    size_t len = 0;
    ssize_t n = 1;
    while (len < sizeof(buf) &&
           (n = read(0, buf + len, sizeof(buf) - len)) > 0)
      len += (size_t)n;
    if (n < 0) return 75;
    if (len > 0 && write(fd, buf, len) != (ssize_t)len) return 75;
    if (n == 0) break;
  }
  return close(fd) == 0 ? 0 : 75;
}
"""


def build_mda(root):
    src = root / "mda.c"
    src.write_text(MDA_C)
    exe = root / "mda"
    r = subprocess.run(["gcc", "-O2", "-static", "-o", str(exe), str(src)],
                       capture_output=True)
    if r.returncode != 0:  # No static libc: dynamic is fine too.
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(src)], check=True)
    return exe


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("server did not open its port")


def durable_write_rate(d, seconds=2.0):
    """Small-file write + fsync + rename + dir fsync per second in d."""
    d = tempfile.mkdtemp(dir=d)
    dfd = os.open(d, os.O_RDONLY)
    n, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        tmp = os.path.join(d, f".t{n}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"x" * 11000)
        os.fsync(fd)
        os.close(fd)
        os.rename(tmp, os.path.join(d, f"m{n}"))
        os.fsync(dfd)
        n += 1
    rate = n / (time.monotonic() - t0)
    os.close(dfd)
    shutil.rmtree(d)
    return rate


def make_root(root, port, remote=False):
    conf = root / "config"
    (conf / "domains" / "testserver").mkdir(parents=True)
    certs = conf / "certs" / "testserver"
    certs.mkdir(parents=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", "/CN=testserver",
                    "-keyout", str(certs / "privkey.pem"),
                    "-out", str(certs / "fullchain.pem")],
                   check=True, capture_output=True)
    # "user", and "1user" to "100user" for smtp-source -r (it numbers the
    # recipients by prefixing the address).
    (conf / "domains" / "testserver" / "users").write_text("".join(
        f"users:{{ key: '{u}' value:{{ plain:{{ password: 'x' }}}}}}\n"
        for u in ["user"] + [f"{i}user" for i in range(1, 101)]))
    if remote:
        # Each local user is an alias of a remote one: the recipients are
        # remote without AUTH (smtp-source has none), for both servers.
        (conf / "domains" / "testserver" / "aliases").write_text("".join(
            f"{u}: {u}@sink.example\n"
            for u in ["user"] + [f"{i}user" for i in range(1, 101)]))
    mda = build_mda(root)
    (root / "mail").mkdir()
    (conf / "chasquid.conf").write_text(
        'hostname: "testserver"\n'
        f'smtp_address: "127.0.0.1:{port}"\n'
        f'submission_address: "127.0.0.1:{free_port()}"\n'
        f'submission_over_tls_address: "127.0.0.1:{free_port()}"\n'
        f'data_dir: "{root}/data"\n'
        f'mail_log_path: "{root}/mail.log"\n'
        f'mail_delivery_agent_bin: "{mda}"\n'
        'mail_delivery_agent_args: "%to%"\n')
    return conf


def cpu_seconds(pid, children=True):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    # Fields 14-17 (utime stime cutime cstime); f[0] is field 3.
    return sum(int(x) for x in f[11:15 if children else 13]) / HZ


def peak_rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0


def accepted(root):
    p = root / "mail.log"
    if not p.exists():
        return 0
    return sum(1 for line in open(p) if " queued ip=" in line)


def delivered(root):
    p = root / "mail.log"
    if not p.exists():
        return 0
    return sum(1 for line in open(p) if line.rstrip().endswith(" sent"))


def run_one(exe, sessions, messages, perf=None, size=10240, rcpts=1,
            remote=False):
    with tempfile.TemporaryDirectory(dir="/var/tmp") as d:
        root = pathlib.Path(d)
        port = free_port()
        conf = make_root(root, port, remote)
        env = dict(os.environ, MDA_DIR=str(root / "mail"))
        log = open(root / "daemon.log", "wb")
        proc = subprocess.Popen([exe, f"--config_dir={conf}"], stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=root)
        try:
            wait_port(port, proc)
            cpu0 = cpu_seconds(proc.pid)
            own0 = cpu_seconds(proc.pid, children=False)
            prof = None
            if perf:
                prof = subprocess.Popen(
                    ["perf", "record", "-g", "-o", perf, "-p",
                     str(proc.pid)], stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
                time.sleep(0.5)  # perf attaches
            t0 = time.monotonic()
            rounds = 0
            sent = 0
            while accepted(root) < messages and rounds < 20:
                left = messages - accepted(root)
                sent += left
                subprocess.run(
                    [SMTP_SOURCE, "-s", str(min(sessions, left)), "-m",
                     str(left), "-l", str(size), "-r", str(rcpts),
                     "-f", "sender@example.net",
                     "-t", "user@testserver", "-M", "client.example",
                     f"127.0.0.1:{port}"], capture_output=True, timeout=600)
                rounds += 1
            t_acc = time.monotonic() - t0
            n_acc = accepted(root)
            deadline = time.monotonic() + 600
            while (delivered(root) < n_acc * rcpts
                   and time.monotonic() < deadline):
                time.sleep(0.02)
            t_del = time.monotonic() - t0
            n_del = delivered(root)
            if prof:
                prof.send_signal(2)
                prof.wait()
            # Let the last MDAs be reaped so their CPU is counted.
            time.sleep(0.3)
            cpu = cpu_seconds(proc.pid) - cpu0
            own = cpu_seconds(proc.pid, children=False) - own0
            rss = peak_rss_mib(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
        return {"acc_per_s": n_acc / t_acc, "t_deliver": t_del,
                "cpu_per_1000": cpu * 1000 / max(1, n_del),
                "own_cpu_per_1000": own * 1000 / max(1, n_del), "rss": rss,
                "rounds": rounds, "accepted": n_acc, "delivered": n_del,
                "refused": sent - n_acc,
                "load": os.getloadavg()[0]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", default="1,10,50")
    ap.add_argument("--messages", default="3000,3000,3000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="",
                    help="message size in bytes per step (default 10240 "
                    "for each session count), e.g. 1024,10240,102400")
    ap.add_argument("--rcpts", default="",
                    help="recipients per message per step (default 1); "
                    "CPU is then per delivery (recipient)")
    ap.add_argument("--remote", action="store_true",
                    help="recipients are remote (aliases of addresses at "
                    "sink.example, whose MX is Postfix's smtp-sink on "
                    "127.0.0.1:25): the SMTP courier, one connection per "
                    "recipient for both servers")
    ap.add_argument("--csv", help="write the medians to this CSV file")
    ap.add_argument("--binary", default=str(REPO / "build" / "chasquid"),
                    help="our daemon (a Release build is what users run)")
    ap.add_argument("--baseline", help="another build of ours, run beside "
                    "(as \"before\") to measure a change in the same run")
    ap.add_argument("--perf", help="perf record -g our daemon into FILE "
                    "(the last run of the last session count)")
    ap.add_argument("--only", choices=["ours", "peer"])
    args = ap.parse_args()
    netns.reexec_inside("chasquid-bench")
    with netns.local_dns(ZONE):
        run_all(args)


def run_all(args):
    if not os.path.exists(SMTP_SOURCE):
        sys.exit("smtp-source not found: apt-get install postfix "
                 "(DEBIAN_FRONTEND=noninteractive; the daemon is not needed)")
    sink = None
    if args.remote:
        # 1000: its listen backlog. It answers 250 to everything.
        sink = subprocess.Popen([SMTP_SINK, "-u", "nobody", "127.0.0.1:25",
                                 "1000"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", 25), 0.5).close()
                break
            except OSError:
                time.sleep(0.05)
    try:
        run_servers(args)
    finally:
        if sink:
            sink.terminate()
            sink.wait()


def run_servers(args):
    servers = []
    if args.only != "peer":
        servers.append(("ours", os.path.abspath(args.binary)))
    if args.baseline:
        servers.append(("before", os.path.abspath(args.baseline)))
    if args.only != "ours":
        servers.append(("chasquid-1.11", peer_binary()))
    print(f"machine: {os.cpu_count()} cores, "
          f"{os.uname().release}; load {os.getloadavg()[0]:.1f}; "
          "DNS: local, in a network namespace (bench/netns.py)")
    print(f"disk durable writes/s (/var/tmp): "
          f"{durable_write_rate('/var/tmp'):.0f}")
    print("server         sess   msgs  acc/s  deliver_s  cpu_s/1000  "
          "peakRSS_MiB  rounds  refused  (daemon-only cpu_s/1000)  load")
    results = {}
    steps = list(zip(args.sessions.split(","), args.messages.split(",")))
    sizes = ([int(x) for x in args.sizes.split(",")] if args.sizes
             else [10240] * len(steps))
    rcpts = ([int(x) for x in args.rcpts.split(",")] if args.rcpts
             else [1] * len(steps))
    csv_rows = []
    for step, ((sess, msgs), size, nr) in enumerate(zip(steps, sizes,
                                                        rcpts)):
        if args.sizes or args.rcpts:
            print(f"-- message size {size} bytes, {nr} "
                  f"{'remote' if args.remote else 'local'} recipients",
                  flush=True)
        runs = {name: [] for name, _ in servers}
        for i in range(args.runs):
            for name, exe in servers:
                perf = (args.perf if name == "ours" and i == args.runs - 1
                        else None)
                runs[name].append(run_one(exe, int(sess), int(msgs), perf,
                                          size, nr, args.remote))
        for name, _ in servers:
            rs = runs[name]
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            results[(name, step)] = med
            mib = med["delivered"] * size / 1048576
            csv_rows.append([name, sess, msgs, size, nr,
                             f"{med['acc_per_s']:.1f}",
                             f"{med['acc_per_s'] * size / 1048576:.3f}",
                             f"{med['t_deliver']:.2f}",
                             f"{med['cpu_per_1000']:.3f}",
                             f"{med['own_cpu_per_1000']:.3f}",
                             f"{med['cpu_per_1000'] * med['delivered'] / 1000 / mib:.4f}",
                             f"{med['rss']:.1f}", f"{med['refused']:.0f}",
                             f"{med['load']:.1f}"])
            print(f"{name:14} {sess:>4} {msgs:>6} {med['acc_per_s']:6.0f}"
                  f"  {med['t_deliver']:9.1f}  {med['cpu_per_1000']:10.2f}"
                  f"  {med['rss']:11.1f}  {med['rounds']:6.0f}"
                  f"  {med['refused']:7.0f}"
                  f"  ({med['own_cpu_per_1000']:.2f})"
                  f"  {med['load']:.1f}", flush=True)
            for r in rs:
                print(f"    run: acc/s {r['acc_per_s']:.0f} deliver "
                      f"{r['t_deliver']:.1f} s cpu {r['cpu_per_1000']:.2f} "
                      f"({r['own_cpu_per_1000']:.2f}) refused {r['refused']}"
                      f" rss {r['rss']:.1f}", flush=True)
        for base in ("before", "chasquid-1.11"):
            if ("ours", step) not in results or (base, step) not in results:
                continue
            a, b = results[("ours", step)], results[(base, step)]
            label = "ours/" + ("1.11" if base != "before" else "before")
            print(f"{label:14} {sess:>4} {'':>6}"
                  f" {a['acc_per_s'] / b['acc_per_s']:6.2f}"
                  f"  {a['t_deliver'] / b['t_deliver']:9.2f}"
                  f"  {a['cpu_per_1000'] / b['cpu_per_1000']:10.2f}"
                  f"  {a['rss'] / b['rss']:11.2f}"
                  f"  {'':6}  {'':7}"
                  f"  ({a['own_cpu_per_1000'] / b['own_cpu_per_1000']:.2f})",
                  flush=True)
    if args.csv:
        import csv
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["server", "sessions", "messages", "size_bytes",
                        "rcpts",
                        "accepted_per_s", "accepted_mib_per_s",
                        "deliver_s", "cpu_s_per_1000", "daemon_cpu_s_per_1000",
                        "cpu_s_per_mib", "peak_rss_mib", "refused", "load"])
            w.writerows(csv_rows)
    print(f"disk durable writes/s (/var/tmp, after): "
          f"{durable_write_rate('/var/tmp'):.0f}")


if __name__ == "__main__":
    main()
