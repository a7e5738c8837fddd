"""A DNSSEC test world on loopback, for the DANE tests: NSD serves zones
signed with ldns-signzone, and a validating unbound, which holds the
parent zone's trust anchor, resolves through it. The daemon under test
uses unbound as its resolver (--testing__dns_addr, or through
/etc/resolv.conf with `on_port_53`: Chasquid.start(system_dns=world)).

NSD listens on port 53 of a free 127.x.y.z address, because unbound
follows delegations (NS records and their glue) to port 53; that address
is the glue of every name server here. The zones are given as text; a
zone is signed unless told otherwise, and its DS goes into the parent
unless the delegation is to be unsigned. Signatures can be made already
expired.

Nothing is sent beyond loopback. Both servers run in the foreground as
children of the test and are stopped by it (a context manager).
"""

import pathlib
import random
import socket
import subprocess
import time

from conftest import free_port


def free_loopback_ip_udp53():
    """A 127.x.y.z address whose port 53 (UDP and TCP) is free."""
    for _ in range(50):
        ip = f"127.{random.randint(1, 254)}.{random.randint(0, 254)}." \
             f"{random.randint(1, 254)}"
        ok = True
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            with socket.socket(socket.AF_INET, kind) as s:
                try:
                    s.bind((ip, 53))
                except OSError:
                    ok = False
        if ok:
            return ip
    raise RuntimeError("no free loopback address for port 53")


def _run(cmd, cwd):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd}: {r.stdout}{r.stderr}")
    return r.stdout


class Zone:
    """One zone: `origin` ("test."), its records (text after the SOA and
    NS, which are added), and how it is signed."""

    def __init__(self, origin, records, signed=True, expired=False,
                 delegated=True, lame=False):
        self.origin = origin
        self.records = records
        self.signed = signed
        self.expired = expired
        self.delegated = delegated  # False for the top (trust anchor) zone.
        # Signed and delegated (with its DS) to a name server that does not
        # answer: every lookup in it fails.
        self.lame = lame
        self.ds = ""      # Filled in when signed.
        self.dnskey = ""


class DNSSECWorld:
    """NSD with `zones` (the first is the top one, whose DNSKEY is
    unbound's trust anchor; the others are its children, delegated to the
    same NSD) and unbound on 127.0.0.1:<port>, validating.

    `addr` is unbound's "127.0.0.1:port", for --testing__dns_addr;
    `ns_ip` the address NSD serves on. With `on_port_53`, unbound also
    answers on port 53 of a free loopback address, system_host(): what a
    resolv.conf can name (conftest's Chasquid.start(system_dns=...)).
    """

    def __init__(self, root, zones, unbound_interface="127.0.0.1",
                 also_on=None, on_port_53=False):
        self.dir = pathlib.Path(root)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.zones = zones
        self.ns_ip = free_loopback_ip_udp53()
        self.unbound_interface = unbound_interface
        self.port = free_port()
        self.addr = f"{unbound_interface}:{self.port}"
        # A second, non-loopback address unbound also answers on (for the
        # "resolver not on loopback" case); its "ip:port", or None.
        self.also_on = also_on
        self.other_addr = f"{also_on}:{self.port}" if also_on else None
        self.port_53_ip = free_loopback_ip_udp53() if on_port_53 else None
        self.procs = []

    def system_host(self):
        """The loopback address where unbound answers on port 53."""
        assert self.port_53_ip, "DNSSECWorld(on_port_53=True) needed"
        return self.port_53_ip

    # --- zone files -----------------------------------------------------

    def _write_zone(self, z, extra=""):
        text = (f"$ORIGIN {z.origin}\n$TTL 300\n"
                f"@ IN SOA ns.{self.zones[0].origin} hostmaster "
                f"1 3600 600 86400 300\n"
                f"@ IN NS ns.{self.zones[0].origin}\n"
                + z.records + "\n" + extra)
        path = self.dir / f"{z.origin}zone"
        path.write_text(text)
        return path

    def _sign(self, z, path):
        key = _run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k",
                    z.origin], self.dir).strip()
        z.ds = (self.dir / f"{key}.ds").read_text().strip()
        z.dnskey = (self.dir / f"{key}.key").read_text().strip()
        cmd = ["ldns-signzone", "-f", str(path) + ".signed"]
        if z.expired:
            cmd += ["-i", "20200101000000", "-e", "20200201000000"]
        else:
            # Started an hour ago, so no clock skew matters.
            now = time.gmtime(time.time() - 3600)
            cmd += ["-i", time.strftime("%Y%m%d%H%M%S", now)]
        _run(cmd + [str(path), key], self.dir)
        return pathlib.Path(str(path) + ".signed")

    def _build(self):
        top = self.zones[0]
        files = {}
        # Children first: the top zone holds their DS records.
        for z in self.zones[1:]:
            p = self._write_zone(z)
            files[z.origin] = self._sign(z, p) if z.signed else p
        deleg = f"ns IN A {self.ns_ip}\n"
        deleg += f"ns-lame IN A {free_loopback_ip_udp53()}\n"
        for z in self.zones[1:]:
            ns = "ns-lame" if z.lame else "ns"
            deleg += f"{z.origin} IN NS {ns}.{top.origin}\n"
            if z.signed:
                deleg += z.ds + "\n"
        p = self._write_zone(top, deleg)
        files[top.origin] = self._sign(top, p)
        return files

    # --- servers --------------------------------------------------------

    def __enter__(self):
        files = self._build()
        nsd_conf = self.dir / "nsd.conf"
        conf = [
            "server:",
            f"  ip-address: {self.ns_ip}",
            "  port: 53",
            '  username: ""',
            '  chroot: ""',
            f'  zonesdir: "{self.dir}"',
            '  database: ""',
            f'  zonelistfile: "{self.dir}/zone.list"',
            f'  xfrdfile: "{self.dir}/xfrd.state"',
            f'  xfrdir: "{self.dir}"',
            f'  pidfile: "{self.dir}/nsd.pid"',
            f'  logfile: "{self.dir}/nsd.log"',
            "  server-count: 1",
            "  verbosity: 1",
            "  hide-version: yes",
            "remote-control:",
            "  control-enable: no",
        ]
        lame = {z.origin for z in self.zones if z.lame}
        for origin, f in files.items():
            if origin not in lame:
                conf += ["zone:", f"  name: {origin}", f'  zonefile: "{f}"']
        nsd_conf.write_text("\n".join(conf) + "\n")
        _run(["nsd-checkconf", str(nsd_conf)], self.dir)
        self.procs.append(subprocess.Popen(
            ["nsd", "-d", "-c", str(nsd_conf)], cwd=self.dir,
            stdout=open(self.dir / "nsd.out", "wb"),
            stderr=subprocess.STDOUT))

        top = self.zones[0]
        anchor = self.dir / "anchor.key"
        anchor.write_text(top.dnskey + "\n")
        ub_conf = self.dir / "unbound.conf"
        ub_conf.write_text("\n".join([
            "server:",
            f"  interface: {self.unbound_interface}",
            *([f"  interface: {self.also_on}",
               f"  access-control: {self.also_on}/32 allow"]
              if self.also_on else []),
            *([f"  interface: {self.port_53_ip}@53",
               f"  access-control: {self.port_53_ip}/32 allow"]
              if self.port_53_ip else []),
            f"  port: {self.port}",
            "  do-ip6: no",
            "  do-daemonize: no",
            '  username: ""',
            '  chroot: ""',
            f'  directory: "{self.dir}"',
            '  pidfile: ""',
            "  use-syslog: no",
            f'  logfile: "{self.dir}/unbound.log"',
            "  verbosity: 1",
            "  val-log-level: 2",
            "  do-not-query-localhost: no",
            f"  access-control: {self.unbound_interface}/32 allow",
            f'  trust-anchor-file: "{anchor}"',
            f'  local-zone: "{top.origin}" nodefault',
            '  domain-insecure: "invalid."',
            "  so-reuseport: no",
            "  num-threads: 1",
            # Every test asks fresh; failures are not remembered long.
            "  infra-host-ttl: 1",
            "  serve-expired: no",
            "  val-bogus-ttl: 1",
            "stub-zone:",
            f'  name: "{top.origin}"',
            f"  stub-addr: {self.ns_ip}@53",
            "remote-control:",
            "  control-enable: no",
        ]) + "\n")
        _run(["unbound-checkconf", str(ub_conf)], self.dir)
        self.procs.append(subprocess.Popen(
            ["unbound", "-d", "-c", str(ub_conf)], cwd=self.dir,
            stdout=open(self.dir / "unbound.out", "wb"),
            stderr=subprocess.STDOUT))
        try:
            self._wait_ready()
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self):
        """Polls until unbound answers a validated SOA for the top zone."""
        deadline = time.monotonic() + 20
        last = None
        while time.monotonic() < deadline:
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(
                        f"{p.args[0]} exited: " + self.logs())
            try:
                rcode, ad, _ = self.query(self.zones[0].origin, "SOA")
                if rcode == 0 and ad:
                    return
                last = (rcode, ad)
            except OSError as e:
                last = e
            time.sleep(0.1)
        raise RuntimeError(f"DNSSEC world not ready ({last}): " +
                           self.logs())

    def logs(self):
        out = ""
        for name in ("nsd.log", "nsd.out", "unbound.log", "unbound.out"):
            p = self.dir / name
            if p.exists():
                out += f"--- {name}\n" + p.read_text(errors="replace")[-3000:]
        return out

    def query(self, name, qtype, cd=False):
        """Asks unbound (with AD set, and CD if asked): (rcode, ad,
        [rdata text])."""
        import dnslib
        q = dnslib.DNSRecord.question(name, qtype)
        q.header.ad = 1
        if cd:
            q.header.cd = 1
        host, port = self.addr.rsplit(":", 1)
        raw = q.send(host, int(port), timeout=5)
        r = dnslib.DNSRecord.parse(raw)
        return (r.header.rcode, bool(r.header.ad),
                [str(rr.rdata) for rr in r.rr
                 if rr.rtype == getattr(dnslib.QTYPE, qtype)])

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []


def tlsa_ee_spki_sha256(cert_pem_path):
    """The data of a "3 1 1" record for a certificate: SHA-256 of its
    SubjectPublicKeyInfo, in hex."""
    return _openssl_digest(cert_pem_path, spki=True)


def tlsa_cert_sha256(cert_pem_path):
    """The data of a "x 0 1" record: SHA-256 of the whole certificate."""
    return _openssl_digest(cert_pem_path, spki=False)


def _openssl_digest(path, spki):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    cert = x509.load_pem_x509_certificate(pathlib.Path(path).read_bytes())
    if spki:
        data = cert.public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)
    else:
        data = cert.public_bytes(serialization.Encoding.DER)
    h = hashes.Hash(hashes.SHA256())
    h.update(data)
    return h.finalize().hex()
