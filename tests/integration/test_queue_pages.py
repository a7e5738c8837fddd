"""A queue with many waiting items: /debug/queue shows it a page at a
time (ours; chasquid printed every item), read here with curl; and a retry
that fails exactly as the previous attempt did leaves the item file alone
(chasquid/queue/unchangedWritesSkipped), before and after a restart."""

import re
import smtplib
import subprocess

from queueutil import setup_mda, mda_env, write_item, wait_for


def curl(c, path):
    r = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", c.url(path)],
                       capture_output=True, check=True, timeout=60)
    body, _, code = r.stdout.rpartition(b"\n")
    return int(code), body


def item_ids(body):
    return re.findall(rb"^## Item (\S+)$", body, re.M)


def test_debug_queue_pages(chasquid_factory):
    c = chasquid_factory()
    maildir = setup_mda(c)
    # 1,005 items waiting (the MDA answers "try later" for temp*): five
    # more than a page holds by default.
    ids = sorted(f"page{i:07d}" for i in range(1005))
    for i in ids:
        write_item(c, i, "a@far", [("temp@testserver", "EMAIL",
                                    "temp@testserver")], "Subject: x\n\ny\n")
    c.start(env=mda_env(maildir))
    wait_for(lambda: c.var("chasquid/queue/deliverAttempts",
                           "email:local") >= 1005,
             timeout=120, what="every item's first attempt")

    code, first = curl(c, "/debug/queue")
    assert code == 200
    assert b"\nlength: 1005\n\n" in first
    assert item_ids(first) == [i.encode() for i in ids[:1000]]
    # The rest is named on the last line.
    m = re.search(rb"\n\n# 5 more items: (/debug/queue\?after=(\S+)"
                  rb"&limit=1000)\n\Z", first)
    assert m, first[-300:]
    assert m.group(2) == ids[999].encode()
    code, second = curl(c, m.group(1).decode())
    assert code == 200
    assert b"\nlength: 1005\n\n" in second
    assert item_ids(second) == [i.encode() for i in ids[1000:]]
    assert b"more items" not in second
    # Each item as chasquid's page shows it, then ours (attempts).
    assert (b"## Item page0001004\ncreated at: " in second
            and b"\nfrom: a@far\nto: [temp@testserver]\n"
            b"PENDING temp@testserver (EMAIL)\n"
            b"  original address: temp@testserver\n"
            b"  last failure: " in second)

    # Smaller pages, and the whole queue at once.
    code, small = curl(c, f"/debug/queue?after={ids[10]}&limit=3")
    assert code == 200
    assert item_ids(small) == [i.encode() for i in ids[11:14]]
    assert small.endswith(
        f"\n\n# 991 more items: /debug/queue?after={ids[13]}&limit=3\n"
        .encode())
    code, whole = curl(c, "/debug/queue?limit=0")
    assert code == 200
    assert item_ids(whole) == [i.encode() for i in ids]
    assert b"more items" not in whole
    code, bad = curl(c, "/debug/queue?limit=many")
    assert code == 400
    assert b"limit" in bad


def test_same_failure_is_not_written_again(chasquid_factory):
    c = chasquid_factory()
    maildir = setup_mda(c)
    c.add_user("temp", "testserver", "x")
    c.start("--testing__queue_retry_delay=200ms", env=mda_env(maildir))
    with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=30) as s:
        s.sendmail("a@far", ["temp@testserver"], "Subject: x\n\ny\n")
    # Our write at the 250, then the first failure's; the retries fail
    # with the same text, so the file already says what they would write.
    wait_for(lambda: c.var("chasquid/queue/unchangedWritesSkipped") >= 2,
             timeout=30, what="two retries skipping their write")
    assert c.var("chasquid/queue/itemsWritten") == 2
    (path,) = (c.data_dir / "queue").glob("m:*")
    inode = path.stat().st_ino
    assert "try later" in path.read_text()

    # After a restart the file is loaded as written: still not rewritten.
    c.stop()
    c.start("--testing__queue_retry_delay=200ms", env=mda_env(maildir))
    wait_for(lambda: c.var("chasquid/queue/unchangedWritesSkipped") >= 2,
             timeout=30, what="two attempts after the restart")
    assert c.var("chasquid/queue/itemsWritten") == 0
    assert path.stat().st_ino == inode
    code, body = curl(c, "/debug/queue")
    assert code == 200 and b"\nlength: 1\n\n" in body
