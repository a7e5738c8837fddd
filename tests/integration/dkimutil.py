"""Helpers for the DKIM interoperability tests: keys, messages, and the
three verifiers (ours via chasquid-util, dkimpy, Mail::DKIM)."""

import base64
import pathlib
import subprocess

import dkim  # dkimpy (python3-dkim)

from conftest import binary

HERE = pathlib.Path(__file__).resolve().parent

# Real-world shapes: folded and long headers, UTF-8, empty body, trailing
# blank lines, whitespace runs, duplicate headers. LF line ends, as chasquid
# keeps mail internally; the signer and verifiers convert to CRLF.
MESSAGES = {
    "plain": (
        "From: Alice <alice@example.com>\n"
        "To: bob@example.net\n"
        "Subject: Hello\n"
        "Date: Mon, 4 Mar 2024 10:00:00 +0000\n"
        "Message-ID: <plain@example.com>\n"
        "\n"
        "Hi Bob.\n"),
    "folded": (
        "From: \"A very long display name, with a comma\"\n"
        "\t<alice@example.com>\n"
        "To: bob@example.net, carol@example.net, dave@example.net,\n"
        "  erin@example.net,    frank@example.net\n"
        "Subject: " + "a long subject line " * 8 + "\n"
        "  continued   after a fold\n"
        "References: " + " ".join(f"<ref{i}@example.com>" for i in range(12))
        + "\n"
        "X-Unsigned:   spaces   \t everywhere\n"
        "Message-ID: <folded@example.com>\n"
        "\n"
        "Line with trailing spaces   \n"
        "\tTabbed   and    spaced\t\n"
        "\n"
        "end\n"),
    "utf8": (
        "From: Zoë <zoe@example.com>\n"
        "To: Ñandú <nandu@example.net>\n"
        "Subject: Grüße aus Köln 😀\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        "Ünïcödé bödy — ✓\n"),
    "empty-body": (
        "From: alice@example.com\n"
        "To: bob@example.net\n"
        "Subject: nothing\n"
        "\n"),
    "trailing-blank-lines": (
        "From: alice@example.com\n"
        "To: bob@example.net\n"
        "Subject: trailing\n"
        "\n"
        "text\n"
        "\n"
        "\n"
        "\n"),
    "duplicate-headers": (
        "Received: from a by b\n"
        "Received: from c by d\n"
        "From: alice@example.com\n"
        "To: bob@example.net\n"
        "Cc: one@example.net\n"
        "Cc: two@example.net\n"
        "Subject: dups\n"
        "\n"
        "body\n"),
}


def crlf(text):
    b = text.encode("utf-8") if isinstance(text, str) else text
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def util(*args, stdin=b"", cwd=None, check=True):
    r = subprocess.run([binary("chasquid-util"), *args], input=stdin,
                       capture_output=True, cwd=cwd, timeout=60)
    if check:
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


def keygen(confdir, domain, selector, algo):
    """Creates a key with chasquid-util; returns its TXT record text."""
    (confdir / "domains" / domain).mkdir(parents=True, exist_ok=True)
    out = util(f"-C={confdir}", "dkim-keygen", domain, selector,
               f"--algo={algo}").stdout.decode()
    line = out.splitlines()[-1]
    name, typ, value = line.split("\t")
    assert name == f"{selector}._domainkey.{domain}" and typ == "TXT"
    return value.strip('"')


def sign(confdir, msg, domain=None, selector=None):
    """Returns the message signed by chasquid-util dkim-sign (CRLF)."""
    args = [f"-C={confdir}", "dkim-sign"]
    if domain:
        args += [domain] + ([selector] if selector else [])
    header = util(*args, stdin=crlf(msg)).stdout
    assert header.startswith(b"DKIM-Signature: ") and header.endswith(b"\r\n")
    return header + crlf(msg)


def our_verify(msg, txt):
    """Authentication-Results text from chasquid-util dkim-verify --txt."""
    return util("dkim-verify", f"--txt={txt}", stdin=msg).stdout.decode()


def dkimpy_dns(records):
    """A dkimpy dnsfunc over records ("<sel>._domainkey.<d>" -> TXT)."""
    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        return records.get(n.rstrip("."), "").encode()
    return dnsfunc


def dkimpy_verify(msg, records):
    """dkimpy's verdict (the first signature); records as dkimpy_dns."""
    return dkim.verify(msg, dnsfunc=dkimpy_dns(records))


def dkimpy_verify_each(msg, records, n):
    """dkimpy's verdict on each of the first `n` signatures, top first."""
    d = dkim.DKIM(msg)
    return [bool(d.verify(idx=i, dnsfunc=dkimpy_dns(records)))
            for i in range(n)]


def mail_dkim_verify(msg, dns_port):
    """Mail::DKIM's per-signature results and overall result."""
    r = subprocess.run(["perl", str(HERE / "dkim_verify.pl"), str(dns_port)],
                       input=msg, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().splitlines()


def dkimpy_keys(tmp_path):
    """An RSA-2048 (PKCS#1 PEM) and an Ed25519 key for dkimpy to sign with,
    with their TXT records: {algo: (private key for dkim.sign, txt)}."""
    import nacl.signing
    pem = tmp_path / "rsa.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(pem),
                    "2048"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(pem), "-pubout",
                          "-outform", "DER"], check=True,
                         capture_output=True).stdout
    sk = nacl.signing.SigningKey.generate()
    return {
        "rsa-sha256": (pem.read_bytes(), "v=DKIM1; k=rsa; p="
                       + base64.b64encode(der).decode()),
        "ed25519-sha256": (base64.b64encode(bytes(sk)),
                           "v=DKIM1; k=ed25519; p="
                           + base64.b64encode(bytes(sk.verify_key)).decode()),
    }
