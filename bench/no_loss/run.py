#!/usr/bin/python3
""""Nothing lost" at scale: SMTP clients send --count messages while the
daemon is SIGKILLed at random moments (every --kill_min..--kill_max s) and
restarted on the same data dir; then the queue drains and we count, per
server: messages answered 250, lost (250 but never delivered: must be 0),
delivered more than once, delivered although not answered 250. Runs our
build and chasquid 1.11 (Debian package, unpacked, not installed) with the
same config, clients and kill schedule (same seed).

Usage: bench/no_loss/run.py [--count 1000] [--threads 8] [--runs 1]
         [--binary build-rel/chasquid] [--only ours|peer]
Not part of the test suite (tests/integration/test_no_loss.py is the small
CI version of the same code, queueutil.run_no_loss).
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("CHASQUID_BUILD", str(REPO / "build"))

from conftest import Chasquid, wait_for_port  # noqa: E402
from queueutil import run_no_loss  # noqa: E402
import netns  # noqa: E402
from peer import peer_binary  # noqa: E402

# The benchmark's own DNS (bench/netns.py): the senders' SPF passes.
ZONE = """
example.net TXT v=spf1 ip4:127.0.0.0/8 -all
"""


def starter(exe):
    def start(c, env):
        c.logf = open(c.log_path, "ab")
        c.proc = subprocess.Popen(
            [exe, f"--config_dir={c.config_dir}", "-v=1"], stdout=c.logf,
            stderr=subprocess.STDOUT, env=env, cwd=c.root)
        wait_for_port(c.smtp_port, proc=c.proc)
    return start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--kill_min", type=float, default=0.5)
    ap.add_argument("--kill_max", type=float, default=1.5)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--binary", default=str(REPO / "build" / "chasquid"),
                    help="our daemon")
    ap.add_argument("--only", choices=["ours", "peer"])
    args = ap.parse_args()
    netns.reexec_inside("chasquid-noloss")
    with netns.local_dns(ZONE):
        run_all(args)


def run_all(args):
    servers = []
    if args.only != "peer":
        servers.append(("ours", starter(os.path.abspath(args.binary))))
    if args.only != "ours":
        servers.append(("chasquid-1.11", starter(peer_binary())))
    print("server          run  accepted  lost  dups  dup%   unacked-deliv"
          "  truncated  kills  secs")
    for run in range(args.runs):
        for name, start in servers:
            with tempfile.TemporaryDirectory() as d:
                c = Chasquid(pathlib.Path(d) / "s")
                try:
                    r = run_no_loss(c, args.count, threads=args.threads,
                                    kill_every=(args.kill_min,
                                                args.kill_max),
                                    settle_timeout=300,
                                    seed=args.seed + run, start=start)
                finally:
                    c.stop()
            print(f"{name:15} {run:3}  {r['accepted']:8}  "
                  f"{len(r['lost']):4}  {r['dups']:4}  "
                  f"{100 * r['dup_ratio']:5.1f}  {r['unacked_delivered']:13}"
                  f"  {r['truncated']:9}  {r['kills']:5}  {r['seconds']:5}",
                  flush=True)


if __name__ == "__main__":
    main()
