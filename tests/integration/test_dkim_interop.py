"""DKIM interoperability: messages signed by chasquid-util dkim-sign verify
with dkimpy and Mail::DKIM (keys served by the test DNS server), messages
signed by dkimpy verify with chasquid-util dkim-verify, and changes to a
signed header or body fail with the right Authentication-Results."""

import pytest

import dkim
from dkimutil import (MESSAGES, crlf, dkimpy_keys, dkimpy_verify, keygen,
                      mail_dkim_verify, our_verify, sign)
from dnsserver import DNSServer

ALGOS = {"ed25519": "ed25519-sha256", "rsa3072": "rsa-sha256"}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """One config dir per algorithm, with a key for example.com."""
    out = {}
    for algo in ALGOS:
        conf = tmp_path_factory.mktemp(algo)
        out[algo] = (conf, keygen(conf, "example.com", "s-" + algo, algo))
    return out


@pytest.fixture(scope="module")
def dns(keys):
    with DNSServer() as server:
        yield server


@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_our_signatures_verify_elsewhere(keys, dns, algo):
    conf, txt = keys[algo]
    name = f"s-{algo}._domainkey.example.com"
    dns.add(name, "TXT", txt)
    for label, msg in MESSAGES.items():
        signed = sign(conf, msg, "example.com")
        assert f"a={ALGOS[algo]};".encode() in signed
        assert dkimpy_verify(signed, {name: txt}), (algo, label)
        if algo != "ed25519":  # Debian 12's Mail::DKIM lacks ed25519-sha256.
            res = mail_dkim_verify(signed, dns.port)
            assert res == ["pass pass", "overall pass"], (algo, label, res)
        assert ";dkim=pass  header.b=" in our_verify(signed, txt)


@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_changes_fail_everywhere(keys, dns, algo):
    conf, txt = keys[algo]
    name = f"s-{algo}._domainkey.example.com"
    dns.add(name, "TXT", txt)
    signed = sign(conf, MESSAGES["plain"], "example.com")

    body = signed.replace(b"Hi Bob.", b"Hi Eve.")
    assert not dkimpy_verify(body, {name: txt})
    if algo != "ed25519":
        assert mail_dkim_verify(body, dns.port)[0] == "fail fail (body has been altered)"
    out = our_verify(body, txt)
    assert '\t;dkim=fail  reason="body hash mismatch (got ' in out
    assert "\t  header.b=" in out and "  header.d=example.com" in out

    hdr = signed.replace(b"Subject: Hello", b"Subject: Hello!")
    assert not dkimpy_verify(hdr, {name: txt})
    if algo != "ed25519":
        assert mail_dkim_verify(hdr, dns.port)[0].startswith("fail fail (")
    assert ';dkim=fail  reason="verification failed"' in our_verify(hdr, txt)

    # A From: added on top is covered by over-signing.
    added = b"From: mallory@example.org\r\n" + signed
    assert ';dkim=fail  reason="verification failed"' in our_verify(added, txt)


@pytest.mark.parametrize("alg", ["rsa-sha256", "ed25519-sha256"])
@pytest.mark.parametrize("canon", [(b"relaxed", b"relaxed"),
                                   (b"simple", b"simple"),
                                   (b"relaxed", b"simple")])
def test_dkimpy_signatures_verify_here(tmp_path, alg, canon):
    privkey, txt = dkimpy_keys(tmp_path)[alg]
    for label, msg in MESSAGES.items():
        m = crlf(msg)
        sig = dkim.sign(m, b"sel", b"example.org", privkey,
                        canonicalize=canon, signature_algorithm=alg.encode(),
                        include_headers=[b"from", b"to", b"subject", b"cc"])
        out = our_verify(sig + m, txt)
        assert ";dkim=pass  header.b=" in out, (alg, canon, label, out)
        assert "header.d=example.org" in out
        out = our_verify(sig + m.replace(b"To:", b"To: x@y,", 1), txt)
        assert ';dkim=fail  reason="verification failed"' in out, (label, out)


def test_no_signature_and_wrong_key(keys):
    conf, txt = keys["ed25519"]
    out = our_verify(crlf(MESSAGES["plain"]), txt)
    assert out.split("\r\n")[1] == "\t;dkim=none\n"
    # A key of the other algorithm: no usable key.
    signed = sign(conf, MESSAGES["plain"], "example.com")
    out = our_verify(signed, keys["rsa3072"][1])
    assert ';dkim=fail  reason="verification failed"' in out
