#!/usr/bin/python3
"""Checks that the CMake targets say the architecture.

Each folder under src/ is one library, chasquid_<dir>, whose DEPS in its
CMakeLists.txt name the libraries it uses. This check fails when a file in
a folder includes a header of another folder that its library does not
depend on (directly or through its DEPS): such an include builds only by
accident of link order, and hides a dependency from the reader of the
CMakeLists.txt. Test files (*_test.cc, *_fuzz.cc, testutil.*) are checked
against the DEPS of their test or fuzzer target instead, which this script
reads from chasquid_test() and chasquid_fuzzer() calls.

Usage: scripts/check-layout.py [--self-test]. Exits 1 listing each
violation.

It also checks that a folder's private headers (PRIVATE_HEADERS of its
chasquid_library) and the headers that guard themselves with
CHASQUID_INSIDE_<FOLDER> are the same list, so that the CMakeLists.txt
says truthfully which headers other folders may include.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CALL = re.compile(r"\b(chasquid_library|chasquid_test|chasquid_fuzzer)\s*\(",
                  re.S)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_0-9]+)/[^"]+"', re.M)


def calls(text):
    """Yields (function, first argument, {section: [words]}) per call."""
    for m in CALL.finditer(text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        body = re.sub(r"#[^\n]*", "", text[m.end():i - 1])
        words = body.split()
        sections, cur = {}, None
        for w in words[1:]:
            if w in ("SOURCES", "DEPS", "PROTOS", "PRIVATE_HEADERS"):
                cur = w
                sections[cur] = []
            elif cur:
                sections[cur].append(w)
        yield m.group(1), words[0], sections


def load():
    """Returns (deps of each library, {dir: test/fuzz target deps})."""
    libs, test_deps = {}, {}
    private.clear()
    src = os.path.join(ROOT, "src")
    for d in sorted(os.listdir(src)):
        cm = os.path.join(src, d, "CMakeLists.txt")
        if not os.path.exists(cm):
            continue
        with open(cm) as f:
            text = f.read()
        for fn, name, sec in calls(text):
            deps = [w[len("chasquid_"):] for w in sec.get("DEPS", [])
                    if w.startswith("chasquid_")]
            if fn == "chasquid_library":
                libs[name] = (d, deps)
                private.setdefault(d, set()).update(
                    sec.get("PRIVATE_HEADERS", []))
            else:
                test_deps.setdefault(d, set()).update(deps)
    return libs, test_deps


private = {}  # Folder -> its PRIVATE_HEADERS, filled by load().


def private_header_problems():
    out = []
    for d in sorted(os.listdir(os.path.join(ROOT, "src"))):
        folder = os.path.join(ROOT, "src", d)
        if not os.path.isdir(folder):
            continue
        guard = "#ifndef CHASQUID_INSIDE_" + d.upper()
        guarded = set()
        for f in os.listdir(folder):
            if f.endswith(".h"):
                with open(os.path.join(folder, f)) as fh:
                    if guard in fh.read():
                        guarded.add(f)
        listed = private.get(d, set())
        for f in sorted(listed - guarded):
            out.append(f"src/{d}/{f}: in PRIVATE_HEADERS but without the "
                       f"'{guard}' / #error guard")
        for f in sorted(guarded - listed):
            out.append(f"src/{d}/{f}: guarded as private but not in "
                       f"PRIVATE_HEADERS of src/{d}/CMakeLists.txt")
    return out


def closure(libs, names):
    seen, todo = set(), list(names)
    while todo:
        n = todo.pop()
        if n in seen or n not in libs:
            continue
        seen.add(n)
        todo.extend(libs[n][1])
    return {libs[n][0] for n in seen}


def main():
    libs, test_deps = load()
    by_dir = {}
    for name, (d, _) in libs.items():
        by_dir.setdefault(d, []).append(name)
    problems = []
    for d, names in sorted(by_dir.items()):
        allowed = closure(libs, names) | {d}
        allowed_tests = allowed | closure(libs, test_deps.get(d, ()))
        folder = os.path.join(ROOT, "src", d)
        for f in sorted(os.listdir(folder)):
            if not f.endswith((".cc", ".h")):
                continue
            is_test = re.search(r"(_test|_fuzz)\.cc$|^testutil\.", f)
            with open(os.path.join(folder, f)) as fh:
                text = fh.read()
            for m in INCLUDE.finditer(text):
                inc = m.group(1)
                if not os.path.isdir(os.path.join(ROOT, "src", inc)):
                    continue  # Generated or system headers.
                ok = allowed_tests if is_test else allowed
                if inc not in ok:
                    line = text.count("\n", 0, m.start()) + 1
                    problems.append(
                        f"src/{d}/{f}:{line}: includes {inc}/ but "
                        f"{'its test target' if is_test else 'chasquid_' + d}"
                        f" does not depend on chasquid_{inc}: add it to "
                        f"DEPS in src/{d}/CMakeLists.txt")
    problems += private_header_problems()
    for p in problems:
        print(p)
    if problems:
        print(f"\n{len(problems)} layout problem(s) "
              "(why: the top of scripts/check-layout.py).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
