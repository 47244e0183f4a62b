"""OSV data for the attest and verify tests: records in the OSV schema, a directory database,
and a local HTTP server standing in for the OSV API (``/v1/querybatch``, ``/v1/vulns/{id}``)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CRITICAL_VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"

# Django before 4.2.1: a critical advisory, as the OSV schema (1.6.0) writes one.
DJANGO_ADVISORY: dict[str, Any] = {
    "schema_version": "1.6.0",
    "id": "GHSA-test-dj42-0001",
    "modified": "2024-05-01T00:00:00Z",
    "published": "2024-05-01T00:00:00Z",
    "aliases": ["CVE-2099-0001"],
    "summary": "SQL injection in QuerySet filtering",
    "severity": [{"type": "CVSS_V3", "score": CRITICAL_VECTOR}],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "django", "purl": "pkg:pypi/django"},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "4.2"}, {"fixed": "4.2.1"}]}
            ],
        }
    ],
    "references": [{"type": "WEB", "url": "https://example.invalid/advisory"}],
}


def write_osv_db(root: Path, records: list[dict[str, Any]] | None = None) -> Path:
    """A directory of OSV JSON records, one file per record (an offline OSV database)."""
    root.mkdir(parents=True, exist_ok=True)
    for record in records or [DJANGO_ADVISORY]:
        (root / f"{record['id']}.json").write_text(json.dumps(record, indent=2))
    return root


class OsvApi:
    """The two OSV API endpoints gatekeeper calls, answering as osv.dev would for ``hits``.

    ``hits`` maps (ecosystem, name, version) to the records affecting that version: the
    stand-in does not compute ranges itself, so it cannot share a mistake with the code
    under test.
    """

    def __init__(
        self, hits: dict[tuple[str, str, str], list[dict[str, Any]]] | None = None
    ) -> None:
        self.hits = hits if hits is not None else {("PyPI", "django", "4.2.0"): [DJANGO_ADVISORY]}
        self.records = {r["id"]: r for rs in self.hits.values() for r in rs}
        self.queries: list[dict[str, Any]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                results = []
                for query in body["queries"]:
                    api.queries.append(query)
                    package = query["package"]
                    key = (package["ecosystem"], package["name"], query["version"])
                    hits = api.hits.get(key, [])
                    vulns = [{"id": r["id"], "modified": r["modified"]} for r in hits]
                    results.append({"vulns": vulns} if vulns else {})
                self._send(200, {"results": results})

            def do_GET(self) -> None:
                record = api.records.get(self.path.removeprefix("/v1/vulns/"))
                if record is None:
                    self._send(404, {"code": 5, "message": "Bug not found"})
                else:
                    self._send(200, record)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
