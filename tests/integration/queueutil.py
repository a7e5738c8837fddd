"""Helpers for the queue, aliases and local delivery tests: a test MDA that
files each message in a directory, chasquid-format queue items, polling."""

import os
import pathlib
import time

from conftest import wait_for

# The MDA: files stdin as $MDA_DIR/<to>.<n>; exits 1 for users starting
# with "fail", 75 for "temp".
MDA_SCRIPT = r"""#!/bin/sh
from="$1"; to="$2"
case "$to" in
  fail*) echo "no such user"; exit 1;;
  temp*) echo "try later"; exit 75;;
esac
n=$(date +%s%N)
cat > "$MDA_DIR/.tmp.$to.$n" && mv "$MDA_DIR/.tmp.$to.$n" "$MDA_DIR/$to.$n"
"""


def setup_mda(c):
    """Configures chasquid `c` with the test MDA; returns the mail dir."""
    mda = c.root / "test-mda"
    mda.write_text(MDA_SCRIPT)
    mda.chmod(0o755)
    maildir = c.root / "mail"
    maildir.mkdir(exist_ok=True)
    conf = (c.config_dir / "chasquid.conf").read_text()
    conf += (f'mail_delivery_agent_bin: "{mda}"\n'
             'mail_delivery_agent_args: "%from%"\n'
             'mail_delivery_agent_args: "%to%"\n')
    c.write_conf(conf)
    return maildir


def mda_env(maildir):
    env = os.environ.copy()
    env["MDA_DIR"] = str(maildir)
    return env


def go_quote(b):
    """Go prototext escaping of a bytes/str value (what chasquid writes)."""
    if isinstance(b, str):
        b = b.encode()
    out = []
    for c in b:
        ch = chr(c)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif c < 0x20 or c == 0x7f or c >= 0x80:
            out.append("\\x%02x" % c)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def chasquid_item(item_id, sender, rcpts, data, created=None):
    """An item file as chasquid writes it (two spaces after ':', as Go's
    prototext sometimes does). rcpts: list of (address, type, original)."""
    created = int(time.time()) if created is None else created
    lines = [f"ID:  {go_quote(item_id)}", f"from:  {go_quote(sender)}"]
    for _, _, orig in rcpts:
        lines.append(f"To:  {go_quote(orig)}")
    for addr, typ, orig in rcpts:
        lines.append("rcpt:  {")
        lines.append(f"  address:  {go_quote(addr)}")
        if typ != "EMAIL":
            lines.append(f"  type:  {typ}")
        lines.append(f"  original_address:  {go_quote(orig)}")
        lines.append("}")
    lines.append(f"data:  {go_quote(data)}")
    lines.append("created_at_ts:  {")
    lines.append(f"  seconds:  {created}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_item(c, item_id, *args, **kw):
    qdir = c.data_dir / "queue"
    qdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    (qdir / f"m:{item_id}").write_text(chasquid_item(item_id, *args, **kw))
    return qdir / f"m:{item_id}"




def delivered(maildir, to):
    """Messages delivered to `to` (bytes), oldest first."""
    files = sorted(pathlib.Path(maildir).glob(f"{to}.*"),
                   key=lambda p: int(p.name.rsplit(".", 1)[1]))
    return [f.read_bytes() for f in files]


# --- "Nothing lost": SMTP load while the server is SIGKILLed and restarted.

# Files each delivery as $MDA_DIR/<pid>.<ns> (atomically, by rename).
NOLOSS_MDA = r"""#!/bin/sh
n=$(date +%s%N)
cat > "$MDA_DIR/.tmp.$$.$n" && mv "$MDA_DIR/.tmp.$$.$n" "$MDA_DIR/m.$$.$n"
"""


def run_no_loss(c, count, threads=4, kill_every=(0.3, 0.8), per_conn=5,
                settle_timeout=60, seed=None, start=None,
                send_budget=None):
    """Sends `count` messages (each with a unique Message-ID) to
    user@testserver over `threads` SMTP clients, while another thread
    SIGKILLs chasquid `c` at random moments and restarts it on the same
    data dir (with `start(c, env)` if given: another binary, for bench).
    With `send_budget` (seconds), sending stops then even if fewer than
    `count` were sent (a loaded machine must not fail the test). Then waits (bounded) until the queue is empty and returns
    {"accepted", "attempted", "lost", "dups", "extra_copies",
     "unacked_delivered", "kills", "seconds"}: `lost` are 250-answered
    messages never delivered, `dups` those delivered more than once."""
    import random
    import re
    import signal
    import smtplib
    import threading

    rnd = random.Random(seed)
    c.add_user("user", "testserver", "pw")
    mda = c.root / "noloss-mda"
    mda.write_text(NOLOSS_MDA)
    mda.chmod(0o755)
    maildir = c.root / "mail"
    maildir.mkdir(exist_ok=True)
    conf = (c.config_dir / "chasquid.conf").read_text()
    conf += (f'mail_delivery_agent_bin: "{mda}"\n'
             'mail_delivery_agent_args: "%from%"\n'
             'mail_delivery_agent_args: "%to%"\n')
    c.write_conf(conf)
    env = mda_env(maildir)
    if start is None:
        def start(c, env):
            c.start(env=env, wait_port=c.smtp_port)
    start(c, env)

    lock = threading.Lock()
    accepted, attempted = set(), set()
    next_id = [0]
    stop = threading.Event()
    errors = []

    def take_id():
        with lock:
            if next_id[0] >= count:
                return None
            next_id[0] += 1
            return next_id[0]

    budget_end = (time.monotonic() + send_budget) if send_budget else None

    def sender(tn):
        pending = None
        deadline = time.monotonic() + settle_timeout * 2
        while time.monotonic() < deadline:
            if budget_end and time.monotonic() > budget_end:
                return
            try:
                with smtplib.SMTP("127.0.0.1", c.smtp_port,
                                  timeout=10) as s:
                    for _ in range(per_conn):
                        if budget_end and time.monotonic() > budget_end:
                            return
                        # A message not answered 250 is not retried
                        # under the same id: the client cannot know
                        # whether it was queued (that is not a duplicate
                        # the server made). A new id replaces it.
                        pending = take_id()
                        if pending is None:
                            return
                        mid = f"nl-{pending}"
                        with lock:
                            attempted.add(mid)
                        body = (f"Message-ID: <{mid}@noloss>\r\n"
                                f"Subject: {mid}\r\n\r\n"
                                + f"{mid} body line\r\n" * 20)
                        s.sendmail("sender@example.net",
                                   ["user@testserver"], body.encode())
                        with lock:
                            accepted.add(mid)
                        pending = None
            except (OSError, smtplib.SMTPException):
                time.sleep(0.02)
        errors.append(f"sender {tn} did not finish in time")

    kills = [0]

    def killer():
        while not stop.wait(rnd.uniform(*kill_every)):
            c.proc.send_signal(signal.SIGKILL)
            c.proc.wait()
            kills[0] += 1
            c.logf.close()
            try:
                start(c, env)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(f"restart failed: {e}")
                return

    t0 = time.monotonic()
    ts = [threading.Thread(target=sender, args=(i,)) for i in
          range(threads)]
    k = threading.Thread(target=killer)
    for t in ts:
        t.start()
    k.start()
    for t in ts:
        t.join(settle_timeout * 2 + 10)
    stop.set()
    k.join(30)
    assert not errors, errors
    send_seconds = time.monotonic() - t0

    # Let the last incarnation drain its queue (bounded).
    def queue_empty():
        try:
            _, _, body = c.get("/debug/queue")
        except OSError:
            return False
        return b"length: 0\n" in body
    wait_for(queue_empty, settle_timeout, "the queue to drain")

    counts = {}
    truncated = 0
    for f in maildir.glob("m.*"):
        data = f.read_bytes()
        m = re.search(rb"Message-ID: <(nl-\d+)@noloss>", data)
        if not m or data.count(b" body line") != 20:
            truncated += 1
            continue
        mid = m.group(1).decode()
        counts[mid] = counts.get(mid, 0) + 1
    lost = sorted(accepted - counts.keys())
    dups = sum(1 for v in counts.values() if v > 1)
    return {
        "attempted": len(attempted),
        "accepted": len(accepted),
        "delivered_unique": len(counts),
        "lost": lost,
        "dups": dups,
        "dup_ratio": dups / max(1, len(accepted)),
        "extra_copies": sum(v - 1 for v in counts.values()),
        "unacked_delivered": len(counts.keys() - accepted),
        "truncated": truncated,
        "kills": kills[0],
        "seconds": round(send_seconds, 1),
    }
