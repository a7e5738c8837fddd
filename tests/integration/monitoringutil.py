"""Helpers for the monitoring tests: link extraction, load on the monitoring
server, a real Prometheus and headless Chromium, each bounded in time."""

import http.client
import json
import os
import pathlib
import shutil
import subprocess
import threading
import time
import urllib.parse
from html.parser import HTMLParser

from conftest import REPO, free_port, http_get, wait_for_port

ARTIFACTS = REPO / "tests" / "integration" / "artifacts"
RULES = REPO / "monitoring" / "prometheus" / "chasquid-rules.yml"


class LinkParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        if tag == "a" and dict(attrs).get("href"):
            self.links.append(dict(attrs)["href"])

    def handle_data(self, data):
        self.text.append(data)


def links(html, base):
    """Local links of an HTML page, resolved against `base` (a path)."""
    p = LinkParser()
    p.feed(html)
    out = []
    for link in p.links:
        u = urllib.parse.urljoin("http://x" + base, link)
        if u.startswith("http://x/"):
            out.append(u[len("http://x"):])
    return out


def load(port, seconds, paths=("/metrics", "/debug/vars",
                               "/debug/traces?fam=Monitoring.HTTP&b=0")):
    """Requests `paths` over one keep-alive connection for `seconds`, in a
    thread; returns the thread (join it) and a list that gets the count."""
    done = []

    def run():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for p in paths:
                c.request("GET", p)
                c.getresponse().read()
                n += 1
        c.close()
        done.append(n)

    t = threading.Thread(target=run)
    t.start()
    return t, done


class Prometheus:
    """A real Prometheus (Debian's binary) scraping `target` every second,
    with its own storage dir and our rules loaded."""

    def __init__(self, tmp, target, rules=RULES):
        self.dir = pathlib.Path(tmp)
        self.port = free_port()
        conf = self.dir / "prometheus.yml"
        conf.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files: [{json.dumps(str(rules))}]\n"
            "scrape_configs:\n  - job_name: chasquid\n"
            f"    static_configs: [{{targets: [\"{target}\"]}}]\n")
        self.log = open(self.dir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [shutil.which("prometheus"), f"--config.file={conf}",
             f"--storage.tsdb.path={self.dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}",
             "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)
        wait_for_port(self.port, proc=self.proc, timeout=30)
        deadline = time.monotonic() + 30
        while http_get(f"http://127.0.0.1:{self.port}/-/ready")[0] != 200:
            assert time.monotonic() < deadline, "prometheus never got ready"
            assert self.proc.poll() is None, "prometheus exited"
            time.sleep(0.2)

    def query(self, promql):
        q = urllib.parse.urlencode({"query": promql})
        status, _, body = http_get(
            f"http://127.0.0.1:{self.port}/api/v1/query?{q}")
        assert status == 200, body
        return json.loads(body)["data"]["result"]

    def wait_value(self, promql, pred, timeout=30):
        """Polls `promql` until pred(float value) holds; returns the value."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            r = self.query(promql)
            if r:
                last = float(r[0]["value"][1])
                if pred(last):
                    return last
            time.sleep(0.5)
        raise AssertionError(f"{promql}: last value {last}")

    def wait_rules_evaluated(self, timeout=30):
        """Waits until every loaded rule was evaluated once; returns
        {group name: [rule health, ...]}."""
        deadline = time.monotonic() + timeout
        while True:
            status, _, body = http_get(
                f"http://127.0.0.1:{self.port}/api/v1/rules")
            assert status == 200, body
            groups = json.loads(body)["data"]["groups"]
            out = {g["name"]: [r["health"] for r in g["rules"]]
                   for g in groups}
            if out and all(h != "unknown" for hs in out.values()
                           for h in hs):
                return out
            assert time.monotonic() < deadline, out
            time.sleep(0.5)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
    "--disable-dev-shm-usage",
]


class Browser:
    """One headless Chromium (fresh profile), driven over the DevTools
    protocol: starting it once and navigating is much cheaper than one
    process per screenshot on a loaded machine."""

    def __init__(self, tmp, timeout=60):
        import websocket  # Debian: python3-websocket.
        self.timeout = timeout
        self.profile = pathlib.Path(tmp) / "chromium-profile"
        self.profile.mkdir(parents=True)
        self.log = open(pathlib.Path(tmp) / "chromium.log", "wb")
        self.proc = subprocess.Popen(
            [shutil.which("chromium"), *CHROMIUM_FLAGS,
             f"--user-data-dir={self.profile}",
             "--remote-debugging-port=0", "--remote-allow-origins=*",
             "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "HOME": str(self.profile)})
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            assert self.proc.poll() is None, "chromium exited"
            assert time.monotonic() < deadline, "chromium did not start"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        _, _, body = http_get(f"http://127.0.0.1:{port}/json/list")
        page = [t for t in json.loads(body) if t["type"] == "page"][0]
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=timeout,
            suppress_origin=True)
        self.next_id = 0
        self.events = []
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method,
                                 "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                assert "error" not in msg, (method, msg["error"])
                return msg["result"]
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError(method)

    def wait_event(self, name):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for i, ev in enumerate(self.events):
                if ev["method"] == name:
                    del self.events[: i + 1]
                    return ev
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(name)

    def navigate(self, url):
        self.events.clear()
        r = self.call("Page.navigate", url=url)
        assert "errorText" not in r, (url, r)
        self.wait_event("Page.loadEventFired")

    def eval(self, js):
        r = self.call("Runtime.evaluate", expression=js, returnByValue=True)
        return r["result"].get("value")

    def viewport(self, width, height, mobile=False, dark=False):
        self.call("Emulation.setDeviceMetricsOverride", width=width,
                  height=height, deviceScaleFactor=2 if mobile else 1,
                  mobile=mobile)
        self.call("Emulation.setEmulatedMedia", features=[
            {"name": "prefers-color-scheme",
             "value": "dark" if dark else "light"}])

    def screenshot(self, path):
        import base64
        r = self.call("Page.captureScreenshot", format="png")
        pathlib.Path(path).write_bytes(base64.b64decode(r["data"]))
        return path

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
