"""Shared by the benchmarks: chasquid 1.11 from Debian's `chasquid`
package, downloaded with `apt-get download` and unpacked with `dpkg -x`
(never installed), cached in /tmp/chasquid-deb."""

import pathlib
import subprocess

DEB_ROOT = pathlib.Path("/tmp/chasquid-deb/root")


def peer_binary(name="chasquid"):
    exe = DEB_ROOT / "usr" / "bin" / name
    if exe.exists():
        return str(exe)
    work = DEB_ROOT.parent
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", "chasquid"], cwd=work,
                   check=True, capture_output=True, timeout=300)
    deb = sorted(work.glob("chasquid_*.deb"))[-1]
    subprocess.run(["dpkg", "-x", str(deb), str(DEB_ROOT)], check=True)
    return str(exe)
