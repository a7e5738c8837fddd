"""The Grafana dashboard we ship (monitoring/grafana/chasquid-dashboard.json):
it is a dashboard Grafana can import, every PromQL expression in it parses
(promtool checks them as recording rules) and names only metrics that a
real daemon's /metrics exports."""

import json
import re
import shutil
import subprocess

from conftest import REPO

DASHBOARD = REPO / "monitoring" / "grafana" / "chasquid-dashboard.json"

# What Grafana substitutes before it sends a query to Prometheus.
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m",
                "$instance": ".*", "$job": ".*"}
# Series that Prometheus itself makes for every target.
PROMETHEUS_SERIES = {"up"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on",
            "ignoring", "group_left", "group_right", "inf", "nan"}


def load():
    return json.loads(DASHBOARD.read_text())


def expressions(dash):
    """[(where, PromQL as Grafana sends it)] for every panel target and
    every templating query (the selector inside label_values())."""
    out = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            out.append((f"panel {p['id']} {p['title']!r} {t['refId']}",
                        t["expr"]))
    for v in dash["templating"]["list"]:
        if v["type"] != "query":
            continue
        m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", v["definition"])
        assert m, v["definition"]
        out.append((f"variable {v['name']}", m.group(1)))
    subst = []
    for where, e in out:
        for k in sorted(GRAFANA_VARS, key=len, reverse=True):
            e = e.replace(k, GRAFANA_VARS[k])
        assert "$" not in e, (where, e)
        subst.append((where, e))
    return subst


def metric_names(expr):
    """The metric names a (valid) PromQL expression selects."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)        # strings
    e = re.sub(r"\{[^}]*\}", "", e)                     # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                    # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*"
               r"\([^)]*\)", "", e)                     # label lists
    names = set()
    for m in re.finditer(r"(?<![\w.])[A-Za-z_:][\w:]*", e):
        if e[m.end():].lstrip().startswith("("):
            continue  # A function or an aggregation.
        if m.group(0).lower() in KEYWORDS:
            continue
        names.add(m.group(0))
    return names


def exported_series(text):
    """Series names Prometheus stores from one /metrics scrape."""
    from prometheus_client.openmetrics.parser import (
        text_string_to_metric_families)
    out = set()
    for f in text_string_to_metric_families(text):
        if f.type == "histogram":
            out |= {f.name + "_bucket", f.name + "_sum", f.name + "_count"}
        elif f.type == "counter":
            out |= {f.name + "_total", f.name + "_created"}
        else:
            out.add(f.name)
        out |= {s.name for s in f.samples}
    return out


def test_dashboard_is_importable():
    dash = load()
    assert dash["title"] == "chasquid" and dash["uid"]
    assert isinstance(dash["schemaVersion"], int)
    # The data source is a variable: the dashboard imports into any
    # Grafana with a Prometheus data source, whatever its name.
    (ds,) = [v for v in dash["templating"]["list"] if v["name"] == "datasource"]
    assert (ds["type"], ds["query"]) == ("datasource", "prometheus")
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for p in dash["panels"]:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24, p
        if p["type"] == "row":
            continue
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        assert p["targets"], p["title"]
        for t in p["targets"]:
            # After an aggregation, a legend names only labels it keeps.
            if not re.search(r"\b(sum|min|max|avg|count)\b", t["expr"]):
                continue
            for label in re.findall(r"\{\{(\w+)\}\}",
                                    t.get("legendFormat", "")):
                assert re.search(rf"\bby \([^)]*\b{label}\b", t["expr"]), \
                    (p["title"], label)
    # The health row comes first, with the queue and the certificates.
    titles = [p["title"] for p in dash["panels"]]
    assert titles[0] == "Health"
    assert {"Oldest queued item", "Certificate days left",
            "Delivery results per minute"} <= set(titles)


def promtool_check(tmp_path, exprs):
    """Runs `promtool check rules` over `exprs` as recording rules."""
    rules = {"groups": [{"name": "grafana", "rules": [
        {"record": f"grafana:expr{i}", "expr": e}
        for i, (_, e) in enumerate(exprs)]}]}
    f = tmp_path / "dashboard-rules.yml"
    f.write_text(json.dumps(rules, indent=1))  # JSON is YAML.
    return subprocess.run([shutil.which("promtool"), "check", "rules",
                           str(f)], capture_output=True, text=True)


def test_every_expression_parses_with_promtool(tmp_path):
    assert shutil.which("promtool"), "promtool (Debian package prometheus)"
    exprs = expressions(load())
    assert len(exprs) >= 30
    r = promtool_check(tmp_path, exprs)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in r.stdout, r.stdout
    # The check can fail: one broken expression and promtool says where.
    bad = promtool_check(tmp_path, exprs + [("bad", "sum(rate(x[5m])")])
    assert bad.returncode != 0
    assert "unclosed left parenthesis" in bad.stdout + bad.stderr


def test_dashboard_names_only_exported_metrics(chasquid_factory):
    assert metric_names(
        'histogram_quantile(0.95, sum by (le, x) (rate(a_bucket{i=~"b"}'
        '[5m]))) / on (x) group_left (y) c offset 5m > 1e3 and d') == {
            "a_bucket", "c", "d"}
    c = chasquid_factory().start()
    exported = exported_series(c.get("/metrics")[2].decode())
    assert "chasquid_queue_deliveriesSent" in exported
    assert "process_cpu_seconds_total" in exported
    used = set()
    for where, e in expressions(load()):
        names = metric_names(e)
        assert names, (where, e)
        missing = names - exported - PROMETHEUS_SERIES
        assert not missing, (where, missing)
        used |= names
    # The dashboard shows what the operations work added.
    for m in ("chasquid_queue_oldestItemTimestamp", "chasquid_tls_certNotAfter",
              "chasquid_queue_deliveriesPermanentFailed",
              "chasquid_smtpIn_authFailure", "chasquid_smtpIn_tlsVersions",
              "chasquid_dns_queryDuration_bucket", "chasquid_build_info"):
        assert m in used, m
