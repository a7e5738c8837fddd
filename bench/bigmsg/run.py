#!/usr/bin/python3
"""Large messages: peak memory while many large messages arrive at once.

For each load (--loads, "COUNTxMIB"), each server gets COUNT concurrent
SMTP clients, each sending one message of MIB MiB to a local user, whose
MDA reads it to the end and throws it away (delivery overlaps with
reception, as it would in life). We record the daemon's peak RSS
(VmHWM, /proc/<pid>/status) once every message is answered and
delivered, its RSS before the load, the time the load took, and every
reply that was not 250. Runs our build and chasquid 1.11 (Debian's
package, unpacked, not installed: bench/peer.py) with the same config
and clients.

The clients send one shared, already dot-stuffed CRLF body over raw
sockets, so this script's own memory stays at one body whatever COUNT is.

Usage: sudo bench/bigmsg/run.py [--loads 10x20,20x40] [--servers ours,1.11]
                                [--signed]
--signed: every message carries a DKIM signature (dkimpy's, over a fixed
header block and the body), so a server that verifies DKIM on incoming
mail hashes every body (chasquid 1.11 does not verify; ours does).
Root: it runs in a network namespace with its own DNS (bench/netns.py),
as the other benchmarks do (both servers check SPF at MAIL).
"""

import argparse
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("CHASQUID_BUILD", str(REPO / "build"))

from conftest import Chasquid, wait_for_port  # noqa: E402
import netns  # noqa: E402
from peer import peer_binary  # noqa: E402

MIB = 1 << 20

ZONE = """
example.net TXT v=spf1 ip4:127.0.0.0/8 -all
"""

# Reads the whole message, then records that it came (and how big).
MDA = r"""#!/bin/sh
n=$(wc -c)
echo "$n" > "$MDA_DIR/d.$$.$(date +%s%N)"
"""


def plain_body(size):
    """`size` bytes of CRLF lines, some starting with a dot."""
    line = b"The quick brown fox jumps over the lazy dog 0123456789.\r\n"
    dotted = b"." + line
    out = bytearray()
    i = 0
    while len(out) < size:
        out += dotted if i % 20 == 0 else line
        i += 1
    return bytes(out)


def body(size):
    """plain_body, stuffed for the wire: a leading dot is doubled."""
    return plain_body(size).replace(b"\r\n.", b"\r\n..")


# --signed: every client sends this header block, signed by dkimpy over
# it and the body (rsa-sha256, relaxed/relaxed), with the key's record
# in the namespace's DNS; a server that verifies DKIM hashes every body.
SIGNED_HEAD = (b"From: Big Sender <sender@example.net>\r\n"
               b"Subject: big signed\r\n"
               b"Message-ID: <bigsigned@example.net>\r\n\r\n")


def signed_head(size, tmp):
    """(the signed header block, the key's TXT record)."""
    import dkim
    sys.path.insert(0, str(REPO / "tests" / "integration"))
    from dkimutil import dkimpy_keys  # noqa: E402
    key, txt = dkimpy_keys(pathlib.Path(tmp))["rsa-sha256"]
    sig = dkim.sign(SIGNED_HEAD + plain_body(size), b"sel", b"example.net",
                    key, canonicalize=(b"relaxed", b"relaxed"),
                    include_headers=[b"from", b"subject"])
    return sig + SIGNED_HEAD, txt


def vm(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def send_one(port, i, wire_body, results, head=None):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=600)
        f = s.makefile("rb")

        def reply():
            while True:
                line = f.readline()
                if line[3:4] != b"-":
                    return line.strip()

        reply()
        for cmd in (b"EHLO bench", b"MAIL FROM:<sender@example.net>",
                    b"RCPT TO:<user@testserver>", b"DATA"):
            s.sendall(cmd + b"\r\n")
            r = reply()
        if not r.startswith(b"354"):
            results[i] = r.decode(errors="replace")
            return
        s.sendall(head or f"Subject: big {i}\r\nMessage-ID: "
                  f"<big{i}@example.net>\r\n\r\n".encode())
        s.sendall(memoryview(wire_body))
        s.sendall(b".\r\n")
        results[i] = reply().decode(errors="replace")
        s.sendall(b"QUIT\r\n")
        s.close()
    except OSError as e:
        results[i] = repr(e)


def run_load(exe, count, size_mib, wire_body, head=None):
    with tempfile.TemporaryDirectory() as d:
        c = Chasquid(pathlib.Path(d) / "s", monitoring=False,
                     extra_conf="max_data_size_mb: 64\n")
        c.add_user("user", "testserver", "pw")
        mda = c.root / "mda"
        mda.write_text(MDA)
        mda.chmod(0o755)
        maildir = c.root / "mail"
        maildir.mkdir()
        conf = (c.config_dir / "chasquid.conf").read_text()
        c.write_conf(conf + f'mail_delivery_agent_bin: "{mda}"\n')
        env = dict(os.environ, MDA_DIR=str(maildir))
        c.logf = open(c.log_path, "ab")
        c.proc = subprocess.Popen(
            [exe, f"--config_dir={c.config_dir}", "-v=1"], stdout=c.logf,
            stderr=subprocess.STDOUT, env=env, cwd=c.root)
        try:
            wait_for_port(c.smtp_port, proc=c.proc)
            pid = c.proc.pid
            rss_before = vm(pid, "VmRSS")
            results = [None] * count
            t0 = time.monotonic()
            threads = [threading.Thread(target=send_one,
                                        args=(c.smtp_port, i, wire_body,
                                              results, head))
                       for i in range(count)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            accepted = sum(1 for r in results if r and r.startswith("250"))
            deadline = time.monotonic() + 600
            while (len(list(maildir.glob("d.*"))) < accepted and
                   time.monotonic() < deadline):
                time.sleep(0.1)
            secs = time.monotonic() - t0
            delivered = len(list(maildir.glob("d.*")))
            peak = vm(pid, "VmHWM")
            others = sorted({r for r in results
                             if not (r and r.startswith("250"))})
        finally:
            c.proc.terminate()
            c.proc.wait(timeout=60)
            c.logf.close()
        return dict(accepted=accepted, delivered=delivered, secs=secs,
                    rss_before=rss_before, peak=peak, others=others)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loads", default="10x20,20x40")
    ap.add_argument("--servers", default="ours,1.11")
    ap.add_argument("--signed", action="store_true",
                    help="every message carries a DKIM signature to verify"
                    " (one body size per run: the first load's)")
    args = ap.parse_args()
    netns.reexec_inside("chasquid-bigmsg")
    servers = {"ours": str(REPO / "build" / "chasquid"),
               "1.11": peer_binary()}
    zone, head = ZONE, None
    if args.signed:
        size = int(args.loads.split(",")[0].split("x")[1])
        with tempfile.TemporaryDirectory() as tmp:
            head, txt = signed_head(size * MIB, tmp)
        zone += f"sel._domainkey.example.net TXT {txt}\n"
    with netns.local_dns(zone):
        print("server  load      accepted  delivered  secs   RSS before"
              "  peak RSS (VmHWM)  other replies"
              + ("  (signed)" if head else ""), flush=True)
        for load in args.loads.split(","):
            count, size = (int(x) for x in load.split("x"))
            wire = body(size * MIB)
            for name in args.servers.split(","):
                r = run_load(servers[name], count, size, wire, head)
                print(f"{name:6}  {count:2} x {size:2} MiB  "
                      f"{r['accepted']:8}  {r['delivered']:9}  "
                      f"{r['secs']:5.1f}  {r['rss_before'] / MIB:7.1f} MiB"
                      f"  {r['peak'] / MIB:10.1f} MiB     "
                      f"{'; '.join(r['others']) or '-'}", flush=True)


if __name__ == "__main__":
    main()
