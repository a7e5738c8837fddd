"""Traces, tasks and profiling pages of the monitoring server, checked over
real HTTP; profiles read back with Debian's google-pprof; and the server's
safety rules (methods, escaping, bounded parameters)."""

import http.client
import re
import shutil
import subprocess

import pytest

from conftest import binary
from monitoringutil import links, load


def raw_get(port, target, method="GET"):
    """A request with a target sent verbatim (urllib would re-quote it)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, target)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.headers, body


def test_traces_status_codes_and_views(chasquid_factory):
    c = chasquid_factory().start()
    c.get("/debug/flags")  # Leaves a finished Monitoring.HTTP trace.
    status, headers, body = c.get("/debug/traces")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    text = body.decode()
    assert "<h1>Traces</h1>" in text
    assert "?fam=Monitoring.HTTP&amp;b=0&amp;all=true" in text

    cases = [
        ("?fam=NoSuch.Family&b=0", 404, "Error: Unknown family"),
        ("?fam=Monitoring.HTTP&b=abc", 400,
         "Error: Invalid bucket (not a number)"),
        ("?fam=Monitoring.HTTP&b=8", 400, "Error: Invalid bucket number"),
        ("?fam=Monitoring.HTTP&b=-3", 400, "Error: Invalid bucket number"),
        ("?trace=Monitoring.HTTP!1!2", 404, "Error: Trace not found"),
    ]
    for query, want_status, want_text in cases:
        status, _, body = c.get("/debug/traces" + query)
        assert status == want_status, query
        assert want_text in body.decode(), query
        assert "<h1>Traces</h1>" in body.decode(), query  # Always rendered.

    _, _, body = c.get("/debug/traces?fam=Monitoring.HTTP&b=0&all=true")
    text = body.decode()
    assert "<title>Monitoring.HTTP - \u22650s</title>" in text
    assert "GET /debug/flags" in text
    trace_links = [l for l in links(text, "/debug/traces")
                   if "trace=Monitoring.HTTP" in l]
    assert trace_links
    # The newest trace first: every request adds a trace, and the bucket
    # keeps only the 10 most recent (older links then answer 404).
    status, _, body = c.get(trace_links[0])
    assert status == 200
    # The event the server recorded.
    assert re.search(r"\d{3}, \d+ bytes", body.decode())
    for link in links(text, "/debug/traces"):
        if "trace=" not in link:
            assert c.get(link)[0] == 200, link

    # The request being served is active while the page renders.
    _, _, body = c.get("/debug/traces?fam=Monitoring.HTTP&b=-1")
    assert "GET /debug/traces?fam=Monitoring.HTTP&amp;b=-1" in body.decode()
    _, _, body = c.get("/debug/traces?fam=Monitoring.HTTP&lat=true")
    assert re.search(r"Count: [1-9]", body.decode())


def test_html_in_request_target_comes_out_escaped(chasquid_factory):
    c = chasquid_factory().start()
    evil = "/x<script>alert(1)</script>?q=\"<img/src=x/onerror=alert(2)>\""
    status, _, _ = raw_get(c.monitoring_port, evil)
    assert status == 404
    _, _, body = c.get("/debug/traces?fam=Monitoring.HTTP&b=0")
    text = body.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&#34;&lt;img/src=x/onerror=alert(2)&gt;&#34;" in text
    assert "<script" not in text and "<img" not in text
    # The trace view, via the link the bucket view gives.
    link = [l for l in links(text, "/debug/traces") if "trace=" in l][0]
    _, _, body = c.get(link)
    assert "<script" not in body.decode()


def test_methods_rejected_except_post_exit(chasquid_factory):
    c = chasquid_factory().start()
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        for path in ("/", "/debug/traces", "/debug/tasks", "/metrics",
                     "/debug/pprof/profile?seconds=1"):
            status, headers, body = raw_get(c.monitoring_port, path, method)
            assert status == 405, (method, path)
            assert headers["Allow"] == "GET, HEAD"
            assert body == b"Method Not Allowed\n"
    # Go's answers, which chasquid's own tests check.
    assert raw_get(c.monitoring_port, "/debug/vars", "POST")[0] == 404
    assert raw_get(c.monitoring_port, "/exit", "GET")[0] == 405
    # HEAD is GET without a body.
    status, headers, body = raw_get(c.monitoring_port, "/debug/traces",
                                    "HEAD")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) > 100
    assert c.proc.poll() is None


def test_query_parameters_bounded(chasquid_factory):
    c = chasquid_factory().start()
    # An over-long value is dropped (no family filter: the index).
    status, _, body = c.get("/debug/traces?fam=" + "A" * 5000 + "&b=0")
    assert status == 200
    assert "Error" not in body.decode()
    status, _, _ = c.get("/debug/traces?" + "&".join(
        f"p{i}=v" for i in range(500)))
    assert status == 200
    # Beast's header limit: a huge target is refused, the server lives on.
    try:
        raw_get(c.monitoring_port, "/debug/traces?fam=" + "A" * 70000)
    except (ConnectionError, http.client.HTTPException):
        pass
    assert c.get("/debug/traces")[0] == 200


def test_tasks_page_and_goroutine_dump(chasquid_factory):
    c = chasquid_factory().start()
    status, _, body = c.get("/")
    assert "/debug/tasks" in links(body.decode(), "/")
    status, _, body = c.get("/debug/tasks")
    assert status == 200
    text = body.decode()
    assert "<h1>Tasks</h1>" in text
    assert "HTTP listener 127.0.0.1:%d" % c.monitoring_port in text
    assert "accepting" in text
    assert "serving GET /debug/tasks" in text  # This very request.
    assert "<h2>Threads</h2>" in text
    assert ">io-1<" in text  # The named io thread.

    status, headers, body = c.get("/debug/pprof/goroutine?debug=2")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    assert re.search(r"^tasks: \d+$", text, re.M)
    assert re.search(r'^task \d+ \[monitoring\] "HTTP listener ', text, re.M)
    assert re.search(r'^thread \d+ "io-1" \[\w', text, re.M)


@pytest.mark.profiler
def test_pprof_index_and_unknown(chasquid_factory):
    c = chasquid_factory().start()
    status, headers, _ = raw_get(c.monitoring_port, "/debug/pprof")
    assert status == 301 and headers["Location"] == "/debug/pprof/"
    status, _, body = c.get("/debug/pprof/")
    assert status == 200
    for link in links(body.decode(), "/debug/pprof/"):
        if "profile" in link:
            continue  # Fetched below with a short duration.
        assert c.get(link)[0] == 200, link
    status, _, body = c.get("/debug/pprof/nosuch")
    assert (status, body) == (404, b"Unknown profile\n")
    status, _, body = c.get("/debug/pprof/profile?seconds=100000")
    assert status == 400
    status, _, body = c.get("/debug/pprof/cmdline")
    assert body.split(b"\0")[0].endswith(b"chasquid")


def pprof_text(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    r = subprocess.run([shutil.which("google-pprof"), "--text",
                        binary("chasquid"), str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.profiler
def test_cpu_profile_readable_by_google_pprof(chasquid_factory, tmp_path):
    assert shutil.which("google-pprof"), "needs Debian's google-perftools"
    c = chasquid_factory().start()
    # Load while profiling, so the daemon burns enough CPU to be sampled.
    t, done = load(c.monitoring_port, 2.5)
    conn = http.client.HTTPConnection("127.0.0.1", c.monitoring_port,
                                      timeout=30)
    conn.request("GET", "/debug/pprof/profile?seconds=3")
    # Meanwhile the io threads keep serving (the handler waits on a timer),
    # and a second profile is refused.
    assert c.get("/debug/vars")[0] == 200
    assert c.get("/debug/pprof/profile?seconds=1")[0] == 500
    r = conn.getresponse()
    data = r.read()
    t.join()
    assert r.status == 200
    assert r.headers["Content-Disposition"] == 'attachment; filename="profile"'
    out = pprof_text(tmp_path, "cpu.prof", data)
    m = re.search(r"^Total: (\d+) samples", out, re.M)
    assert m and int(m.group(1)) > 0, (done, out)


@pytest.mark.profiler
def test_heap_profile_readable_by_google_pprof(chasquid_factory, tmp_path):
    assert shutil.which("google-pprof"), "needs Debian's google-perftools"
    c = chasquid_factory().start()
    # Sampling is on by default (our 512 KiB period is in the header).
    _, _, data = c.get("/debug/pprof/heap")
    assert data.startswith(b"heap profile: ")
    assert b"@ heap_v2/524288" in data.splitlines()[0]
    pprof_text(tmp_path, "heap0.prof", data)
    status, _, body = c.get("/debug/pprof/heap?debug=1")
    assert status == 200 and b"Bytes in use by application" in body

    # With dense sampling the daemon's live objects show up by function.
    d = chasquid_factory("dense")
    d.start(env={**__import__("os").environ,
                 "TCMALLOC_SAMPLE_PARAMETER": "4096"})
    t, _ = load(d.monitoring_port, 1.0)
    t.join()
    _, _, data = d.get("/debug/pprof/heap")
    assert b"@ heap_v2/4096" in data.splitlines()[0]
    out = pprof_text(tmp_path, "heap.prof", data)
    assert re.search(r"^Total: [0-9.]+ MB", out, re.M), out
    assert re.search(r"chasquid::", out), out
