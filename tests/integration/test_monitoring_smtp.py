"""Monitoring seen through real SMTP sessions: a live connection on the
tasks page and in the gauge, hostile EHLO names escaped on the traces page,
and a real Prometheus reading the counters and histograms a session moved.
Skipped while the SMTP server is not in the build."""

import json
import re
import smtplib

import pytest

from conftest import wait_for
from monitoringutil import Prometheus, links


def require_smtp_vars(c):
    v = json.loads(c.get("/debug/vars")[2])
    assert "chasquid/smtpIn/commandCount" in v, "no SMTP variables exported"


def test_live_session_on_tasks_page_and_gauge(chasquid_factory):
    c = chasquid_factory().start()
    require_smtp_vars(c)
    s = smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=10)
    s.ehlo("tasks.example")
    text = c.get("/debug/tasks")[2].decode()
    assert "SMTP.Conn" in text, text
    assert c.var("chasquid/smtpIn/liveConnections") == 1
    s.quit()
    wait_for(lambda: c.var("chasquid/smtpIn/liveConnections") == 0)
    wait_for(lambda: "SMTP.Conn" not in c.get("/debug/tasks")[2].decode())
    v = c.var("chasquid/smtpIn/sessionDuration")
    assert v["le=+Inf"] == 1 and v["sum"] > 0


def test_html_in_ehlo_comes_out_escaped(chasquid_factory):
    c = chasquid_factory().start()
    require_smtp_vars(c)
    evil = "<script>alert(1)</script><img/src=x/onerror=alert(2)>"
    s = smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=10)
    s.ehlo(evil)
    s.quit()
    # Find the connection's trace wherever it landed, and its own page;
    # only once the session is over is it in a finished bucket.
    wait_for(lambda: c.var("chasquid/smtpIn/liveConnections") == 0)
    wait_for(lambda: "SMTP.Conn" in c.get("/debug/traces")[2].decode())
    pages = []
    for b in range(8):
        body = c.get(f"/debug/traces?fam=SMTP.Conn&b={b}&all=false")[2]
        pages.append(body.decode())
    text = "".join(pages)
    assert "-&gt; EHLO &lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;img/src=x/onerror=alert(2)&gt;" in text
    assert "<script" not in text and "<img" not in text
    link = [l for p in pages for l in links(p, "/debug/traces")
            if "trace=SMTP.Conn" in l][0]
    body = c.get(link)[2].decode()
    assert "&lt;script&gt;" in body and "<script" not in body


def test_prometheus_reads_smtp_counters(chasquid_factory, tmp_path):
    c = chasquid_factory().start()
    require_smtp_vars(c)
    for _ in range(3):
        s = smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=10)
        s.ehlo("prom.example")
        s.noop()
        s.quit()
    want = c.var("chasquid/smtpIn/commandCount", "EHLO")
    assert want == 3
    (tmp_path / "prom").mkdir()
    prom = Prometheus(tmp_path / "prom", f"127.0.0.1:{c.monitoring_port}")
    try:
        got = prom.wait_value(
            'chasquid_smtpIn_commandCount{command="EHLO"}',
            lambda v: v == want)
        assert got == 3
        prom.wait_value('chasquid_smtpIn_responseCodeCount{code="250"}',
                        lambda v: v >= 6)
        # The session histogram, as a histogram: a quantile exists.
        assert prom.wait_value("chasquid_smtpIn_sessionDuration_count",
                               lambda v: v == 3) == 3
        q = prom.wait_value(
            "histogram_quantile(0.5, chasquid_smtpIn_sessionDuration_bucket)",
            lambda v: v == v)  # Not NaN.
        assert 0 < q <= 1200
    finally:
        prom.stop()


def test_loop_detected_counter(chasquid_factory):
    c = chasquid_factory()
    c.add_user("user", "testserver", "secretpassword")
    c.start()
    require_smtp_vars(c)
    received = "".join(
        f"Received: from hop{i}.example by hop{i + 1}.example;"
        f" Mon, 1 Jan 2024 00:00:{i % 60:02d} +0000\r\n" for i in range(51))
    msg = received + "Subject: loop\r\n\r\nround and round\r\n"
    s = smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=10)
    s.ehlo("loop.example")
    with pytest.raises(smtplib.SMTPDataError) as e:
        s.sendmail("", ["user@testserver"], msg)
    assert e.value.smtp_code == 554
    assert b"5.4.6 Loop detected (50 hops)" in e.value.smtp_error
    s.quit()
    # The exact line chasquid's t-09-loop greps, and its OpenMetrics twin.
    body = c.get("/debug/vars")[2].decode()
    assert re.search(r'^"chasquid/smtpIn/loopsDetected": [12],$', body, re.M)
    text = c.get("/metrics")[2].decode()
    assert re.search(r"^chasquid_smtpIn_loopsDetected 1$", text, re.M)
