"""Headless Chromium walks the monitoring pages: every link answers, no page
is empty, pages fit a phone's width and follow dark mode. Screenshots are
kept under tests/integration/artifacts/browser/ (gitignored)."""

import re
import shutil

import pytest

from monitoringutil import ARTIFACTS, Browser, links

# Pages we render ourselves, and what each must show.
PAGES = {
    "index": ("/", "chasquid @testserver"),
    "traces": ("/debug/traces", "Monitoring.HTTP"),
    # Requests are traces; the bucket keeps the 10 newest.
    "traces-bucket": ("/debug/traces?fam=Monitoring.HTTP&b=0&all=true",
                      "GET /debug/"),
    "traces-active": ("/debug/traces?fam=Monitoring.HTTP&b=-1",
                      "1 active"),
    "traces-latency": ("/debug/traces?fam=Monitoring.HTTP&lat=true",
                       "Count:"),
    "tasks": ("/debug/tasks", "HTTP listener"),
    "pprof": ("/debug/pprof/", "goroutine"),
}
# Links that are downloads or take seconds; fetched without the browser.
NOT_IN_BROWSER = re.compile(r"/debug/pprof/(heap$|profile)")


@pytest.fixture
def browser(tmp_path):
    assert shutil.which("chromium"), "needs Debian's chromium"
    b = Browser(tmp_path)
    yield b
    b.close()


@pytest.mark.profiler
def test_pages_in_browser(chasquid_factory, browser):
    c = chasquid_factory().start()
    # A 1 s request: its trace sits in the >=1s bucket, where the many short
    # requests below cannot push it out.
    assert c.get("/debug/pprof/profile?seconds=1")[0] == 200
    out = ARTIFACTS / "browser"
    out.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {out}")

    # Every local link of the index and of our pages answers.
    seen = set()
    for name, (path, _) in PAGES.items():
        _, _, body = c.get(path)
        for link in links(body.decode(), path.split("?")[0]):
            if link in seen or "trace=" in link:
                continue
            seen.add(link)
            if NOT_IN_BROWSER.search(link.split("?")[0]):
                continue
            status, _, body = c.get(link)
            assert status == 200, (name, link)
            assert body.strip(), (name, link)

    # A single trace's page: the slow one.
    _, _, body = c.get("/debug/traces?fam=Monitoring.HTTP&b=6&all=false")
    trace = [l for l in links(body.decode(), "/debug/traces")
             if "trace=" in l][0]
    pages = dict(PAGES, trace=(trace, "GET /debug/pprof/profile?seconds=1"))
    # The queue dump (plain text, the queue's own page) once it exists.
    queue_status = c.get("/debug/queue")[0]
    assert queue_status in (200, 404)

    if queue_status == 200:
        browser.viewport(1200, 900)
        browser.navigate(c.url("/debug/queue"))
        text = browser.eval("document.body.innerText")
        assert "# Queue status" in text and "length: 0" in text, text
        browser.screenshot(out / "queue-desktop.png")

    for mode, (w, h, mobile, dark) in {
            "desktop": (1200, 900, False, False),
            "phone-dark": (390, 844, True, True)}.items():
        browser.viewport(w, h, mobile=mobile, dark=dark)
        for name, (path, want) in pages.items():
            browser.navigate(c.url(path))
            text = browser.eval("document.body.innerText")
            assert want in text, (name, text[:500])
            assert len(text.strip()) > 40, name
            # Nothing wider than the screen: wide tables scroll in their box.
            overflow = browser.eval(
                "document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (name, mode, overflow)
            bg = browser.eval("getComputedStyle(document.body).backgroundColor")
            if dark:
                assert bg == "rgb(18, 18, 18)", (name, bg)
            else:
                assert bg in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"), bg
            assert browser.eval(
                "!!document.querySelector('meta[name=viewport]')"), name
            browser.screenshot(out / f"{name}-{mode}.png")
