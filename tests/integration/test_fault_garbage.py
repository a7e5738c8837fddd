"""Fault: garbage in the queue directory at start-up.

The daemon starts on a queue directory holding good items beside empty,
truncated, corrupt, oversized and foreign files and half-written spare and
temporary files. Each bad one is moved to queue/.quarantine/ (never
deleted), logged with its name and reason and counted in
chasquid/queue/quarantined; the good items are delivered, and the daemon
keeps serving."""

import os
import smtplib

from queueutil import (chasquid_item, delivered, mda_env, setup_mda,
                       wait_for, write_item)

RCPT = [("user@testserver", "EMAIL", "user@testserver")]


def garbage_files(q):
    """Writes the garbage into queue dir `q`; returns {name: reason} with
    the reason the daemon logs for each."""
    whole = chasquid_item("trunc1", "someone@far", RCPT,
                          "Subject: t\n\n" + "long line\n" * 50)
    cut_at_line = whole[:whole.index("data:")]
    files = {
        "m:empty1": (b"", "empty queue item"),
        # Cut inside the data string: does not parse.
        "m:trunc1": (whole[:len(whole) // 2].encode(),
                     "cannot parse queue item"),
        # Cut at a line boundary: parses, but has no data.
        "m:cut1": (cut_at_line.replace("trunc1", "cut1").encode(),
                   "incomplete queue item (no data)"),
        "m:corrupt1": (b"\x00\xff\xfe{{ not: [ text proto \x01",
                       "cannot parse queue item"),
        "m:wrongid": (chasquid_item("someone-else", "a@far", RCPT,
                                    "Subject: x\n\nx\n").encode(),
                      "incomplete queue item (ID \"someone-else\" does not "
                      "match the file name)"),
        "notes.txt": (b"an admin's notes\n", "not a queue file"),
        # A spare file that a crash left in the middle of its reuse.
        ".m:spare-half1": (whole[:100].encode(), "spare file not empty"),
        # safeio's temporary file of a write that never finished.
        ".m:good0123456": (whole[:70].encode(),
                           "unfinished write (temporary file)"),
    }
    for name, (data, _) in files.items():
        (q / name).write_bytes(data)
    # Larger than any item the daemon could write (4 x 64 MiB + 1 MiB at
    # the default max_data_size_mb); sparse, so it costs no disk.
    with open(q / "m:big1", "wb") as f:
        f.truncate(300 * 1024 * 1024)
    files["m:big1"] = (None, "queue item too large (314572800 bytes")
    (q / "m:link1").symlink_to(q / "notes.txt")
    files["m:link1"] = (None, "queue item is not a regular file")
    return {name: why for name, (_, why) in files.items()}


def test_garbage_is_quarantined_and_the_rest_delivered(chasquid_factory):
    c = chasquid_factory()
    c.add_user("user", "testserver", "pw")
    maildir = setup_mda(c)
    for i in range(3):
        write_item(c, f"good{i}", "someone@far", RCPT,
                   f"Subject: good{i}\n\nbody {i}\n")
    q = c.data_dir / "queue"
    before = sorted(p.name for p in q.iterdir())
    reasons = garbage_files(q)
    contents = {name: (q / name).read_bytes()
                for name in reasons if name not in ("m:big1", "m:link1")}
    # An earlier quarantine of the same name is kept, not overwritten.
    (q / ".quarantine").mkdir(mode=0o700)
    (q / ".quarantine" / "m:empty1").write_bytes(b"older")
    c.start(env=mda_env(maildir))

    got = wait_for(lambda: len(delivered(maildir, "user@testserver")) >= 3
                   and delivered(maildir, "user@testserver"),
                   what="the good items delivered")
    assert sorted(m.split(b"\r\n")[0] for m in got) == \
        [b"Subject: good0", b"Subject: good1", b"Subject: good2"]
    assert before == ["m:good0", "m:good1", "m:good2"]
    wait_for(lambda: not any((q / n).exists() for n in before),
             what="the good items removed")

    quarantine = q / ".quarantine"
    log = c.log()
    for name, why in reasons.items():
        assert not os.path.lexists(q / name), name
        moved = quarantine / (name + ".1" if name == "m:empty1" else name)
        assert os.path.lexists(moved), name
        if name in contents:
            assert moved.read_bytes() == contents[name], name
        assert f'{why}' in log, why
        assert f'moved "{q / name}" to "{moved}"' in log, name
    assert (quarantine / "m:big1").stat().st_size == 300 * 1024 * 1024
    assert (quarantine / "m:link1").is_symlink()
    assert (quarantine / "m:empty1").read_bytes() == b"older"
    assert c.var("chasquid/queue/quarantined") == len(reasons)
    assert c.proc.poll() is None

    # Still serving.
    with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=10) as s:
        s.sendmail("a@far", ["user@testserver"], b"Subject: after\r\n\r\nx\r\n")
    wait_for(lambda: len(delivered(maildir, "user@testserver")) == 4,
             what="new mail delivered")

    # The quarantine is not loaded again at the next start.
    c.stop()
    c.start(env=mda_env(maildir))
    assert c.var("chasquid/queue/quarantined") == 0
    assert len(list(quarantine.iterdir())) == len(reasons) + 1
    assert len(delivered(maildir, "user@testserver")) == 4
