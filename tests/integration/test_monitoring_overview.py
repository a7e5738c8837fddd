"""The overview page (/debug/overview) in headless Chromium, after real mail
went through the daemon: real SMTP clients (plain, STARTTLS with AUTH, a
wrong password), real deliveries (the test MDA, a TLS peer found through
our DNS server), failing ones for the error list. Every number the page
shows must agree with /debug/vars; the page must fit a phone and follow
dark mode. Screenshots are kept under tests/integration/artifacts/overview/
(CI artifacts, gitignored)."""

import json
import re
import shutil
import smtplib
import ssl

import pytest

from conftest import free_port, wait_for
from dnsserver import DNSServer
from monitoringutil import ARTIFACTS, Browser
from queueutil import mda_env, setup_mda
from remoteutil import SMTPPeer, self_signed


@pytest.fixture
def browser(tmp_path):
    assert shutil.which("chromium"), "needs Debian's chromium"
    b = Browser(tmp_path)
    yield b
    b.close()


def starttls(port):
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    return s


def total(v):
    return sum((v or {}).values())


def share(part, other):
    """What the page prints for a TLS share."""
    n = part + other
    if n == 0:
        return "none yet"
    return f"{(part * 100 + n // 2) // n}% ({part} of {n})"


def drive_mail(c, peer):
    # Submission: STARTTLS, a wrong password first (an AUTH failure), then
    # the right one; one message to a remote peer (sent over TLS), a local
    # user (sent), a user whose MDA fails (permanent), one whose MDA says
    # "later" (deferred) and a domain with no DNS records (an error).
    s = starttls(c.submission_port)
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        s.login("user@testserver", "wrong")
    assert e.value.smtp_code == 535
    s.login("user@testserver", "secret")
    rcpts = ["rcpt@remote.test", "local@testserver", "failuser@testserver",
             "tempuser@testserver", "someone@nowhere.test"]
    s.sendmail("user@testserver", rcpts,
               b"Subject: overview\r\n\r\nfrom the overview test\r\n")
    s.quit()
    # Plain SMTP from outside, to a local user.
    with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=30) as p:
        p.sendmail("sender@example.net", ["local@testserver"],
                   b"Subject: plain\r\n\r\nplain\r\n")


def vars_now(c):
    _, _, body = c.get("/debug/vars")
    return json.loads(body)


def full_page_screenshot(browser, path, width, mobile=False, dark=False):
    """The whole page, not only the first screen: the viewport is made as
    tall as the page for the picture."""
    height = browser.eval("document.documentElement.scrollHeight")
    browser.viewport(width, min(height, 4000), mobile=mobile, dark=dark)
    browser.screenshot(path)


def page_numbers(browser):
    """The numbers the page shows, read from the rendered DOM."""
    return browser.eval("""(() => {
      const t = id => document.getElementById(id).textContent;
      const out = {};
      for (const k of ['sent', 'deferred', 'failed', 'authfail'])
        for (const p of ['hour', 'day', 'total'])
          out[k + '-' + p] = Number(t(k + '-' + p));
      for (const id of ['q-length', 'q-oldest', 'q-bytes', 'live',
                        'tls-in', 'tls-out', 'status'])
        out[id] = t(id);
      out.charts = {};
      for (const id of ['chart-minutes', 'chart-hours']) {
        const bars = [...document.querySelectorAll('#' + id + ' g.bar')];
        const sum = k => bars.reduce((a, b) => a + Number(b.dataset[k]), 0);
        out.charts[id] = {bars: bars.length, sent: sum('sent'),
                          deferred: sum('deferred'), failed: sum('failed')};
      }
      out.certs = [...document.querySelectorAll('tr.cert')].map(r => [
          r.dataset.cert, Number(r.dataset.notAfter),
          Number(r.cells[1].textContent)]);
      out.errors = [...document.querySelectorAll('tr.err')].map(r => [
          r.querySelector('.domain').textContent, r.cells[3].textContent]);
      out.scripts = document.scripts.length;
      out.resources = performance.getEntriesByType('resource').length;
      out.now = Date.now() / 1000;
      return out;
    })()""")


def test_overview_agrees_with_vars(chasquid_factory, browser, tmp_path):
    out = ARTIFACTS / "overview"
    out.mkdir(parents=True, exist_ok=True)
    cert = self_signed(tmp_path / "peer", "mx.remote.test")
    with DNSServer() as dns, SMTPPeer(free_port(), *cert) as peer:
        dns.add("remote.test", "MX", "10 mx.remote.test")
        dns.add("mx.remote.test", "A", "127.0.0.1")
        c = chasquid_factory()
        c.add_user("user", "testserver", "secret")
        for u in ("local", "failuser", "tempuser"):
            c.add_user(u, "testserver", "unused")
        maildir = setup_mda(c)
        # The system resolver's paths: the MX through /etc/resolv.conf
        # (naming `dns`), its address from /etc/hosts (conftest's
        # system_dns).
        c.start(f"--testing__outgoing_smtp_port={peer.port}",
                env=mda_env(maildir), system_dns=dns,
                hosts=["127.0.0.1 mx.remote.test"])

        # The index links to the overview first.
        _, _, index = c.get("/")
        hrefs = re.findall(r'<a href="([^"]+)"', index.decode())
        assert hrefs[0] == "/debug/overview", hrefs
        # Before any mail: zeros, and the sampler runs by itself.
        samples0 = vars_now(c)["chasquid/monitoring/overviewSamples"]
        assert samples0 >= 1
        wait_for(lambda: vars_now(c)["chasquid/monitoring/overviewSamples"]
                 > samples0, timeout=30, what="a sample from the timer")
        status, headers, body = c.get("/debug/overview")
        assert status == 200
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert b'id="sent-total">0<' in body
        assert b'id="no-errors"' in body

        drive_mail(c, peer)
        wait_for(lambda: peer.messages, timeout=60, what="the remote peer")
        wait_for(lambda: len(list(maildir.glob("local@testserver.*"))) == 2,
                 timeout=60, what="two local deliveries")

        def settled():
            v = vars_now(c)
            return (total(v["chasquid/queue/deliveriesSent"]) == 3 and
                    total(v["chasquid/queue/deliveriesPermanentFailed"]) >= 1
                    and total(v["chasquid/queue/deliveriesTransientFailed"])
                    + total(v["chasquid/queue/deliveriesPermanentFailed"])
                    == 3 and v["chasquid/queue/length"] == 1)
        wait_for(settled, timeout=60, what="every first attempt")

        # An open SMTP connection, for the live count.
        held = smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=30)
        held.ehlo("held.example")
        wait_for(lambda: vars_now(c)["chasquid/smtpIn/liveConnections"] == 1,
                 what="the held connection")

        browser.viewport(1200, 900)
        # Nothing moves now (the retries are a minute away), but read the
        # variables on both sides of the page to be sure of that.
        for _ in range(5):
            before = vars_now(c)
            browser.navigate(c.url("/debug/overview"))
            got = page_numbers(browser)
            after = vars_now(c)
            keep = lambda v: {k: x for k, x in v.items()
                              if not k.startswith(("memstats", "process",
                                                   "chasquid/monitoring"))}
            if keep(before) == keep(after):
                break
        else:
            pytest.fail("the variables kept moving")
        v = after
        full_page_screenshot(browser, out / "overview-desktop.png", 1200)

        sent = total(v["chasquid/queue/deliveriesSent"])
        deferred = total(v["chasquid/queue/deliveriesTransientFailed"])
        failed = (total(v["chasquid/queue/deliveriesPermanentFailed"]) +
                  total(v["chasquid/queue/deliveriesGivenUp"]))
        auth_failures = total(v["chasquid/smtpIn/authFailure"])
        assert sent == 3
        # smtplib tries PLAIN, then LOGIN: one failure per mechanism.
        assert auth_failures == 2
        assert failed >= 1 and deferred >= 1
        want = {"sent": sent, "deferred": deferred, "failed": failed,
                "authfail": auth_failures}
        for k, n in want.items():
            # The daemon is younger than an hour: every window is all of it.
            for p in ("hour", "day", "total"):
                assert got[f"{k}-{p}"] == n, (k, p, got)
        for chart, bars in (("chart-minutes", 60), ("chart-hours", 24)):
            ch = got["charts"][chart]
            assert ch == {"bars": bars, "sent": sent, "deferred": deferred,
                          "failed": failed}, (chart, ch)

        assert got["q-length"] == str(v["chasquid/queue/length"]) == "1"
        size = v["chasquid/queue/sizeBytes"]
        assert size > 0
        assert got["q-bytes"] == (f"{size} bytes" if size < 1024
                                  else f"{size / 1024:.1f} KiB")
        oldest = v["chasquid/queue/oldestItemTimestamp"]
        assert oldest > 0
        m = re.fullmatch(r"(?:(\d+)m)?(\d+)s", got["q-oldest"])
        assert m, got["q-oldest"]
        age = int(m.group(1) or 0) * 60 + int(m.group(2))
        assert abs(got["now"] - oldest - age) <= 5, (age, oldest)
        assert got["live"] == "1" == str(v["chasquid/smtpIn/liveConnections"])
        tin = v["chasquid/smtpIn/tlsCount"]
        assert got["tls-in"] == share(tin.get("tls", 0), tin.get("plain", 0))
        assert got["tls-in"] == "50% (1 of 2)"
        tout = v["chasquid/smtpOut/tlsCount"]
        assert got["tls-out"] == share(
            tout.get("tls:secure", 0) + tout.get("tls:insecure", 0),
            tout.get("plain", 0) + tout.get("tls:failed", 0))
        assert got["tls-out"] == "100% (1 of 1)"

        # The certificate: its expiry as in /debug/vars, 29 days left (a
        # 30-day certificate made a moment ago).
        not_after = v["chasquid/tls/certNotAfter"]
        assert [tuple(cc[:2]) for cc in got["certs"]] == sorted(not_after.items())
        assert got["certs"][0][2] == int((not_after["testserver"]
                                          - got["now"]) // 86400) == 29

        # The errors: one row per failed attempt, with the domains.
        recorded = v["chasquid/queue/deliveryErrorsRecorded"]
        assert recorded == deferred + failed
        assert len(got["errors"]) == min(20, recorded)
        domains = {d for d, _ in got["errors"]}
        assert domains == {"testserver", "nowhere.test"}, got["errors"]
        assert ["testserver", "permanent"] in got["errors"]
        assert ["testserver", "temporary"] in got["errors"]
        assert got["status"].startswith("Mail is flowing, with errors"), got

        # Self-contained: no script, nothing fetched besides the page.
        assert got["scripts"] == 0 and got["resources"] == 0, got
        # The counters are on /metrics too.
        metrics = c.get("/metrics")[2].decode()
        assert re.search(r"^chasquid_monitoring_overviewSamples [1-9]",
                         metrics, re.M)
        assert re.search(rf"^chasquid_queue_deliveryErrorsRecorded "
                         rf"{recorded}$", metrics, re.M)
        # The sampler is a task.
        assert b"overview sampler" in c.get("/debug/tasks")[2]

        # A phone, light and dark: nothing wider than the screen.
        for name, dark in (("overview-phone", False),
                           ("overview-phone-dark", True)):
            browser.viewport(390, 844, mobile=True, dark=dark)
            browser.navigate(c.url("/debug/overview"))
            overflow = browser.eval(
                "document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (name, overflow)
            # The charts scale down with the screen.
            width = browser.eval("document.querySelector('svg.chart')"
                                 ".getBoundingClientRect().width")
            assert 300 <= width <= 390, width
            bg = browser.eval(
                "getComputedStyle(document.body).backgroundColor")
            bar = browser.eval("getComputedStyle(document.querySelector("
                               "'#chart-minutes rect.sent')).fill")
            if dark:
                assert bg == "rgb(18, 18, 18)", bg
                assert bar == "rgb(129, 201, 149)", bar
            else:
                assert bg in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"), bg
                assert bar == "rgb(30, 142, 62)", bar
            full_page_screenshot(browser, out / f"{name}.png", 390,
                                 mobile=True, dark=dark)
        held.quit()
