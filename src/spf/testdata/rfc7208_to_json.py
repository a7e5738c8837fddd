#!/usr/bin/python3
"""Converts the RFC 7208 SPF test suite (python3-spf's YAML) to JSON.

Usage: rfc7208_to_json.py [suite.yml[.gz]] > suite.json

The zone data is translated the way python3-spf's own driver (testspf.py)
does: an "SPF" record also provides a TXT record unless the name has
explicit TXT records, "NONE" values are dropped, TXT strings are kept as
lists (the resolver concatenates them). Output:
  [{"scenario": desc, "zone": {name: [[type, value] | "TIMEOUT"]},
    "tests": [{"name", "helo", "host", "mailfrom", "result": [..]}]}]
"""
import gzip
import json
import sys

import yaml

DEFAULT = "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz"


def records(entries):
    out, generated, explicit_txt = [], [], False
    for e in entries:
        if e == "TIMEOUT":
            out.append("TIMEOUT")
            continue
        for t, v in e.items():
            if t in ("TXT", "SPF"):
                v = [v] if isinstance(v, str) else list(v)
            if t == "TXT":
                explicit_txt = True
            elif t == "SPF":
                generated.append(["TXT", v])
                continue  # We only ever query TXT (RFC 7208 §3.1).
            if v == ["NONE"]:
                continue
            out.append([t, v])
    if not explicit_txt:
        out.extend(generated)
    return out


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        docs = list(yaml.safe_load_all(f))
    out = []
    for d in docs:
        zone = {name.lower(): records(entries or [])
                for name, entries in (d.get("zonedata") or {}).items()}
        tests = []
        for name, t in d["tests"].items():
            res = t["result"]
            tests.append({
                "name": name,
                "helo": t.get("helo", ""),
                "host": t["host"],
                "mailfrom": t.get("mailfrom", ""),
                "result": res if isinstance(res, list) else [res],
            })
        out.append({"scenario": d["description"], "zone": zone,
                    "tests": tests})
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
