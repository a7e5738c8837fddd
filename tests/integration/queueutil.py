"""Helpers for the queue, aliases and local delivery tests: a test MDA that
files each message in a directory, chasquid-format queue items, polling."""

import os
import pathlib
import time

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


def wait_for(fn, timeout=15, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def delivered(maildir, to):
    """Messages delivered to `to` (bytes), oldest first."""
    files = sorted(pathlib.Path(maildir).glob(f"{to}.*"),
                   key=lambda p: int(p.name.rsplit(".", 1)[1]))
    return [f.read_bytes() for f in files]
