#!/usr/bin/python3
"""Connection memory benchmark: N concurrent SMTP clients that each read
the greeting, send EHLO, read the reply and then sit idle. Reports how many
were served and the server's RSS growth per connection, for our daemon and
for chasquid 1.11 (Debian package, unpacked with dpkg -x), in the same run.

Usage: run.py [--ours build/chasquid] [--peer /path/to/chasquid]
              [--counts 1000,5000,10000]

Not part of the test suite. It raises RLIMIT_NOFILE (soft and hard) for
itself and the servers; on a real host set e.g. LimitNOFILE=65536 in the
systemd unit (or `ulimit -n 65536`) for the daemon.
"""

import argparse
import os
import pathlib
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import time

# 50,000 connections need as many descriptors on each side: raise the
# hard limit before (`ulimit -Hn`, needs CAP_SYS_RESOURCE).
NOFILE = min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def make_config(root, port):
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
    (conf / "chasquid.conf").write_text(
        'hostname: "testserver"\n'
        f'smtp_address: "127.0.0.1:{port}"\n'
        f'submission_address: "127.0.0.1:{free_port()}"\n'
        f'submission_over_tls_address: "127.0.0.1:{free_port()}"\n'
        f'data_dir: "{root}/data"\n'
        f'mail_log_path: "{root}/mail.log"\n')
    return conf


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
    raise TimeoutError("server did not start")


def hold_connections(port, n, timeout=120):
    """Opens n clients; returns (sockets, served) once every client got its
    EHLO reply, failed, or the timeout passed."""
    sel = selectors.DefaultSelector()
    state = {}
    socks = []
    served = 0
    deadline = time.monotonic() + timeout
    pending = n
    opened = 0
    while (pending > 0) and time.monotonic() < deadline:
        # Open in batches so the accept backlog is not the bottleneck.
        while opened < n and len(state) < 2000:
            s = socket.socket()
            # Sources spread over 127.0.0.1-8: one source address has
            # ~28,000 ephemeral ports towards one server port.
            s.bind((f"127.0.0.{1 + opened % 8}", 0))
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            socks.append(s)
            state[s] = [0, b""]  # phase 0: greeting, 1: EHLO reply.
            sel.register(s, selectors.EVENT_READ)
            opened += 1
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            st = state[s]
            try:
                data = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                del state[s]
                pending -= 1
                continue
            st[1] += data
            if st[0] == 0 and st[1].endswith(b"\r\n"):
                if not st[1].startswith(b"220 "):
                    sel.unregister(s)
                    del state[s]
                    pending -= 1
                    continue
                st[0], st[1] = 1, b""
                s.sendall(b"EHLO bench.example\r\n")
            elif st[0] == 1 and b"\r\n250 " in b"\r\n" + st[1]:
                sel.unregister(s)
                del state[s]
                served += 1
                pending -= 1
    sel.close()
    return socks, served


def run_one(name, binary, counts):
    results = []
    for n in counts:
        with tempfile.TemporaryDirectory() as tmp:
            root = pathlib.Path(tmp)
            port = free_port()
            conf = make_config(root, port)
            log = open(root / "log", "wb")
            proc = subprocess.Popen([binary, f"--config_dir={conf}"],
                                    stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_port(port, proc)
                time.sleep(0.5)  # Let the start-up settle before measuring.
                before = rss_kib(proc.pid)
                t0 = time.monotonic()
                socks, served = hold_connections(port, n)
                elapsed = time.monotonic() - t0
                time.sleep(1)
                after = rss_kib(proc.pid)
                per = (after - before) * 1024 / max(served, 1)
                results.append((name, n, served, before, after, per, elapsed))
                print(f"{name:14} n={n:6} served={served:6} "
                      f"rss {before} -> {after} KiB "
                      f"= {per:7.0f} B/conn  ({elapsed:.1f}s)", flush=True)
                for s in socks:
                    s.close()
            finally:
                proc.kill()
                proc.wait()
                log.close()
    return results


def main():
    ap = argparse.ArgumentParser()
    here = pathlib.Path(__file__).resolve().parents[2]
    ap.add_argument("--ours", default=str(here / "build" / "chasquid"))
    ap.add_argument("--peer", default="/tmp/chasquid-deb/root/usr/bin/chasquid")
    ap.add_argument("--counts", default="1000,5000,10000")
    ap.add_argument("--csv", help="write the results to this CSV file")
    args = ap.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    counts = [int(x) for x in args.counts.split(",")]
    print(f"cores: {os.cpu_count()}, RLIMIT_NOFILE: {NOFILE}")
    results = run_one("chasquid-cpp", args.ours, counts)
    if os.path.exists(args.peer):
        results += run_one("chasquid-1.11", args.peer, counts)
    else:
        print(f"peer {args.peer} not found; skipped", file=sys.stderr)
    if args.csv:
        import csv
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["server", "connections", "served", "rss_before_kib",
                        "rss_after_kib", "bytes_per_connection", "seconds"])
            for r in results:
                w.writerow([{"chasquid-cpp": "ours"}.get(r[0], r[0]), *r[1:5],
                            f"{r[5]:.0f}", f"{r[6]:.1f}"])


if __name__ == "__main__":
    main()
