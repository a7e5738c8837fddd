"""Every test module that points a daemon at a DNS server of its own
(`--testing__dns_addr`) also starts one through the system resolver
(`Chasquid.start(system_dns=...)`: /etc/resolv.conf and /etc/hosts in a
mount namespace, conftest.system_resolver), so that those paths of c-ares
and of our resolver run under the sanitizers in every scenario. Read from
the test files themselves, so a new module cannot leave it out, even in a
run of a few tests; conftest's session-end check confirms it on a whole
run, from the starts that really happened."""

import ast
import pathlib

from conftest import DNS_PATH_PENDING

HERE = pathlib.Path(__file__).resolve().parent


def dns_paths(path):
    """(passes --testing__dns_addr somewhere, has a system_dns= start)."""
    tree = ast.parse(path.read_text(), str(path))
    flag = system = False
    for node in ast.walk(tree):
        # A flag's text, alone or at the head of an f-string (docstrings
        # and comments that mention it do not start with it).
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value.startswith("--testing__dns_addr="):
            flag = True
        if isinstance(node, ast.Call) and any(
                k.arg == "system_dns" for k in node.keywords):
            system = True
    return flag, system


def test_modules_with_the_flag_also_start_on_the_system_resolver():
    files = sorted(p for p in HERE.glob("test_*.py")
                   if p.name != pathlib.Path(__file__).name)
    flagged = {p.name: dns_paths(p) for p in files}
    missing = [n for n, (flag, system) in flagged.items()
               if flag and not system and n not in DNS_PATH_PENDING]
    assert not missing, (
        "start at least one daemon of these modules with "
        "Chasquid.start(system_dns=...): " + ", ".join(missing))
    # The pending list only shrinks: a module that has its system-resolver
    # start leaves it.
    done = [n for n in DNS_PATH_PENDING if n in flagged and flagged[n][1]]
    assert not done, f"remove from conftest.DNS_PATH_PENDING: {done}"
    # It reads what it should: 19 modules have system_dns= starts today.
    assert sum(1 for _, system in flagged.values() if system) >= 19
