"""Start-up of the delivery side: domaininfo store and STS cache errors."""


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
