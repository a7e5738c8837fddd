"""Helpers for the remote-delivery tests: a test CA, an MTA-STS HTTPS
server, and a scriptable SMTP peer (with optional STARTTLS).

Nothing here touches the internet: names resolve through dnsserver.py, and
certificates chain to a CA made per test.
"""

import http.server
import os
import pathlib
import smtplib
import socket
import socketserver
import ssl
import struct
import subprocess
import threading

from conftest import wait_for


class CA:
    """A throw-away certificate authority (openssl)."""

    def __init__(self, root):
        self.dir = pathlib.Path(root)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = self.dir / "ca.key"
        self.cert = self.dir / "ca.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "2", "-subj", "/CN=chasquid test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-keyout", str(self.key), "-out", str(self.cert)],
            check=True, capture_output=True)
        self.serial = 1

    def issue(self, outdir, *names):
        """Writes fullchain.pem and privkey.pem for `names` into outdir."""
        outdir = pathlib.Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        key, csr = outdir / "privkey.pem", outdir / "req.csr"
        subprocess.run(
            ["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-subj", f"/CN={names[0]}", "-keyout", str(key),
             "-out", str(csr)], check=True, capture_output=True)
        ext = outdir / "ext.cnf"
        ext.write_text(
            "subjectAltName=" + ",".join(f"DNS:{n}" for n in names) +
            "\nextendedKeyUsage=serverAuth\n")
        self.serial += 1
        subprocess.run(
            ["openssl", "x509", "-req", "-in", str(csr), "-CA",
             str(self.cert), "-CAkey", str(self.key), "-set_serial",
             str(self.serial), "-days", "2", "-extfile", str(ext),
             "-out", str(outdir / "fullchain.pem")],
            check=True, capture_output=True)
        csr.unlink()
        ext.unlink()
        return outdir / "fullchain.pem", key


def self_signed(outdir, name):
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "2", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(outdir / "privkey.pem"),
         "-out", str(outdir / "fullchain.pem")],
        check=True, capture_output=True)
    return outdir / "fullchain.pem", outdir / "privkey.pem"


def free_loopback_ip():
    """A 127.x.y.z address whose port 443 is free (policy servers must be
    on 443, as MTA-STS has no port)."""
    import random
    for _ in range(50):
        ip = f"127.{random.randint(1, 254)}.{random.randint(0, 254)}." \
             f"{random.randint(1, 254)}"
        with socket.socket() as s:
            try:
                s.bind((ip, 443))
                return ip
            except OSError:
                continue
    raise RuntimeError("no free loopback address for port 443")


class HTTPSServer:
    """An HTTPS server on a thread, for a subclass's request handler: a
    context manager that serves from __enter__ to __exit__."""

    def serve(self, addr, certfile, keyfile, handler):
        self.httpd = http.server.ThreadingHTTPServer(addr, handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket,
                                            server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def sts_policy_text(mode, mx):
    """An MTA-STS policy file (RFC 8461 §3.2) for one MX pattern."""
    return f"version: STSv1\nmode: {mode}\nmx: {mx}\nmax_age: 3600\n"


class STSServer(HTTPSServer):
    """Serves https://mta-sts.<domain>/.well-known/mta-sts.txt on ip:443.

    `policy` is the text served, or a dict {domain: text} to serve several
    domains by their Host header (the certificate must then name every
    mta-sts.<domain>). `requests` counts the GETs.
    """

    def __init__(self, ip, certfile, keyfile, policy,
                 content_type="text/plain"):
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                if self.path != "/.well-known/mta-sts.txt":
                    self.send_error(404)
                    return
                policy = outer.policy
                if isinstance(policy, dict):
                    host = (self.headers.get("Host") or "").split(":")[0]
                    policy = policy.get(host.removeprefix("mta-sts."))
                    if policy is None:
                        self.send_error(404)
                        return
                body = policy.encode()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.policy = policy
        self.serve((ip, 443), certfile, keyfile, Handler)


class SMTPPeer:
    """A minimal SMTP server on <host>:<port> (127.0.0.1), for the peers chasquid
    must cope with: STARTTLS with a given certificate (or none), stalling
    at a command, rejecting. Records the messages it accepts.

    `stall_at`: a command verb ("DATA") after which it never answers.
    `starttls_reply`: advertise STARTTLS but refuse it with this reply.
    `tls_enabled` can be switched off and on while serving (a peer that
    loses its TLS set-up).
    `misbehave`, for the first `misbehave_times` connections: "reset"
    (an RST after the client's MAIL), "tls_garbage" (accepts STARTTLS,
    then sends bytes that are no TLS record and hangs up), "garbage"
    (binary junk instead of a greeting, then a hang-up).
    """

    def __init__(self, port, certfile=None, keyfile=None, stall_at=None,
                 rcpt_reply="250 ok", starttls_reply=None, host="127.0.0.1",
                 misbehave=None, misbehave_times=0):
        self.port = port
        self.misbehave = misbehave
        self.misbehave_times = misbehave_times
        self.misbehaved = 0
        self.starttls_reply = starttls_reply
        self.tls_enabled = True
        self.stalled = 0
        self.messages = []   # (mail_from, [rcpt], data)
        self.connections = 0
        self.peers = []      # The client's IP address, per connection.
        self.tls_connections = 0
        self.stall_at = stall_at
        self.rcpt_reply = rcpt_reply
        self.ctx = None
        if certfile:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(certfile, keyfile)
        self.stop_event = threading.Event()
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                outer._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)

    def _handle(self, sock):
        self.connections += 1
        self.peers.append(sock.getpeername()[0])
        f = sock.makefile("rwb")

        def send(line):
            f.write(line.encode() + b"\r\n")
            f.flush()

        bad = None
        if self.misbehave and self.misbehaved < self.misbehave_times:
            self.misbehaved += 1
            bad = self.misbehave
        if bad == "garbage":
            f.write(b"\x00\xff\xfe junk \x1b[2J\r\n\x00")
            f.flush()
            return
        send("220 peer ESMTP")
        mail_from, rcpts = None, []
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.decode(errors="replace").rstrip("\r\n")
            verb = cmd.split(" ")[0].upper()
            if self.stall_at and verb == self.stall_at:
                self.stalled += 1
                self.stop_event.wait(120)
                return
            offers_tls = ((self.ctx and self.tls_enabled) or
                          self.starttls_reply)
            if verb == "EHLO":
                ext = ["250-peer", "250-8BITMIME", "250-SMTPUTF8"]
                if offers_tls and not isinstance(sock, ssl.SSLSocket):
                    ext.append("250-STARTTLS")
                ext.append("250 HELP")
                for e in ext:
                    send(e)
            elif verb == "STARTTLS" and self.starttls_reply:
                send(self.starttls_reply)
            elif verb == "STARTTLS" and offers_tls and bad == "tls_garbage":
                send("220 go ahead")
                f.write(b"\x15\x03\x03\x00\x02this is no TLS record\r\n")
                f.flush()
                return
            elif verb == "MAIL" and bad == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
                f.close()  # The file holds the socket open until closed.
                sock.close()
                return
            elif verb == "STARTTLS" and offers_tls:
                send("220 go ahead")
                try:
                    sock = self.ctx.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                self.tls_connections += 1
                f = sock.makefile("rwb")
            elif verb == "MAIL":
                mail_from = cmd[10:].split(">")[0].lstrip("<")
                send("250 ok")
            elif verb == "RCPT":
                rcpts.append(cmd[8:].split(">")[0].lstrip("<"))
                send(self.rcpt_reply)
            elif verb == "DATA":
                send("354 go ahead")
                data = b""
                while True:
                    dl = f.readline()
                    if not dl or dl == b".\r\n":
                        break
                    data += dl
                self.messages.append((mail_from, rcpts, data))
                send("250 queued")
            elif verb == "QUIT":
                send("221 bye")
                return
            else:
                send("250 ok")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()


def mda_conf(mbox):
    """Config lines for an MDA that appends each delivery to
    <mbox>/<recipient>."""
    return (f'mail_delivery_agent_bin: "/bin/sh"\n'
            f'mail_delivery_agent_args: "-c"\n'
            f'mail_delivery_agent_args: "cat >> \'{mbox}\'/\\"$0\\""\n'
            f'mail_delivery_agent_args: "%to%"\n')


def make_daemon(factory, ca, name, domains, mbox, extra=""):
    """A chasquid named `name` (its hostname), with a certificate from
    `ca` and local mail going to files under `mbox`."""
    mbox.mkdir(parents=True, exist_ok=True)
    c = factory(name, hostname=name, domains=domains,
                extra_conf=mda_conf(mbox) + extra)
    ca.issue(c.config_dir / "certs" / name, name)
    return c


def submit(c, user, password, from_, to, body, utf8=False):
    """Sends one message through c's submission port (STARTTLS + AUTH)."""
    s = smtplib.SMTP("127.0.0.1", c.submission_port, timeout=20)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    s.login(user, password)
    msg = f"From: {from_}\r\nTo: {to}\r\nSubject: test\r\n\r\n{body}\r\n"
    s.sendmail(from_, [to], msg.encode(),
               mail_options=["SMTPUTF8"] if utf8 else [])
    s.quit()


def env_with_ca(ca):
    """The environment for a daemon that trusts only `ca`."""
    env = dict(os.environ)
    env["SSL_CERT_FILE"] = str(ca.cert)
    env["SSL_CERT_DIR"] = str(ca.dir / "empty")
    (ca.dir / "empty").mkdir(exist_ok=True)
    return env


def mail_log(c):
    """The daemon's mail log so far."""
    p = c.root / "mail.log"
    return p.read_text(errors="replace") if p.exists() else ""


def wait_sent(c, rcpt, timeout=20):
    """Waits for c's mail log to say a message to `rcpt` was delivered
    (for local mail: the MDA has finished writing it)."""
    wait_for(lambda: f" to={rcpt} sent" in mail_log(c), timeout=timeout,
               what=f"delivery to {rcpt}")




class GoStyleCerts:
    """Certificates shaped like the ones Go tools (and chasquid's test
    suite) make: subject only `O=Test Cert Org`, no key identifiers, so
    several of them share one subject name and nothing but the signature
    tells them apart. Made with python3-cryptography, which (unlike the
    openssl command) can leave the key identifiers out and date a
    certificate in the past."""

    SUBJECT = "Test Cert Org"

    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric import ec
        self._ec = ec

    def _name(self, org):
        from cryptography import x509
        from cryptography.x509.oid import NameOID
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                             org)])

    def make(self, host=None, issuer=None, ca=False, org=SUBJECT,
             expired=False):
        """Returns (cert, key). Self-signed unless `issuer` (a (cert, key)
        pair) is given; `host` goes in subjectAltName."""
        import datetime
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import ExtendedKeyUsageOID
        key = self._ec.generate_private_key(self._ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        if expired:
            not_before = now - datetime.timedelta(days=3)
            not_after = now - datetime.timedelta(days=1)
        else:
            not_before = now - datetime.timedelta(minutes=5)
            not_after = now + datetime.timedelta(hours=4)
        issuer_name = issuer[0].subject if issuer else self._name(org)
        b = (x509.CertificateBuilder()
             .subject_name(self._name(org))
             .issuer_name(issuer_name)
             .public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(not_before)
             .not_valid_after(not_after)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                            critical=True)
             .add_extension(x509.KeyUsage(
                 digital_signature=True, key_encipherment=True,
                 key_cert_sign=True, content_commitment=False,
                 data_encipherment=False, key_agreement=False,
                 crl_sign=False, encipher_only=False, decipher_only=False),
                 critical=True))
        if not ca:
            b = b.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                critical=False)
        if host:
            b = b.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(host)]),
                critical=False)
        cert = b.sign(issuer[1] if issuer else key, hashes.SHA256())
        return cert, key

    @staticmethod
    def pem(cert):
        from cryptography.hazmat.primitives import serialization
        return cert.public_bytes(serialization.Encoding.PEM)

    @staticmethod
    def write(outdir, chain, key):
        """Writes fullchain.pem (the certificates in `chain`, leaf first)
        and privkey.pem into outdir, as a daemon's certs/<name>/ wants."""
        from cryptography.hazmat.primitives import serialization
        outdir = pathlib.Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        (outdir / "fullchain.pem").write_bytes(
            b"".join(GoStyleCerts.pem(c) for c in chain))
        (outdir / "privkey.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()))
        return outdir / "fullchain.pem", outdir / "privkey.pem"
