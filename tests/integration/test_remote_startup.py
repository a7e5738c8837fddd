"""Start-up of the delivery side: domaininfo store and STS cache errors."""

import time


def test_domaininfo_dir_is_a_file(chasquid_factory):
    c = chasquid_factory("a", monitoring=False)
    c.data_dir.mkdir(parents=True)
    (c.data_dir / "domaininfo").write_text("not a dir")
    rc, out = c.run_to_exit()
    assert rc == 1
    assert (f"Error opening domain info database: mkdir "
            f"{c.data_dir}/domaininfo: not a directory") in out


def test_domaininfo_bad_entry_is_fatal(chasquid_factory):
    c = chasquid_factory("a", monitoring=False)
    (c.data_dir / "domaininfo").mkdir(parents=True)
    (c.data_dir / "domaininfo" / "s:srv-b").write_text("bad: [")
    rc, out = c.run_to_exit()
    assert rc == 1
    assert 'Error opening domain info database: error loading "srv-b"' in out


def test_sts_cache_dir_is_a_file(chasquid_factory):
    c = chasquid_factory("a", monitoring=False)
    c.data_dir.mkdir(parents=True)
    (c.data_dir / "sts-cache").write_text("not a dir")
    rc, out = c.run_to_exit()
    assert rc == 1
    assert (f"Failed to initialize STS cache: mkdir "
            f"{c.data_dir}/sts-cache: not a directory") in out


def test_sts_refresh_runs_at_start(chasquid_factory):
    c = chasquid_factory("a")
    c.start()
    deadline = time.monotonic() + 10
    while c.var("chasquid/sts/cache/refreshCycles") in (None, 0):
        assert time.monotonic() < deadline, "no STS refresh cycle"
        time.sleep(0.05)
    assert (c.data_dir / "sts-cache").is_dir()
