"""Hermetic DNS for the benchmarks: runs the benchmark again inside a
network namespace of its own, whose /etc/resolv.conf (bind-mounted by
`ip netns exec` from /etc/netns/<ns>/resolv.conf) names 127.0.0.1, where
the benchmark serves its own zone with tests/integration/dnsserver.py.

Why: both servers check SPF at MAIL, and go to the system resolver for
it (chasquid 1.11 has no DNS override flag). This sandbox's resolver
drops queries under load, so MAIL then waits for the resolver's 2 s
retransmission (measured: 2.0 s and 6.0 s MAIL replies at 50 sessions,
with the CPUs idle); the numbers were about the resolver, not the
servers. In the namespace both servers get the same local DNS, answering
in about 0.3 ms, and no query leaves the machine.

Needs root (ip netns). Usage, at the top of a benchmark's main():

    netns.reexec_inside("chasquid-bench")   # returns only inside
    with netns.local_dns(ZONE):
        ... run the servers ...
"""

import contextlib
import os
import pathlib
import shutil
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
_ENV = "CHASQUID_BENCH_NETNS"


def reexec_inside(name):
    """Re-runs this program in a fresh namespace `name` (loopback up, a
    resolv.conf naming 127.0.0.1) and exits with its status; returns at
    once when already inside."""
    if os.environ.get(_ENV):
        return
    if os.geteuid() != 0:
        sys.exit("this benchmark needs root (ip netns), for hermetic DNS")
    name = f"{name}-{os.getpid()}"
    etc = pathlib.Path("/etc/netns") / name
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        etc.mkdir(parents=True)
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\n")
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set",
                        "lo", "up"], check=True)
        env = dict(os.environ, **{_ENV: name})
        r = subprocess.run(["ip", "netns", "exec", name, sys.executable,
                            *sys.argv], env=env)
    finally:
        subprocess.run(["ip", "netns", "del", name])
        shutil.rmtree(etc, ignore_errors=True)
    sys.exit(r.returncode)


@contextlib.contextmanager
def local_dns(zone):
    """Serves `zone` (dnsserver.py's load() format) on 127.0.0.1:53, the
    namespace's resolver, for the duration of the block."""
    sys.path.insert(0, str(REPO / "tests" / "integration"))
    from dnsserver import DNSServer  # noqa: E402 - path set just above
    dns = DNSServer(port=53).load(zone)
    with dns:
        # A message to 50 remote recipients makes 50 MX lookups at once
        # (both servers look up each recipient's domain): more datagrams
        # than the default 208 KiB receive buffer holds, and the dropped
        # ones came back as "i/o timeout" after c-ares' two tries. Root
        # may exceed rmem_max.
        import socket
        for s in dns._servers:
            sock = s.server.socket
            if sock.type == socket.SOCK_DGRAM:
                sock.setsockopt(socket.SOL_SOCKET, 33,  # SO_RCVBUFFORCE
                                16 << 20)
        yield dns
