"""The monitoring server's core pages, checked with real HTTP clients and
Prometheus' own promtool."""

import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import time
from html.parser import HTMLParser

from conftest import binary


class LinkParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append(dict(attrs)["href"])


def listening_ports(pid):
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True,
                         text=True).stdout
    ports = set()
    for line in out.splitlines():
        if f"pid={pid}," in line:
            ports.add(int(line.split()[3].rsplit(":", 1)[1]))
    return ports


def test_off_by_default(chasquid_factory):
    c = chasquid_factory(monitoring=False)
    c.start()
    assert c.proc.poll() is None
    # Only the SMTP listeners: no monitoring port unless configured.
    assert listening_ports(c.proc.pid) <= {
        c.smtp_port, c.submission_port, c.submission_tls_port}


def test_index_links_all_answer(chasquid_factory):
    c = chasquid_factory().start()
    status, headers, body = c.get("/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    text = body.decode()
    assert "<h1>chasquid @testserver</h1>" in text
    assert "built with g++" in text
    assert len(text.splitlines()) > 10
    p = LinkParser()
    p.feed(text)
    local = [l for l in p.links if l.startswith("/")]
    assert "/debug/vars" in local and "/metrics" in local
    for link in local:
        status, _, _ = c.get(link)
        assert status == 200, link


def test_not_found_and_redirects(chasquid_factory):
    c = chasquid_factory().start()
    status, headers, body = c.get("/404")
    assert status == 404
    assert body == b"404 page not found\n"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_flags_and_config(chasquid_factory):
    c = chasquid_factory().start("--testing__outgoing_smtp_port=2025")
    _, _, body = c.get("/debug/flags")
    first, rest = body.decode().split("\n\n", 1)
    assert first.splitlines() == sorted(first.splitlines())
    assert "-testing__outgoing_smtp_port=2025" in first.splitlines()
    assert "-v=1" in first.splitlines()
    assert "-testing__reload_every=30s" in rest.splitlines()
    assert "-version=false" in rest.splitlines()
    assert not any("helpfull" in l for l in body.decode().splitlines())

    _, _, body = c.get("/debug/config")
    conf = body.decode()
    assert re.search(r'^hostname: +"testserver"$', conf, re.M)
    assert re.search(r'^max_queue_items: +200$', conf, re.M)
    assert re.search(r'^give_up_send_after: +"20h"$', conf, re.M)


def test_vars_json(chasquid_factory):
    c = chasquid_factory().start()
    status, headers, body = c.get("/debug/vars")
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    v = json.loads(body)
    assert re.match(r"^\d{8}-[0-9a-f]{9}(-dirty)?$", v["chasquid/version"])
    assert isinstance(v["chasquid/sourceDateTimestamp"], int)
    # The same instant, as text (spec: YYYY-MM-DD HH:MM:SS ±ZZZZ).
    when = datetime.datetime.strptime(v["chasquid/sourceDateStr"],
                                      "%Y-%m-%d %H:%M:%S %z")
    assert when.timestamp() == v["chasquid/sourceDateTimestamp"]
    assert v["cmdline"][0].endswith("chasquid")
    assert "HeapAlloc" in v["memstats"]
    assert v["process"]["rss_bytes"] > 0
    assert v["process"]["threads"] >= 2
    # expvar's exact layout: one entry a line, sorted keys.
    lines = body.decode().splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    keys = [json.loads("{" + l.rstrip(",") + "}").popitem()[0]
            for l in lines[1:-1]]
    assert keys == sorted(keys)
    status, _, _ = c.get("/debug/vars", method="POST", data=b"")
    assert status == 404


def test_metrics_promtool(chasquid_factory, tmp_path):
    c = chasquid_factory().start()
    status, headers, body = c.get("/metrics")
    assert status == 200
    assert headers["Content-Type"] == (
        "application/openmetrics-text; version=1.0.0; charset=utf-8")
    text = body.decode()
    assert text.endswith("# EOF\n")
    assert "# HELP generated_by expvarom\n" in text
    assert re.search(r'^# HELP ignored_variables \[.*"chasquid_version".*\]$',
                     text, re.M)
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is required"
    r = subprocess.run([promtool, "check", "metrics"], input=body,
                       capture_output=True)
    out = (r.stdout + r.stderr).decode()
    # Lint warnings about chasquid's camelCase names are expected and
    # accepted; a parse error is not.
    assert "error while linting" not in out, out
    assert "parse" not in out.lower(), out


def test_exit(chasquid_factory):
    c = chasquid_factory().start()
    status, _, body = c.get("/exit")
    assert status == 405
    assert body == b"Use POST method for exiting\n"
    status, _, body = c.get("/exit", method="POST", data=b"")
    assert status == 200
    assert body == b"OK exiting\n"
    assert c.proc.wait(timeout=5) == 0


def test_version_flag():
    r = subprocess.run([binary("chasquid"), "--version"], capture_output=True,
                       text=True)
    assert r.returncode == 0
    assert re.match(r"^chasquid \S+ \(source date: \d{4}-\d\d-\d\d ",
                    r.stdout)


def test_bad_flags_answered_as_go_flag_does():
    """An unknown flag, a missing value or a bad number: Go's error line,
    then "Usage of <argv[0]>:" and the flags, and exit status 2; -h prints
    the usage and exits 0. No daemon starts."""
    exe = binary("chasquid")
    cases = [(["-bogus"], "flag provided but not defined: -bogus"),
             (["--config_dir"], "flag needs an argument: -config_dir"),
             (["-v=abc"], 'invalid value "abc" for flag -v: parse error'),
             (["-logtime=yes"],
              'invalid boolean value "yes" for -logtime: parse error')]
    for args, first in cases:
        r = subprocess.run([exe, *args], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 2, args
        lines = r.stderr.split("\n")
        assert lines[0] == first
        assert lines[1] == f"Usage of {exe}:"
        assert "  -config_dir string\n    \tconfiguration directory " \
               '(default "/etc/chasquid")\n' in r.stderr
        assert "  -v int\n" in r.stderr
    r = subprocess.run([exe, "-h"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0
    assert r.stderr.startswith(f"Usage of {exe}:\n")


def _families(c):
    """/metrics parsed by prometheus_client's strict OpenMetrics parser."""
    from prometheus_client.openmetrics.parser import (
        text_string_to_metric_families)
    status, _, body = c.get("/metrics")
    assert status == 200
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def _value(fams, family, sample=None):
    (s,) = [s for s in fams[family].samples
            if s.name == (sample or family)]
    return s.value


def test_metrics_process_families_and_build_info(chasquid_factory):
    c = chasquid_factory().start()
    pid = c.proc.pid
    fams = _families(c)
    assert fams["process_cpu_seconds"].type == "counter"
    for g in ("process_resident_memory_bytes", "process_virtual_memory_bytes",
              "process_open_fds", "process_max_fds",
              "process_start_time_seconds"):
        assert fams[g].type == "gauge", g
    assert fams["chasquid_build_info"].type == "gauge"
    (info,) = fams["chasquid_build_info"].samples
    assert info.value == 1
    assert info.labels == {"version": c.var("chasquid/version"),
                           "source_date": c.var("chasquid/sourceDateStr")}

    # The figures are the kernel's.
    with open(f"/proc/{pid}/limits") as f:
        soft = [l.split()[3] for l in f if l.startswith("Max open files")][0]
    assert _value(fams, "process_max_fds") == int(soft)
    page = os.sysconf("SC_PAGE_SIZE")
    with open(f"/proc/{pid}/statm") as f:
        size, resident = (int(x) for x in f.read().split()[:2])
    assert _value(fams, "process_virtual_memory_bytes") > 0
    assert abs(_value(fams, "process_resident_memory_bytes") -
               resident * page) < 8 * 2**20
    with open(f"/proc/{pid}/stat") as f:
        ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/stat") as f:
        btime = [int(l.split()[1]) for l in f if l.startswith("btime ")][0]
    start = btime + ticks / os.sysconf("SC_CLK_TCK")
    assert abs(_value(fams, "process_start_time_seconds") - start) < 0.02
    assert abs(start - time.time()) < 60

    # They move: ten more open connections are ten more fds, and work costs
    # CPU time.
    before_fds = _value(fams, "process_open_fds")
    before_cpu = _value(fams, "process_cpu_seconds", "process_cpu_seconds_total")
    socks = []
    try:
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", c.smtp_port))
            assert s.makefile("rb").readline().startswith(b"220 ")
            socks.append(s)
        fams = _families(c)
        assert _value(fams, "process_open_fds") >= before_fds + 10
        for _ in range(200):
            c.get("/debug/vars")
        cpu = _value(_families(c), "process_cpu_seconds",
                     "process_cpu_seconds_total")
        assert cpu > before_cpu
    finally:
        for s in socks:
            s.close()
