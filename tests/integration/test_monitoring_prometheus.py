"""A real Prometheus scrapes our /metrics, and our shipped rules pass
promtool's own unit tests."""

import shutil
import subprocess

import pytest

from monitoringutil import RULES, Prometheus


def test_shipped_rules_pass_promtool():
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is required"
    r = subprocess.run([promtool, "check", "rules", str(RULES)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([promtool, "test", "rules",
                        str(RULES.with_name("chasquid-rules_test.yml"))],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


@pytest.fixture
def prometheus_for(tmp_path):
    made = []

    def make(chasquid):
        p = Prometheus(tmp_path / "prom", f"127.0.0.1:{chasquid.monitoring_port}")
        made.append(p)
        return p

    (tmp_path / "prom").mkdir()
    yield make
    for p in made:
        p.stop()


def test_prometheus_scrapes_metrics(chasquid_factory, prometheus_for):
    c = chasquid_factory().start()
    prom = prometheus_for(c)
    # The target is up: Prometheus parsed our OpenMetrics exposition.
    prom.wait_value('up{job="chasquid"}', lambda v: v == 1)
    want = c.var("chasquid/sourceDateTimestamp")
    assert want > 0
    got = prom.wait_value("chasquid_sourceDateTimestamp", lambda v: True)
    assert got == want
    # Our histograms arrive as histograms: quantiles can be computed.
    prom.wait_value(
        'count(chasquid_smtpIn_sessionDuration_bucket{le="+Inf"})',
        lambda v: v == 1)
    # The recording rules load and evaluate (no SMTP yet: a rule over the
    # scrape itself proves evaluation; the SMTP test below covers data).
    rules = prom.wait_rules_evaluated()
    assert {"chasquid-recording", "chasquid-alerts"} <= set(rules)
    assert all(h == "ok" for hs in rules.values() for h in hs), rules
    # A counter the test moves: each scrape is a Monitoring.HTTP trace, but
    # that is not a metric; the number of samples scraped is.
    n = prom.wait_value('scrape_samples_scraped{job="chasquid"}',
                        lambda v: v > 0)
    body = c.get("/metrics")[2].decode()
    samples = [l for l in body.splitlines() if l and not l.startswith("#")]
    assert n == len(samples)
