"""The queue with local delivery: items
left by chasquid are loaded and delivered through the MDA and pipes,
failures bounce with a DSN, /debug/queue and the queue counters."""


from queueutil import (setup_mda, mda_env, write_item, wait_for, delivered)


def test_loads_chasquid_item_and_delivers(chasquid_factory):
    c = chasquid_factory()
    maildir = setup_mda(c)
    pipe_out = c.root / "pipe-out"
    pipe_script = c.root / "pipe-script"
    pipe_script.write_text('#!/bin/sh\ncat > "$1"\n')
    pipe_script.chmod(0o755)
    data = "Subject: from chasquid\nMessage-ID: <m1@x>\n\nline1\nline2\n"
    path = write_item(c, "mid1234", "someone@far", [
        ("user@testserver", "EMAIL", "user@testserver"),
        (f"{pipe_script} {pipe_out}", "PIPE", "tubo@testserver"),
    ], data)
    # Leftover temp files and garbage are moved aside (test_fault_garbage).
    (path.parent / ".m:mid1234123").write_text("not loaded")
    (path.parent / "m:garbage").write_text("this { is not an item")
    c.start(env=mda_env(maildir))

    got = wait_for(lambda: delivered(maildir, "user@testserver"),
                   what="MDA delivery")
    # The MDA gets CRLF line endings; the pipe gets the stored LF bytes.
    assert got == [data.replace("\n", "\r\n").encode()]
    wait_for(lambda: pipe_out.exists() and pipe_out.read_bytes(),
             what="pipe delivery")
    assert pipe_out.read_bytes() == data.encode()
    wait_for(lambda: not path.exists(), what="item removal")

    assert "Queue.SendLoop mid1234: user@testserver sent" in c.log()
    assert "cannot parse queue item" in c.log()
    assert (path.parent / ".quarantine" / "m:garbage").exists()
    assert (path.parent / ".quarantine" / ".m:mid1234123").exists()
    assert c.var("chasquid/queue/deliverAttempts", "email:local") == 1
    assert c.var("chasquid/queue/deliverAttempts", "pipe") == 1
    # One write after the first of the two attempts. After the last one
    # every recipient is SENT and the item's removal is the record
    # (chasquid writes it once more before removing it).
    assert c.var("chasquid/queue/itemsWritten") == 1
    # That write was fsync'd, and so was the directory after its rename.
    assert c.var("chasquid/queue/dirSyncs") == 1
    mail_log = (c.root / "mail.log").read_text()
    assert "mid1234 from=someone@far to=user@testserver sent" in mail_log
    assert "mid1234 from=someone@far all done" in mail_log
    _, _, body = c.get("/debug/queue")
    assert b"length: 0\n" in body


def test_permanent_failure_bounces(chasquid_factory):
    c = chasquid_factory()
    maildir = setup_mda(c)
    data = "Subject: doomed\nMessage-ID: <doomed@x>\n\nbody\n"
    path = write_item(c, "bounce1", "sender@testserver", [
        ("fail@testserver", "EMAIL", "fail@testserver"),
        ("ok@testserver", "EMAIL", "ok@testserver"),
    ], data)
    c.start(env=mda_env(maildir))
    dsn = wait_for(lambda: delivered(maildir, "sender@testserver"),
                   what="DSN")[0].decode()
    assert delivered(maildir, "ok@testserver")
    assert "From: Mail Delivery System <postmaster-dsn@testserver>\r\n" in dsn
    assert "X-Failed-Recipients: fail@testserver, \r\n" in dsn
    assert "In-Reply-To: <doomed@x>\r\n" in dsn
    assert ('- "fail@testserver" (EMAIL) failed permanently with error:\r\n'
            '    MDA delivery failed: exit status 1 - "no such user\\n"\r\n'
            ) in dsn
    assert "Status: 5.0.0\r\n" in dsn
    assert dsn.endswith("\r\nbody\r\n\r\n\r\n--" +
                        dsn.split('boundary="')[1].split('"')[0] + "--\r\n")
    wait_for(lambda: not path.exists(), what="item removal")
    wait_for(lambda: c.var("chasquid/queue/dsnQueued") == 1, what="dsnQueued")
    # The DSN went through Put.
    assert c.var("chasquid/queue/putCount") == 1
    assert "Queue.SendLoop bounce1: error: fail@testserver permanent error" \
        in c.log()


def test_transient_failure_stays_queued(chasquid_factory):
    c = chasquid_factory()
    maildir = setup_mda(c)
    path = write_item(c, "later1", "a@far", [
        ("temp@testserver", "EMAIL", "temp@testserver")], "Subject: x\n\ny\n")
    c.start(env=mda_env(maildir))
    wait_for(lambda: "last_failure_message" in path.read_text(),
             what="status saved")
    text = path.read_text()
    assert 'last_failure_message: "MDA delivery failed: exit status 75' in text
    assert "status:" not in text  # Still PENDING, which is not written.
    _, _, body = c.get("/debug/queue")
    body = body.decode()
    assert body.startswith("# Queue status\n\ndate: ")
    assert "length: 1\n" in body
    assert "## Item later1\n" in body
    assert "created at: " in body and " +0000 UTC\n" in body
    assert "from: a@far\nto: [temp@testserver]\n" in body
    assert ("PENDING temp@testserver (EMAIL)\n"
            "  original address: temp@testserver\n"
            '  last failure: "MDA delivery failed: exit status 75 - '
            '\\"try later\\\\n\\""\n') in body
    assert "completed loop, next in " in (c.root / "mail.log").read_text()


def test_queue_dir_errors(chasquid_factory):
    c = chasquid_factory()
    c.data_dir.mkdir(parents=True)
    (c.data_dir / "queue").write_text("a file, not a directory")
    rc, out = c.run_to_exit()
    assert rc == 1, out
    last = "\n".join(out.strip().split("\n")[-4:])
    assert ("Error initializing queue: mkdir " + str(c.data_dir / "queue") +
            ": not a directory") in last
