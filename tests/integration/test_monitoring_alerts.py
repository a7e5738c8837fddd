"""Our shipped alerts fire end to end: a real Prometheus, on loopback with
a 1s evaluation interval and the rules file exactly as shipped, scrapes a
daemon driven into the state each alert is about, and the test reads the
firing alert from Prometheus's API. The two rules tested here need no
"for:" (their metric crosses the threshold once and stays), so nothing in
the rules is changed for the test."""

import json
import subprocess
import time

import pytest

from conftest import http_get
from dnssecutil import free_loopback_ip_udp53
from monitoringutil import Prometheus
from queueutil import write_item


def firing(prom):
    status, _, body = http_get(f"http://127.0.0.1:{prom.port}/api/v1/alerts")
    assert status == 200, body
    return [a for a in json.loads(body)["data"]["alerts"]
            if a["state"] == "firing"]


def wait_firing(prom, name, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alerts = [a for a in firing(prom) if a["labels"]["alertname"] == name]
        if alerts:
            return alerts
        time.sleep(0.5)
    raise AssertionError(f"{name} never fired; firing: {firing(prom)}")


@pytest.fixture
def prom_dir(tmp_path):
    d = tmp_path / "prom"
    d.mkdir()
    return d


def test_certificate_and_queue_age_alerts_fire(chasquid_factory, prom_dir):
    c = chasquid_factory(cert=False)
    # A certificate that expires in 3 days, and one that does not.
    for name, days in (("testserver", 3), ("zz-fine.example", 60)):
        d = c.config_dir / "certs" / name
        d.mkdir(parents=True)
        cn = "testserver" if name == "testserver" else name
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-days", str(days), "-subj", f"/CN={cn}",
             "-keyout", str(d / "privkey.pem"),
             "-out", str(d / "fullchain.pem")],
            check=True, capture_output=True)
    # A queue item accepted two hours ago, for a remote domain whose
    # lookups fail (no DNS server answers): it stays queued.
    created = int(time.time()) - 7200
    write_item(c, "old-item", "sender@testserver",
               [("rcpt@remote.example", "EMAIL", "rcpt@remote.example")],
               "Subject: old\r\n\r\nold\r\n", created=created)
    # The system resolver's path: /etc/resolv.conf names a loopback
    # address where nothing listens (conftest's system_dns).
    c.start(system_dns=free_loopback_ip_udp53())
    assert c.var("chasquid/queue/oldestItemTimestamp") == created
    left = c.var("chasquid/tls/certNotAfter", "testserver") - time.time()
    assert 2 * 86400 < left <= 3 * 86400, left
    assert c.var("chasquid/queue/sizeBytes") > 0
    # Its first attempt fails (no DNS), temporarily: it stays queued.
    deadline = time.monotonic() + 60
    while c.var("chasquid/queue/deliveriesTransientFailed",
                "email:remote") < 1:
        assert time.monotonic() < deadline, "no delivery attempt"
        time.sleep(0.2)
    assert c.var("chasquid/queue/length") == 1

    prom = Prometheus(prom_dir, f"127.0.0.1:{c.monitoring_port}")
    try:
        alerts = wait_firing(prom, "ChasquidCertificateExpiringSoon")
        assert [a["labels"]["certificate"] for a in alerts] == ["testserver"]
        assert alerts[0]["labels"]["severity"] == "page"
        assert "expires in 2d 23h" in alerts[0]["annotations"]["summary"]

        alerts = wait_firing(prom, "ChasquidQueueItemOld")
        assert len(alerts) == 1
        age = float(alerts[0]["value"])
        assert 7200 <= age < 7200 + 600, age
        assert "the oldest queued item has waited 2h" in \
            alerts[0]["annotations"]["summary"]
    finally:
        prom.stop()
