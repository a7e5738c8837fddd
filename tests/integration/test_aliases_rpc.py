"""Aliases end to end through the local RPC (the aliases file, the
resolve hook, reloads and chasquid-util aliases-resolve): chasquid-util aliases-resolve against the running
daemon, the alias-resolve hook and its counter, reloads, garbage lines,
and domaininfo-remove."""

import signal
import subprocess

from conftest import binary
from queueutil import wait_for

ALIASES = """\
# The t-04 file, plus every feature.
pepe: jose
joan: juan
pitanga: ñangapirí
añil: azul, índigo
tubo: | writemailto ../.data/pipe_alias_worked
list: a@far, b via mx1/mx2
juana.perez: juana
this line is garbage
chain: pepe
"""


def util(c, *args):
    """Runs chasquid-util from inside the config dir, as chasquid's tests."""
    return subprocess.run([binary("chasquid-util"), "-C=.", *args],
                          capture_output=True, text=True, timeout=20,
                          cwd=c.config_dir)


def resolve(c, addr):
    r = util(c, "aliases-resolve", addr)
    return r.returncode, r.stdout + r.stderr


def start(chasquid_factory, aliases=ALIASES, hook=None, flags=()):
    c = chasquid_factory()
    (c.config_dir / "domains" / "testserver" / "aliases").write_text(aliases)
    if hook:
        (c.config_dir / "hooks").mkdir()
        h = c.config_dir / "hooks" / "alias-resolve"
        h.write_text(hook)
        h.chmod(0o755)
    c.start(*flags)
    wait_for(lambda: (c.data_dir / "localrpc-v1").exists(), what="socket")
    return c


def test_resolve_features(chasquid_factory):
    c = start(chasquid_factory)
    assert resolve(c, "pepe@testserver") == (0, "(email)  jose@testserver\n")
    assert resolve(c, "añil@testserver") == (
        0, "(email)  azul@testserver\n(email)  índigo@testserver\n")
    assert resolve(c, "tubo@testserver") == (
        0, "(pipe)  writemailto ../.data/pipe_alias_worked\n")
    assert resolve(c, "list@testserver") == (
        0, "(email)  a@far\n(forward)  b@testserver\n")
    assert resolve(c, "ju.ana.perez+abc@testserver") == (
        0, "(email)  juana@testserver\n")
    assert resolve(c, "chain@testserver") == (0, "(email)  jose@testserver\n")
    assert resolve(c, "x@remote") == (0, "(email)  x@remote\n")
    # The garbage line is reported with file and line, and skipped.
    assert ('"domains/testserver/aliases" line 9: missing \':\' in line'
            in c.log())
    # No hook file: each lookup counts as a skip.
    assert c.var("chasquid/aliases/hookResults", "resolve:skip") > 0


def test_reload(chasquid_factory):
    c = start(chasquid_factory, aliases="a: b\n",
              flags=("--testing__reload_every=100ms",))
    assert resolve(c, "a@testserver") == (0, "(email)  b@testserver\n")
    (c.config_dir / "domains" / "testserver" / "aliases").write_text(
        "a: c\n")
    wait_for(lambda: resolve(c, "a@testserver")[1] ==
             "(email)  c@testserver\n", what="periodic reload")


def test_reload_on_sighup(chasquid_factory):
    c = start(chasquid_factory, aliases="a: b\n")
    (c.config_dir / "domains" / "testserver" / "aliases").write_text(
        "a: d\n")
    c.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: resolve(c, "a@testserver")[1] ==
             "(email)  d@testserver\n", what="SIGHUP reload")


HOOK = """#!/bin/sh
case "$1" in
  hooked@testserver) echo "r1@r1.com, other";;
  pepe@testserver) echo "extra";;
  fail@testserver) echo "oops" >&2; exit 1;;
  bad@testserver) echo "|";;
esac
"""


def test_hook(chasquid_factory):
    c = start(chasquid_factory, hook=HOOK)
    # File results first, then the hook's.
    assert resolve(c, "pepe@testserver") == (
        0, "(email)  jose@testserver\n(email)  extra@testserver\n")
    assert resolve(c, "hooked@testserver") == (
        0, "(email)  r1@r1.com\n(email)  other@testserver\n")
    assert c.var("chasquid/aliases/hookResults", "resolve:success") > 0
    rc, out = resolve(c, "fail@testserver")
    assert rc == 1 and out == "Error resolving: exit status 1\n"
    assert c.var("chasquid/aliases/hookResults", "resolve:fail") == 1
    rc, out = resolve(c, "bad@testserver")
    assert rc == 1
    assert out == ("Error resolving: right-side: the pipe alias is missing "
                   "a command\n")
    assert c.var("chasquid/aliases/hookResults", "resolve:parse_err") == 1


def test_rpc_errors_and_domaininfo(chasquid_factory):
    c = start(chasquid_factory)
    r = util(c, "domaininfo-remove", "unknown.example")
    assert r.returncode == 1
    assert r.stderr == "Error removing domaininfo entry: does not exist\n"
    di = c.data_dir / "domaininfo"
    (di / "s:known").write_text(
        'name: "known"\noutgoing_sec_level: TLS_SECURE\n')
    c.proc.send_signal(signal.SIGHUP)  # Reloads domaininfo from disk.
    wait_for(lambda: util(c, "domaininfo-remove", "known").returncode == 0,
             what="domaininfo-remove")
    assert "outgoing_sec_level" not in (di / "s:known").read_text()
    # Every call is counted by method and result (chasquid/localrpc/calls).
    calls = c.var("chasquid/localrpc/calls")
    assert calls["DomaininfoClear:error"] >= 1
    assert calls["DomaininfoClear:ok"] == 1
    c.stop()
    rc, out = resolve(c, "x@testserver")
    assert rc == 1
    assert out.startswith("Error resolving: dial unix ")
