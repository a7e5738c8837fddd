"""Helpers for the TLS reporting tests (RFC 8460): the report JSON's
schema, transcribed from §4.4 with §4.3's result types, and an HTTPS
server that takes POSTed reports (§5.4)."""

import gzip
import http.server
import json

from remoteutil import HTTPSServer

RESULT_TYPES = [
    "starttls-not-supported", "certificate-host-mismatch",
    "certificate-expired", "certificate-not-trusted", "validation-failure",
    "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
    "tlsa-invalid", "dnssec-invalid", "dane-required",
]

# RFC 8460 §4.4 (report JSON) with §4.3's result types.
SCHEMA = {
    "type": "object",
    "required": ["organization-name", "date-range", "contact-info",
                 "report-id", "policies"],
    "properties": {
        "organization-name": {"type": "string"},
        "date-range": {
            "type": "object",
            "required": ["start-datetime", "end-datetime"],
            "properties": {
                "start-datetime": {"type": "string", "format": "date-time"},
                "end-datetime": {"type": "string", "format": "date-time"},
            },
        },
        "contact-info": {"type": "string"},
        "report-id": {"type": "string"},
        "policies": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["policy", "summary"],
                "properties": {
                    "policy": {
                        "type": "object",
                        "required": ["policy-type", "policy-domain"],
                        "properties": {
                            "policy-type": {
                                "enum": ["tlsa", "sts", "no-policy-found"]},
                            "policy-string": {
                                "type": "array", "items": {"type": "string"}},
                            "policy-domain": {"type": "string"},
                            "mx-host": {
                                "type": "array", "items": {"type": "string"}},
                        },
                    },
                    "summary": {
                        "type": "object",
                        "required": ["total-successful-session-count",
                                     "total-failure-session-count"],
                        "properties": {
                            "total-successful-session-count": {
                                "type": "integer", "minimum": 0},
                            "total-failure-session-count": {
                                "type": "integer", "minimum": 0},
                        },
                    },
                    "failure-details": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["result-type",
                                         "failed-session-count"],
                            "properties": {
                                "result-type": {"enum": RESULT_TYPES},
                                "sending-mta-ip": {"type": "string"},
                                "receiving-mx-hostname": {"type": "string"},
                                "receiving-mx-helo": {"type": "string"},
                                "receiving-ip": {"type": "string"},
                                "failed-session-count": {
                                    "type": "integer", "minimum": 0},
                                "additional-information": {"type": "string"},
                                "failure-reason-code": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
}



class ReportCollector(HTTPSServer):
    """An HTTPS server on 127.0.0.1 that takes POSTed reports (RFC 8460
    §5.4) and answers 200."""

    def __init__(self, port, certfile, keyfile):
        self.posts = []  # (path, content type, body)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                outer.posts.append((self.path,
                                    self.headers.get("Content-Type"),
                                    self.rfile.read(n)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.serve(("127.0.0.1", port), certfile, keyfile, Handler)

    def reports(self):
        """{policy domain: [report JSON]} of the POSTs received."""
        out = {}
        for _, _, body in list(self.posts):
            r = json.loads(gzip.decompress(body))
            for p in r["policies"]:
                out.setdefault(p["policy"]["policy-domain"], []).append(r)
        return out
