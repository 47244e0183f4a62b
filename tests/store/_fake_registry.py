"""A tiny in-memory OCI registry on 127.0.0.1 for the code paths docker-registry 2.8 lacks.

It implements what gatekeeper uses of the distribution spec: blobs (HEAD, GET, monolithic
POST+PUT uploads), manifests (HEAD, GET, PUT, with ``OCI-Subject`` when the referrers API
is on), ``tags/list`` with ``n``/``last`` pagination and ``Link``, the OCI 1.1 referrers
API with ``artifactType`` filtering, a bearer-token auth flow, and fault injection
(503 with ``Retry-After``, corrupted blobs).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "tok-" + "x" * 20


@dataclass
class RegistryState:
    referrers: bool = True
    bearer: tuple[str, str] | None = None  # (user, password) the token endpoint accepts
    tag_page: int | None = None  # paginate tags/list by this many
    fail_next: dict[str, int] = field(default_factory=dict)  # method -> 503s to send first
    corrupt_blobs: set[str] = field(default_factory=set)
    # manifest PUTs refused as naming an unknown blob first (docker-registry 2.8's answer
    # while a concurrent upload of the same blob rewrites the repository's link to it)
    blob_unknown_next: int = 0
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    subjects: dict[str, list[str]] = field(default_factory=dict)  # subject -> manifest digests
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0


_PATH = re.compile(
    r"^/v2/(?P<name>.+?)/(?P<kind>blobs/uploads|blobs|manifests|referrers|tags)"
    r"(?:/(?P<rest>.*))?$"
)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _handler(state: RegistryState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(
            self,
            status: int,
            body: bytes = b"",
            headers: dict[str, str] | None = None,
            head: bool = False,
        ) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head and body:
                self.wfile.write(body)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _authorised(self, name: str) -> bool:
            if state.bearer is None:
                return True
            if self.headers.get("Authorization") == f"Bearer {TOKEN}":
                return True
            realm = f"http://127.0.0.1:{state.port}/token"
            challenge = (
                f'Bearer realm="{realm}",service="fake-registry",'
                f'scope="repository:{name}:pull,push"'
            )
            self._body()
            self._send(
                401,
                b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                {"WWW-Authenticate": challenge},
                head=self.command == "HEAD",
            )
            return False

        def _token(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            auth = self.headers.get("Authorization", "")
            state.token_requests.append({"query": query, "auth": auth})
            assert state.bearer is not None
            expected = (
                "Basic "
                + base64.b64encode(f"{state.bearer[0]}:{state.bearer[1]}".encode()).decode()
            )
            if auth != expected:
                self._send(401, b"{}")
                return
            self._send(
                200, json.dumps({"token": TOKEN}).encode(), {"Content-Type": "application/json"}
            )

        def _dispatch(self) -> None:
            with state.lock:
                state.requests.append((self.command, self.path, dict(self.headers)))
                pending = state.fail_next.get(self.command, 0)
                if pending:
                    state.fail_next[self.command] = pending - 1
            if pending:
                self._body()
                self._send(503, b"busy", {"Retry-After": "0"}, head=self.command == "HEAD")
                return
            parts = urlsplit(self.path)
            if parts.path == "/token":
                self._token()
                return
            if parts.path == "/v2/":
                if self._authorised(""):
                    self._send(200, b"{}")
                return
            match = _PATH.match(parts.path)
            if match is None:
                self._send(404, b"404 page not found")
                return
            name, kind, rest = match.group("name"), match.group("kind"), match.group("rest") or ""
            if not self._authorised(name):
                return
            query = parse_qs(parts.query)
            with state.lock:
                getattr(self, f"_{kind.replace('/', '_')}")(name, rest, query)

        def _blobs(self, name: str, digest: str, query: dict[str, list[str]]) -> None:
            data = state.blobs.get(digest)
            if data is None:
                self._send(
                    404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}', head=self.command == "HEAD"
                )
                return
            if digest in state.corrupt_blobs:
                data = data[:-1] + bytes([data[-1] ^ 1])
            self._send(
                200,
                data,
                {"Docker-Content-Digest": digest, "Content-Type": "application/octet-stream"},
                head=self.command == "HEAD",
            )

        def _blobs_uploads(self, name: str, rest: str, query: dict[str, list[str]]) -> None:
            if self.command == "POST":
                self._body()
                self._send(202, b"", {"Location": f"/v2/{name}/blobs/uploads/{uuid.uuid4()}"})
                return
            data = self._body()
            digest = query.get("digest", [""])[0]
            if _digest(data) != digest:
                self._send(400, b'{"errors":[{"code":"DIGEST_INVALID"}]}')
                return
            state.blobs[digest] = data
            self._send(201, b"", {"Docker-Content-Digest": digest})

        def _manifests(self, name: str, ref: str, query: dict[str, list[str]]) -> None:
            if self.command == "PUT":
                data = self._body()
                if state.blob_unknown_next > 0:
                    state.blob_unknown_next -= 1
                    body = (
                        b'{"errors":[{"code":"DIGEST_INVALID"},{"code":"MANIFEST_BLOB_UNKNOWN"}]}'
                    )
                    self._send(400, body)
                    return
                digest = _digest(data)
                media_type = self.headers.get("Content-Type", "")
                state.manifests[digest] = (data, media_type)
                if not ref.startswith("sha256:"):
                    state.tags[ref] = digest
                elif ref != digest:
                    self._send(400, b'{"errors":[{"code":"DIGEST_INVALID"}]}')
                    return
                headers = {"Docker-Content-Digest": digest}
                doc = json.loads(data)
                subject = doc.get("subject")
                if state.referrers and isinstance(subject, dict):
                    listed = state.subjects.setdefault(subject["digest"], [])
                    if digest not in listed:
                        listed.append(digest)
                    headers["OCI-Subject"] = subject["digest"]
                self._send(201, b"", headers)
                return
            digest = ref if ref.startswith("sha256:") else state.tags.get(ref, "")
            found = state.manifests.get(digest)
            if found is None:
                self._send(
                    404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', head=self.command == "HEAD"
                )
                return
            data, media_type = found
            self._send(
                200,
                data,
                {
                    "Docker-Content-Digest": digest,
                    "Content-Type": media_type,
                    "Etag": f'"{digest}"',
                },
                head=self.command == "HEAD",
            )

        def _referrers(self, name: str, digest: str, query: dict[str, list[str]]) -> None:
            if not state.referrers:
                self._send(404, b"404 page not found")
                return
            wanted = query.get("artifactType", [None])[0]
            out = []
            for manifest_digest in state.subjects.get(digest, []):
                data, media_type = state.manifests[manifest_digest]
                doc = json.loads(data)
                if wanted and doc.get("artifactType") != wanted:
                    continue
                out.append(
                    {
                        "mediaType": media_type,
                        "digest": manifest_digest,
                        "size": len(data),
                        "artifactType": doc.get("artifactType"),
                        "annotations": doc.get("annotations", {}),
                    }
                )
            body = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": out,
                }
            ).encode()
            headers = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
            if wanted:
                headers["OCI-Filters-Applied"] = "artifactType"
            self._send(200, body, headers)

        def _tags(self, name: str, rest: str, query: dict[str, list[str]]) -> None:
            tags = sorted(state.tags)
            last = query.get("last", [None])[0]
            if last is not None:
                tags = [t for t in tags if t > last]
            headers = {"Content-Type": "application/json"}
            limit = int(query["n"][0]) if "n" in query else state.tag_page
            if limit is not None and len(tags) > limit:
                tags = tags[:limit]
                headers["Link"] = f'</v2/{name}/tags/list?n={limit}&last={tags[-1]}>; rel="next"'
            self._send(200, json.dumps({"name": name, "tags": tags}).encode(), headers)

        do_GET = do_HEAD = do_PUT = do_POST = _dispatch

    return Handler


@contextmanager
def fake_registry(**options: Any) -> Iterator[RegistryState]:
    state = RegistryState(**options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
