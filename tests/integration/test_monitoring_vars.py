"""The exported variables as a whole: chasquid's complete set and our own
latency histograms and gauges."""

import json
import re


# chasquid 1.18's variables, in /debug/vars order.
CHASQUID_VARS = """
chasquid/aliases/hookResults chasquid/queue/deliverAttempts
chasquid/queue/dsnQueued chasquid/queue/itemsWritten chasquid/queue/putCount
chasquid/smtpIn/commandCount chasquid/smtpIn/dkimSignErrors
chasquid/smtpIn/dkimSigned chasquid/smtpIn/dkimVerifyErrors
chasquid/smtpIn/dkimVerifyFound chasquid/smtpIn/dkimVerifyNotFound
chasquid/smtpIn/dkimVerifyValid chasquid/smtpIn/hookResults
chasquid/smtpIn/loopsDetected chasquid/smtpIn/responseCodeCount
chasquid/smtpIn/securityLevelChecks chasquid/smtpIn/spfResultCount
chasquid/smtpIn/tlsCount chasquid/smtpIn/wrongProtoCount
chasquid/smtpOut/securityLevelChecks chasquid/smtpOut/sts/mode
chasquid/smtpOut/sts/security chasquid/smtpOut/tlsCount
chasquid/sourceDateStr chasquid/sourceDateTimestamp
chasquid/sts/cache/expired chasquid/sts/cache/failedFetch
chasquid/sts/cache/fetches chasquid/sts/cache/hits chasquid/sts/cache/invalid
chasquid/sts/cache/ioErrors chasquid/sts/cache/marshalErrors
chasquid/sts/cache/refreshCycles chasquid/sts/cache/refreshErrors
chasquid/sts/cache/refreshes chasquid/sts/cache/unmarshalErrors
chasquid/version cmdline memstats
""".split()

# Ours: additions, never clashing with chasquid's names.
OUR_VARS = {
    "chasquid/smtpIn/sessionDuration": "histogram",
    "chasquid/queue/timeToDelivery": "histogram",
    "chasquid/queue/deliverAttemptDuration": "histogram",
    "chasquid/smtpIn/liveConnections": "gauge",
    "chasquid/queue/length": "gauge",
    "chasquid/queue/dirSyncs": "counter",
    "chasquid/queue/unchangedWritesSkipped": "counter",
    "chasquid/queue/quarantined": "counter",
    "chasquid/localrpc/calls": "map",
    "chasquid/queue/adminOperations": "map",
    "chasquid/smtpIn/authThrottle": "map",
    "chasquid/smtpIn/senderAuthorization": "map",
    "chasquid/smtpIn/limitRefusals": "map",
    "chasquid/queue/writeErrors": "counter",
    "chasquid/queue/dsnErrors": "counter",
    "chasquid/domaininfo/writeErrors": "counter",
    "chasquid/smtpIn/refusedOutOfFds": "counter",
    "chasquid/smtpIn/spooledMessages": "counter",
    "process": "func",
    # Operations: certificates, TLS versions, AUTH, delivery results.
    "chasquid/tls/certReloads": "map",
    "chasquid/tls/certNotAfter": "map",
    "chasquid/smtpIn/tlsVersions": "map",
    "chasquid/smtpOut/tlsVersions": "map",
    "chasquid/smtpIn/authAttempts": "map",
    "chasquid/smtpIn/authSuccess": "map",
    "chasquid/smtpIn/authFailure": "map",
    "chasquid/smtpIn/authError": "map",
    "chasquid/queue/deliveriesSent": "map",
    "chasquid/queue/deliveriesTransientFailed": "map",
    "chasquid/queue/deliveriesPermanentFailed": "map",
    "chasquid/queue/deliveriesGivenUp": "map",
    "chasquid/queue/sizeBytes": "gauge",
    "chasquid/queue/oldestItemTimestamp": "gauge",
    "chasquid/dns/queries": "map",
    "chasquid/dns/queryResults": "map",
    "chasquid/dns/queryDuration": "histogram",
    "chasquid/smtpOut/dane": "map",
    "chasquid/localrpc/calls": "map",
    # The overview page: its sampler, and its list of recent errors.
    # A counter, but not 0 at start: the first sample is taken then.
    "chasquid/monitoring/overviewSamples": "sampler",
    "chasquid/queue/deliveryErrorsRecorded": "counter",

    # TLS reporting (RFC 8460) and REQUIRETLS (RFC 8689).
    "chasquid/tlsrpt/failures": "map",
    "chasquid/tlsrpt/successes": "map",
    "chasquid/tlsrpt/reports": "map",
    "chasquid/requireTls/messages": "map",
}


def test_our_latency_metrics_exported_from_start(chasquid_factory):
    c = chasquid_factory().start()
    v = json.loads(c.get("/debug/vars")[2])
    for name in OUR_VARS:
        assert name in v, name
    assert v["chasquid/smtpIn/liveConnections"] == 0
    assert v["chasquid/queue/length"] == 0
    assert v["chasquid/queue/dirSyncs"] == 0
    assert v["chasquid/smtpIn/sessionDuration"]["le=+Inf"] == 0
    assert v["chasquid/queue/timeToDelivery"] == {}  # Keys on first use.

    text = c.get("/metrics")[2].decode()
    for name, kind in OUR_VARS.items():
        m = name.replace("/", "_")
        if kind == "histogram":
            assert re.search(rf"^# HELP {m} .+\n# TYPE {m} histogram$",
                             text, re.M), m
        elif kind in ("gauge", "counter"):
            assert re.search(rf"^# HELP {m} .+\n{m} 0$", text, re.M), m
    assert re.search(
        r'^chasquid_smtpIn_sessionDuration_bucket\{le="\+Inf"\} 0$',
        text, re.M)
    assert re.search(r"^chasquid_smtpIn_sessionDuration_count 0$", text, re.M)


def test_every_chasquid_variable_exported(chasquid_factory):
    c = chasquid_factory().start()
    body = c.get("/debug/vars")[2].decode()
    v = json.loads(body)
    missing = [k for k in CHASQUID_VARS if k not in v]
    assert missing == []
    # chasquid's variables keep chasquid's order; ours interleave by name.
    keys = [k for k in json.loads(body) if k in CHASQUID_VARS]
    assert keys == CHASQUID_VARS
    # The line format a chasquid test greps for.
    assert re.search(r'^"chasquid/smtpIn/loopsDetected": 0,$', body, re.M)


def _test_sources():
    """{"test_x.py::test_name": source text} for every integration test."""
    import ast
    import pathlib
    out = {}
    for p in pathlib.Path(__file__).parent.glob("test_*.py"):
        src = p.read_text()
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.FunctionDef) and node.name.startswith(
                    "test_"):
                out[f"{p.name}::{node.name}"] = ast.get_source_segment(
                    src, node)
    return out


def test_readme_maps_every_variable_to_its_tests(chasquid_factory):
    """The README's variable table names, for every exported variable, the
    end-to-end tests that make it move; each named test must exist and
    mention the variable (its full name, its /metrics name, or, for a test
    that loops over a family, its last path component in quotes). What a
    running daemon exports is the list, so a new variable cannot be left
    out of the table."""
    import pathlib
    c = chasquid_factory().start()
    exported = list(json.loads(c.get("/debug/vars")[2]))
    assert sorted(exported) == sorted(CHASQUID_VARS + list(OUR_VARS)), \
        "exported variables differ from CHASQUID_VARS + OUR_VARS"
    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Monitoring variables", 1)[1].split("\n## ")[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"^\| `([^`]+)` \| (.+) \|$", line)
        if m:
            rows[m.group(1)] = re.findall(r"`(test_\w+\.py::test_\w+)`",
                                          m.group(2))
    sources = _test_sources()
    for name in exported:
        assert name in rows, f"{name} missing from the README table"
        assert rows[name], f"{name}: no test named"
        last = name.split("/")[-1]
        for t in rows[name]:
            assert t in sources, f"{name}: {t} does not exist"
            src = sources[t]
            assert (name in src or name.replace("/", "_") in src
                    or f'"{last}"' in src or f"'{last}'" in src), \
                f"{name}: {t} does not mention it"
