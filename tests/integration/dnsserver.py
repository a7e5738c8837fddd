"""A small authoritative DNS server for the integration tests (dnslib).

Point chasquid at it with `--testing__dns_addr=<server.addr>`: every query
of the daemon (MX, A/AAAA, TXT for SPF, DKIM and MTA-STS) then goes here.

Interface (shared by the delivery, SPF and DKIM tests):

    from dnsserver import DNSServer

    with DNSServer() as dns:                # binds 127.0.0.1, free port,
        dns.add("srv-b", "A", "127.0.0.1")  # UDP and TCP; serves in a thread
        dns.add("example.com", "MX", "10 mx.example.com")
        dns.add("example.com", "TXT", "v=spf1 ip4:127.0.0.1 -all")
        dns.add("ütf.example", "A", "127.0.0.1")   # Unicode -> IDNA ASCII
        dns.servfail("broken.example")      # answers SERVFAIL
        dns.drop("slow.example")            # never answers (timeouts)
        daemon.start(f"--testing__dns_addr={dns.addr}")
        ...
        dns.queries                         # [(name, type), ...] received

  * `add(name, type, value)`: type is A, AAAA, MX ("<pref> <host>"; host
    "." is a null MX), TXT (the whole text; split in 255-byte strings on
    the wire), CNAME, PTR (value: the host name; for PTR, `name` may be
    an IP address, which stands for its in-addr.arpa/ip6.arpa name, e.g.
    `dns.add("127.0.0.1", "PTR", "mx.example.com")`). Records can be
    added while serving.
  * `load(text)`: the same as a zone description, one record per line,
    `<name> <type> <value...>`; lines starting with `#` are comments; e.g. `x.com MX 10 mx.x.com`.
  * Names match case-insensitively, exactly (no search domains; a trailing
    dot is optional). Unknown names get NXDOMAIN; known names without the
    queried type get NOERROR with no answers.
  * `stop()` (or leaving the `with`) shuts the server down.
  * `DNSServer(port=53, host="127.x.y.z")` serves on another loopback
    address (root only for port 53): what a resolv.conf can name, as it
    has no ports (conftest.system_resolver).
  * `system_host()`: the same server (records, queries) also answers on
    port 53 of a spare loopback address of its own, 127.53.x.y, UDP and
    TCP (root only); returns that address. `Chasquid.start(system_dns=dns)`
    calls it to start the daemon on the system resolver's paths, with
    that address as the only nameserver of its /etc/resolv.conf.

Standalone (for manual checks):
    python3 dnsserver.py [--port N] ZONEFILE
prints `listening on 127.0.0.1:N` and serves until killed.
"""

import argparse
import ipaddress
import random
import socket
import sys
import threading

from dnslib import AAAA, CNAME, MX, PTR, QTYPE, RCODE, RR, TXT, A, DNSLabel
from dnslib.server import BaseResolver, DNSLogger
from dnslib.server import DNSServer as _LibServer


def _norm(name):
    name = name.strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    return name


def _free_port():
    # A port free for both TCP and UDP on loopback.
    for _ in range(50):
        with socket.socket() as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port for DNS")


class _Resolver(BaseResolver):
    def __init__(self, server):
        self.server = server

    def resolve(self, request, handler):
        reply = request.reply()
        q = request.q
        name = _norm(str(q.qname))
        qtype = QTYPE[q.qtype]
        with self.server.lock:
            self.server.queries.append((name, qtype))
            if name in self.server.dropped:
                return None
            if name in self.server.failing:
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            recs = self.server.records.get(name)
        if recs is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for rtype, rdata in recs:
            if rtype == qtype or (rtype == "CNAME" and qtype != "CNAME"):
                reply.add_answer(RR(q.qname, getattr(QTYPE, rtype),
                                    rdata=rdata, ttl=60))
        return reply


class _QuietLogger(DNSLogger):
    def __init__(self):
        super().__init__(log="-request,-reply,-truncated,-error,-recv,"
                         "-send,-data")


def _rdata(rtype, value):
    if rtype == "A":
        return A(value)
    if rtype == "AAAA":
        return AAAA(value)
    if rtype == "CNAME":
        return CNAME(_norm(value) + ".")
    if rtype == "PTR":
        return PTR(_norm(value) + ".")
    if rtype == "MX":
        pref, host = value.split(None, 1)
        host = host.strip()
        label = DNSLabel([]) if host == "." else DNSLabel(_norm(host) + ".")
        return MX(label, int(pref))
    if rtype == "TXT":
        data = value.encode("utf-8")
        return TXT([data[i:i + 255] for i in range(0, len(data), 255)]
                   or [b""])
    raise ValueError(f"unsupported record type {rtype}")


class DNSServer:
    def __init__(self, port=None, host="127.0.0.1"):
        self.host = host
        self.port = port or _free_port()
        self.addr = f"{host}:{self.port}"
        self.lock = threading.Lock()
        self.records = {}
        self.failing = set()
        self.dropped = set()
        self.queries = []
        self._servers = []
        self._system_host = None  # system_host(), once asked.

    def add(self, name, rtype, value):
        rtype = rtype.upper()
        if rtype == "PTR":
            try:
                name = ipaddress.ip_address(name.strip()).reverse_pointer
            except ValueError:
                pass  # Already a reverse name.
        with self.lock:
            self.records.setdefault(_norm(name), []).append(
                (rtype, _rdata(rtype, value)))
        return self

    def load(self, text):
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, rtype, value = line.split(None, 2)
            self.add(name, rtype, value)
        return self

    def servfail(self, name):
        with self.lock:
            self.failing.add(_norm(name))

    def drop(self, name):
        with self.lock:
            self.dropped.add(_norm(name))

    def _listen(self, host, port):
        # UDP and TCP on one address, or neither (OSError).
        started = []
        try:
            for tcp in (False, True):
                started.append(_LibServer(_Resolver(self), port=port,
                                          address=host, tcp=tcp,
                                          logger=_QuietLogger()))
        except OSError:
            for s in started:
                s.server.server_close()
            raise
        for s in started:
            s.start_thread()
        self._servers += started

    def start(self):
        self._listen(self.host, self.port)
        if self._system_host:  # Back on it after a stop().
            self._listen(self._system_host, 53)
        return self

    def system_host(self):
        """Also serves on port 53 (UDP and TCP) of a free 127.53.x.y
        address, from the first call on (again after a stop() and
        start()); returns the address. Port 53 because a resolv.conf
        names servers without ports. Root only."""
        if self._system_host:
            return self._system_host
        for _ in range(50):
            ip = f"127.53.{random.randint(0, 255)}.{random.randint(1, 254)}"
            try:
                self._listen(ip, 53)
            except OSError:
                continue
            self._system_host = ip
            return ip
        raise RuntimeError("no 127.53.x.y address with port 53 free")

    def stop(self):
        for s in self._servers:
            s.stop()
            s.server.server_close()
        self._servers = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("zonefile")
    args = ap.parse_args()
    srv = DNSServer(args.port or None)
    with open(args.zonefile) as f:
        srv.load(f.read())
    srv.start()
    print(f"listening on {srv.addr}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    srv.stop()


if __name__ == "__main__":
    sys.exit(main())
