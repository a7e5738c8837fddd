"""The sanitizer-report plumbing of conftest.py, proven able to fail.

A tiny program built here with ASan+UBSan (gcc, as the project's sanitized
build) leaks, or overflows a signed int. It inherits the test environment,
so its leak report must land in conftest's SANITIZER_DIR and the check
that runs after every test must turn it into a failure that prints it;
UBSan's report goes to stderr, which for the daemon is its log, searched
when it stops. The reports are consumed so these tests themselves pass.
"""

import shutil
import subprocess

import pytest

import conftest

PROGRAM = r"""
#include <limits.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char** argv) {
  char* p = malloc(64);
  strcpy(p, "leaked");
  p = 0;
  int big = INT_MAX - 1 + argc;  /* argc is 1: INT_MAX */
  if (argc > 1) big += atoi(argv[1]);  /* signed overflow */
  return big == 0;
}
"""


def build(tmp_path):
    src = tmp_path / "bad.c"
    src.write_text(PROGRAM)
    exe = tmp_path / "bad"
    subprocess.run(["gcc", "-g", "-fsanitize=address,undefined",
                    "-fno-sanitize-recover=undefined", str(src), "-o",
                    str(exe)], check=True)
    return exe


def test_leak_report_fails_the_test_and_is_printed(tmp_path):
    assert shutil.which("gcc"), "needs gcc (scripts/deps/core.txt)"
    exe = build(tmp_path)
    before = set(conftest.sanitizer_reports())
    r = subprocess.run([str(exe)], capture_output=True, text=True)
    assert r.returncode != 0
    # The report went to the file, not to stderr.
    assert "LeakSanitizer" not in r.stderr
    new = [p for p in conftest.sanitizer_reports() if p not in before]
    assert len(new) == 1, new
    with pytest.raises(pytest.fail.Exception) as e:
        conftest._check_sanitizer_reports(before, "this test")
    assert "sanitizer report(s) during this test" in str(e.value)
    assert "LeakSanitizer: detected memory leaks" in str(e.value)
    # Consumed: the autouse check after this test finds nothing new.
    assert conftest.sanitizer_reports() == sorted(before)


def test_ubsan_report_on_stderr_is_found(tmp_path):
    # UBSan writes to stderr whatever log_path says: the daemon's log
    # (its stderr) is searched when it stops.
    exe = build(tmp_path)
    r = subprocess.run([str(exe), "5"], capture_output=True, text=True)
    assert r.returncode != 0
    report = conftest.sanitizer_output_in("some log line\n" + r.stderr)
    assert report.startswith(f"{tmp_path}/bad.c:")
    assert "runtime error: signed integer overflow" in report
    assert conftest.sanitizer_output_in("a clean log\n") is None


def test_daemon_log_with_a_report_fails_stop(chasquid_factory):
    c = chasquid_factory().start()
    # As a report would: appended to the daemon's stderr.
    with open(c.log_path, "a") as f:
        f.write("x.cc:1:2: runtime error: load of misaligned address\n")
    with pytest.raises(pytest.fail.Exception) as e:
        c.stop()
    assert "runtime error: load of misaligned address" in str(e.value)
    c.log_path.write_text("")  # Consumed: the fixture's stop stays quiet.
