"""The queue tools: chasquid-util queue list/show/flush/remove/bounce
against the running daemon, over the local RPC. Items wait on an MDA that
fails temporarily (exit 75) with an hour between attempts, so only a flush
makes another attempt happen while the test runs."""

import json
import subprocess

from conftest import binary
from queueutil import delivered, mda_env, setup_mda, wait_for, write_item

# Exit statuses of chasquid-util's queue commands (chasquid-util(1)).
UNREACHABLE, NO_SUCH_ITEM, NOT_CONFIRMED = 2, 3, 4


def util(c, *args, stdin=None):
    r = subprocess.run([binary("chasquid-util"), "-C=.", "queue", *args],
                       capture_output=True, text=True, timeout=30,
                       cwd=c.config_dir, input=stdin)
    return r.returncode, r.stdout, r.stderr


def listing(c):
    rc, out, err = util(c, "list", "--json")
    assert rc == 0, err
    return {i["id"]: i for i in json.loads(out)["items"]}


def all_waiting(c, ids):
    rc, out, _ = util(c, "list", "--json")
    if rc == UNREACHABLE:  # The socket exists a moment before it listens.
        return False
    items = {i["id"]: i for i in json.loads(out)["items"]}
    return all(i in items and items[i]["state"] == "waiting" for i in ids)


def start(chasquid_factory, items):
    """A daemon with the test MDA and `items` ({id: (from, [to])}) queued
    before it starts; returns (c, maildir) once each item had its first
    attempt and waits for the next."""
    c = chasquid_factory()
    maildir = setup_mda(c)
    for item_id, (sender, rcpts) in items.items():
        write_item(c, item_id, sender, [(r, "EMAIL", r) for r in rcpts],
                   f"Subject: item {item_id}\nMessage-ID: <{item_id}@x>\n\n"
                   "body\n")
    c.start("--testing__queue_retry_delay=1h", env=mda_env(maildir))
    wait_for(lambda: (c.data_dir / "localrpc-v1").exists(), what="socket")
    wait_for(lambda: all_waiting(c, items), what="first attempts")
    return c, maildir


def test_list_show_flush(chasquid_factory):
    c, maildir = start(chasquid_factory, {
        "q1": ("a@far", ["temp@testserver"]),
        "q2": ("sender@testserver", ["temp2@testserver", "ok@testserver"]),
    })
    assert delivered(maildir, "ok@testserver")

    # mailq-like text: one line per item.
    rc, out, err = util(c, "list")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "AGE", "SIZE", "FROM", "RECIPIENTS"]
    q1 = next(x for x in lines if x.startswith("q1 "))
    assert " a@far  PENDING temp@testserver " in q1
    assert '"MDA delivery failed: exit status 75' in q1
    q2 = next(x for x in lines if x.startswith("q2 "))
    assert "PENDING temp2@testserver" in q2 and "SENT ok@testserver" in q2
    assert lines[-1] == "-- 2 items"

    items = listing(c)
    assert set(items) == {"q1", "q2"}
    assert items["q1"]["from"] == "a@far"
    assert items["q1"]["size"] == len("Subject: item q1\nMessage-ID: "
                                      "<q1@x>\n\nbody\n")
    assert items["q1"]["attempt_count"] == 1
    assert items["q1"]["next_attempt"]
    st = {r["address"]: r for r in items["q2"]["recipients"]}
    assert st["ok@testserver"]["status"] == "SENT"
    assert st["temp2@testserver"]["status"] == "PENDING"
    assert st["temp2@testserver"]["last_failure"].startswith(
        "MDA delivery failed: exit status 75")

    rc, out, err = util(c, "show", "q1")
    assert rc == 0, err
    assert "From: a@far\n" in out
    assert "Attempts: 1\n" in out
    assert " temp@testserver temporary in " in out
    assert "  Subject: item q1\n" in out
    rc, out, _ = util(c, "show", "q1", "--json")
    shown = json.loads(out)
    assert [a["result"] for a in shown["attempts"]] == ["temporary"]
    assert shown["attempts"][0]["recipient"] == "temp@testserver"

    # A flush makes the next attempt happen now, not in an hour.
    attempts = c.var("chasquid/queue/deliverAttempts", "email:local")
    rc, out, err = util(c, "flush", "q1")
    assert (rc, out) == (0, "Flushed 1 item(s)\n"), err
    wait_for(lambda: listing(c)["q1"]["attempt_count"] == 2,
             what="flushed attempt")
    assert c.var("chasquid/queue/deliverAttempts", "email:local") == \
        attempts + 1
    assert listing(c)["q2"]["attempt_count"] == 2  # Untouched: 2 rcpts.

    rc, out, err = util(c, "flush", "--all")
    assert (rc, out) == (0, "Flushed 2 item(s)\n"), err
    # The count moves at the end of an attempt; "waiting" then means the
    # item scheduled its next one.
    wait_for(lambda: [(i["attempt_count"], i["state"]) for i in
                      listing(c).values()] == [(3, "waiting")] * 2,
             what="flush --all attempts")

    # /debug/queue shows the same history, read-only.
    _, _, body = c.get("/debug/queue")
    body = body.decode()
    section = body.split("## Item q1\n")[1].split("\n\n")[0]
    assert "attempts: 3\n" in section
    assert section.count(" temp@testserver temporary in ") == 3
    assert "next attempt: " in section

    assert c.var("chasquid/queue/adminOperations", "flush") == 3
    calls = c.var("chasquid/localrpc/calls")
    assert calls["QueueFlush:ok"] == 2
    assert calls["QueueShow:ok"] == 2
    assert calls["QueueList:ok"] >= 4


def test_remove_asks_unless_yes(chasquid_factory):
    c, maildir = start(chasquid_factory, {
        "r1": ("sender@testserver", ["temp@testserver"]),
        "r2": ("sender@testserver", ["temp@testserver"]),
    })
    path = c.data_dir / "queue" / "m:r1"
    rc, out, err = util(c, "remove", "r1", stdin="n\n")
    assert rc == NOT_CONFIRMED, (out, err)
    assert out.startswith("Remove r1 from sender@testserver to "
                          "temp@testserver (")
    assert out.endswith("without a DSN? [y/N] ")
    assert err == "Not removed\n"
    assert path.exists() and "r1" in listing(c)

    rc, out, err = util(c, "remove", "r1", stdin="y\n")
    assert rc == 0, err
    assert out.endswith("Removed r1\n")
    assert not path.exists()
    assert "r1" not in listing(c)

    rc, out, err = util(c, "remove", "r2", "--yes")
    assert (rc, out) == (0, "Removed r2\n"), err
    assert listing(c) == {}

    mail_log = (c.root / "mail.log").read_text()
    assert "r1 from=sender@testserver removed by the administrator, no DSN" \
        in mail_log
    assert "r2 from=sender@testserver removed by the administrator" \
        in mail_log
    assert c.var("chasquid/queue/adminOperations", "remove") == 2
    assert c.var("chasquid/queue/dsnQueued") == 0
    assert delivered(maildir, "sender@testserver") == []
    # Each send loop woke up and ended without a DSN.
    wait_for(lambda: "Queue.SendLoop r2: removed by the administrator"
             in c.log(), what="send loop end")


def test_bounce_sends_dsn(chasquid_factory):
    c, maildir = start(chasquid_factory, {
        "b1": ("sender@testserver", ["temp@testserver"]),
    })
    rc, out, err = util(c, "bounce", "b1")
    assert rc == 0, err
    dsn = wait_for(lambda: delivered(maildir, "sender@testserver"),
                   what="DSN")[0].decode()
    assert "In-Reply-To: <b1@x>\r\n" in dsn
    assert ('- "temp@testserver" (EMAIL) failed repeatedly and timed out, '
            'last error:\r\n    MDA delivery failed: exit status 75') in dsn
    wait_for(lambda: not (c.data_dir / "queue" / "m:b1").exists(),
             what="item removal")
    wait_for(lambda: c.var("chasquid/queue/dsnQueued") == 1,
             what="dsnQueued")
    assert c.var("chasquid/queue/adminOperations", "bounce") == 1
    assert "b1 from=sender@testserver bounced by the administrator" in \
        (c.root / "mail.log").read_text()


def test_errors_and_exit_codes(chasquid_factory):
    c, _ = start(chasquid_factory, {"e1": ("a@far", ["temp@testserver"])})
    for args in (["show", "nope"], ["flush", "nope"], ["remove", "nope"],
                 ["remove", "nope", "--yes"], ["bounce", "nope"]):
        rc, out, err = util(c, *args)
        assert (rc, err) == (NO_SUCH_ITEM, 'Error: no such item "nope"\n'), \
            args
    rc, _, err = util(c, "frobnicate")
    assert rc == 1 and "unknown queue command" in err
    rc, _, err = util(c, "show")
    assert rc == 1 and "an item ID is needed" in err
    calls = c.var("chasquid/localrpc/calls")
    assert calls["QueueShow:error"] == 2  # show, and remove's question.
    assert calls["QueueRemove:error"] == 1
    assert "e1" in listing(c)

    c.stop()
    for args in (["list"], ["show", "e1"], ["flush", "--all"]):
        rc, out, err = util(c, *args)
        assert rc == UNREACHABLE, (args, out, err)
        assert err.startswith("Error: cannot reach chasquid (is it "
                              "running?): dial unix "), err
