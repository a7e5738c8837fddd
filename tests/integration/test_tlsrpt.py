"""TLS reporting (RFC 8460), ours: daemon A records each outgoing TLS
session per policy domain and UTC day in <data_dir>/tlsrpt/ (kept across a
restart), then sends each domain that publishes a `_smtp._tls` record an
aggregate report. Daemon B, another of ours, is the MX that receives both
the mail and the reports; the test reads each report as B delivered it:
multipart/report; report-type=tlsrpt, the TLS-Report-* headers, a DKIM
signature that dkimpy verifies, and gzip'd JSON that validates against
the schema of RFC 8460 §4.4, transcribed below."""

import email
import email.policy
import gzip
import json
import os

import jsonschema
import pytest

from conftest import free_port, wait_for_port
from dkimutil import crlf, dkimpy_verify, keygen
from remoteutil import CA, STSServer, env_with_ca, free_loopback_ip, \
    make_daemon, sts_policy_text, submit, wait_for
from tlsrptutil import SCHEMA, ReportCollector

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the MTA-STS server needs port 443")


def one_file_per_message(mbox):
    """An MDA that writes each delivery to its own file under mbox."""
    return (f'mail_delivery_agent_bin: "/bin/sh"\n'
            f'mail_delivery_agent_args: "-c"\n'
            f'mail_delivery_agent_args: "cat > $(mktemp {mbox}/msg.XXXXXX)"\n')


def reports(mbox):
    """{policy domain: [parsed report mails]} among B's deliveries."""
    out = {}
    for p in sorted(mbox.glob("msg.*")):
        raw = p.read_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if msg["TLS-Report-Domain"]:
            out.setdefault(str(msg["TLS-Report-Domain"]), []).append(
                (raw, msg))
    return out


def test_reports_survive_restart_and_validate(chasquid_factory, tmp_path,
                                              dns):
    ca = CA(tmp_path / "ca")
    conf = ('tls_reporting: { enabled: true from_address: "tlsrpt@a.test" '
            'submitter: "srv-a.example" }\n')
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",),
                    tmp_path / "mbox-a", extra=conf)
    a.add_user("alice", "a.test", "pass-a")
    dkim_txt = keygen(a.config_dir, "a.test", "sel", "rsa3072")
    dns.add("sel._domainkey.a.test", "TXT", dkim_txt)
    mbox_b = tmp_path / "mbox-b"
    mbox_b.mkdir()
    b = chasquid_factory("mx.b.test", hostname="mx.b.test",
                         domains=("b.test",),
                         extra_conf=one_file_per_message(mbox_b))
    ca.issue(b.config_dir / "certs" / "mx.b.test", "mx.b.test")
    b.add_user("bob", "b.test", "pass-b")
    b.add_user("reports", "b.test", "pass-r")

    ip = free_loopback_ip()
    # b.test: an enforce policy naming B, which passes. c.test: an enforce
    # policy naming mx.c.test, which is B too, whose certificate does not
    # name it: certificate-host-mismatch. d.test: no policy, no TLSRPT
    # record, so no report.
    for d in ("b.test", "c.test"):
        dns.add(d, "MX", f"10 mx.{d}")
        dns.add(f"mx.{d}", "A", "127.0.0.1")
        dns.add(f"_mta-sts.{d}", "TXT", "v=STSv1; id=1")
        dns.add(f"mta-sts.{d}", "A", ip)
    dns.add("d.test", "MX", "10 mx.b.test")
    dns.add("_smtp._tls.b.test", "TXT",
            "v=TLSRPTv1; rua=mailto:reports@b.test")
    # c.test also wants an HTTPS POST, and names a server that does not
    # exist (a failed report).
    https_port = free_port()
    dns.add("rpt.b.test", "A", "127.0.0.1")
    dns.add("_smtp._tls.c.test", "TXT",
            "v=TLSRPTv1; rua=mailto:reports@b.test,"
            f"https://rpt.b.test:{https_port}/tlsrpt,"
            "https://nothere.b.test/x")
    policies = {"b.test": sts_policy_text("enforce", "mx.b.test"),
                "c.test": sts_policy_text("enforce", "mx.c.test")}
    sts_cert = ca.issue(tmp_path / "sts", "mta-sts.b.test", "mta-sts.c.test")
    store = a.data_dir / "tlsrpt"
    rpt_cert = ca.issue(tmp_path / "rpt", "rpt.b.test")
    with STSServer(ip, *sts_cert, policies), \
            ReportCollector(https_port, *rpt_cert) as collector:
        b.start(f"--testing__dns_addr={dns.addr}")
        wait_for_port(b.smtp_port)
        flags = [f"--testing__dns_addr={dns.addr}",
                 f"--testing__outgoing_smtp_port={b.smtp_port}"]
        # First run: the default daily period, so nothing is reported yet.
        a.start(*flags, env=env_with_ca(ca))
        wait_for_port(a.submission_port)
        for to in ("bob@b.test", "x@c.test", "bob@d.test"):
            submit(a, "alice@a.test", "pass-a", "alice@a.test", to, "hi")
        wait_for(lambda: a.var("chasquid/tlsrpt/failures",
                                 "certificate-host-mismatch") >= 1 and
                   a.var("chasquid/tlsrpt/successes", "sts") >= 1 and
                   a.var("chasquid/tlsrpt/successes", "no-policy-found") >= 1,
                   what="three sessions recorded")
        days = [p for p in store.iterdir()]
        assert len(days) == 1
        kept = json.loads((days[0] / "c.test").read_text())
        assert kept["policies"][0]["rows"][0]["result"] == \
            "certificate-host-mismatch"
        assert (days[0] / "d.test").exists()
        assert a.var("chasquid/tlsrpt/reports", "sent") == 0
        a.stop()

        # Second run: reports every second; what the first run recorded is
        # reported from the files. This one resolves as on a real machine:
        # the TLSRPT records and MXs through /etc/resolv.conf (naming
        # `dns`), the MX's and the HTTPS collector's addresses from
        # /etc/hosts (conftest's system_dns).
        a.start(f"--testing__outgoing_smtp_port={b.smtp_port}",
                "--testing__tlsrpt_period=1s", env=env_with_ca(ca),
                system_dns=dns, hosts=["127.0.0.1 mx.b.test rpt.b.test"])
        wait_for(lambda: {"b.test", "c.test"} <= set(reports(mbox_b)),
                   timeout=30, what="reports for b.test and c.test")
        wait_for(lambda: collector.posts, what="the HTTPS report")
        # d.test published no record: forgotten without a report.
        wait_for(lambda: not (days[0] / "d.test").exists(),
                   what="d.test forgotten")
    assert "d.test" not in reports(mbox_b)
    assert a.var("chasquid/tlsrpt/reports", "sent") >= 3
    assert a.var("chasquid/tlsrpt/reports", "failed") >= 1  # nothere.b.test

    # The POSTed report: the same JSON, gzip'd, as RFC 8460 §5.4 says.
    path, ctype, body = collector.posts[0]
    assert (path, ctype) == ("/tlsrpt", "application/tlsrpt+gzip")
    posted = json.loads(gzip.decompress(body))
    jsonschema.validate(posted, SCHEMA,
                        format_checker=jsonschema.FormatChecker())
    assert posted["policies"][0]["policy"]["policy-domain"] == "c.test"

    for domain, mails in reports(mbox_b).items():
        raw, msg = mails[0]
        assert msg.get_content_type() == "multipart/report"
        assert msg.get_param("report-type") == "tlsrpt"
        assert str(msg["TLS-Report-Submitter"]) == "srv-a.example"
        assert str(msg["From"]) == "tlsrpt@a.test"
        assert str(msg["Subject"]).startswith(
            f"Report Domain: {domain} Submitter: srv-a.example Report-ID: <")
        parts = list(msg.iter_parts())
        assert [p.get_content_type() for p in parts] == \
            ["text/plain", "application/tlsrpt+gzip"]
        name = parts[1].get_filename()
        assert name.startswith(f"srv-a.example!{domain}!")
        assert name.endswith(".json.gz")
        report = json.loads(gzip.decompress(parts[1].get_content()))
        jsonschema.validate(report, SCHEMA,
                            format_checker=jsonschema.FormatChecker())
        assert report["organization-name"] == "srv-a.example"
        assert report["contact-info"] == "tlsrpt@a.test"
        pol = report["policies"][0]
        assert pol["policy"]["policy-type"] == "sts"
        assert pol["policy"]["policy-domain"] == domain
        assert "mode: enforce" in pol["policy"]["policy-string"]
        if domain == "c.test":
            assert pol["policy"]["mx-host"] == ["mx.c.test"]
            assert pol["summary"]["total-failure-session-count"] >= 1
            detail = pol["failure-details"][0]
            assert detail["result-type"] == "certificate-host-mismatch"
            assert detail["receiving-mx-hostname"] == "mx.c.test"
        else:
            assert pol["summary"]["total-successful-session-count"] >= 1
        # DKIM-signed for a.test, and B's verification agrees.
        assert dkimpy_verify(crlf(raw),
                             {"sel._domainkey.a.test": dkim_txt})
        assert "dkim=pass" in str(msg["Authentication-Results"])

    _, _, body = a.get("/debug/traces?fam=TLSRPT.Report&b=0&all=true")
    assert b"c.test" in body


def test_period_flag_is_hidden_from_help(chasquid_factory):
    """--testing__tlsrpt_period is accepted and checked, but --help does
    not list it with the flags people use."""
    c = chasquid_factory()
    rc, out = c.run_to_exit("--help")
    assert "-testing__reload_every" in out
    assert "testing__tlsrpt_period" not in out
    rc, out = c.run_to_exit("--testing__tlsrpt_period=soon")
    assert rc != 0
    assert "Invalid --testing__tlsrpt_period" in out


def test_sts_policy_failures_are_reported(chasquid_factory, tmp_path, dns):
    """Domains that announce an MTA-STS policy (their `_mta-sts` TXT
    record) which cannot be had: the policy server answers 404
    (sts-policy-fetch-error), serves a policy that does not validate
    (sts-policy-invalid), or has a certificate that does not name it
    (sts-webpki-invalid). The mail goes as without a policy, and each
    session is reported with its failure, the MX's name and both
    addresses, by HTTPS POST."""
    ca = CA(tmp_path / "ca")
    conf = ('tls_reporting: { enabled: true from_address: "tlsrpt@a.test" '
            'submitter: "srv-a.example" }\n')
    a = make_daemon(chasquid_factory, ca, "srv-a", ("a.test",),
                    tmp_path / "mbox-a", extra=conf)
    a.add_user("alice", "a.test", "pass-a")
    mbox_b = tmp_path / "mbox-b"
    mbox_b.mkdir()
    domains = ("fetch.test", "invalid.test", "webpki.test")
    b = chasquid_factory("mx.b.test", hostname="mx.b.test", domains=domains,
                         extra_conf=one_file_per_message(mbox_b))
    ca.issue(b.config_dir / "certs" / "mx.b.test", "mx.b.test")
    for d in domains:
        b.add_user("x", d, "unused")
    ip = free_loopback_ip()
    https_port = free_port()
    dns.add("mx.b.test", "A", "127.0.0.1")
    dns.add("rpt.b.test", "A", "127.0.0.1")
    for d in domains:
        dns.add(d, "MX", "10 mx.b.test")
        dns.add(f"_mta-sts.{d}", "TXT", "v=STSv1; id=1")
        dns.add(f"mta-sts.{d}", "A", ip)
        dns.add(f"_smtp._tls.{d}", "TXT",
                f"v=TLSRPTv1; rua=https://rpt.b.test:{https_port}/r")
    # fetch.test has no policy on the server (404); invalid.test's does
    # not validate; the certificate does not name mta-sts.webpki.test.
    policies = {"invalid.test": "version: STSv1\nmode: sometimes\n"}
    sts_cert = ca.issue(tmp_path / "sts", "mta-sts.fetch.test",
                        "mta-sts.invalid.test")
    rpt_cert = ca.issue(tmp_path / "rpt", "rpt.b.test")
    with STSServer(ip, *sts_cert, policies) as sts, \
            ReportCollector(https_port, *rpt_cert) as collector:
        b.start(f"--testing__dns_addr={dns.addr}")
        a.start(f"--testing__dns_addr={dns.addr}",
                f"--testing__outgoing_smtp_port={b.smtp_port}",
                "--testing__tlsrpt_period=1s", env=env_with_ca(ca))
        for d in domains:
            submit(a, "alice@a.test", "pass-a", "alice@a.test", f"x@{d}",
                   "hi")
        wait_for(lambda: set(domains) <= set(collector.reports()),
                 timeout=30, what="a report for each domain")
        assert sts.requests >= 2
    # Delivered all the same: there was no policy to enforce.
    wait_for(lambda: len(list(mbox_b.glob("msg.*"))) == 3,
             what="three deliveries")
    expected = {"fetch.test": "sts-policy-fetch-error",
                "invalid.test": "sts-policy-invalid",
                "webpki.test": "sts-webpki-invalid"}
    for d, result in expected.items():
        assert a.var("chasquid/tlsrpt/failures", result) == 1, result
        report = collector.reports()[d][0]
        jsonschema.validate(report, SCHEMA,
                            format_checker=jsonschema.FormatChecker())
        pol = report["policies"][0]
        assert pol["policy"]["policy-type"] == "sts"
        assert "policy-string" not in pol["policy"]
        assert pol["summary"] == {"total-successful-session-count": 0,
                                  "total-failure-session-count": 1}
        detail = pol["failure-details"][0]
        assert detail["result-type"] == result
        assert detail["receiving-mx-hostname"] == "mx.b.test"
        assert detail["receiving-ip"] == "127.0.0.1"
        assert detail["sending-mta-ip"] == "127.0.0.1"
    assert "404" in collector.reports()["fetch.test"][0]["policies"][0][
        "failure-details"][0]["failure-reason-code"]
    assert a.var("chasquid/tlsrpt/successes", "sts") == 0
