"""The network client: bounded retries, Retry-After, an overall deadline and a body cap."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest
import requests

from gatekeeper._http import HttpClient, SlowResponse


class _Handler(http.server.BaseHTTPRequestHandler):
    calls: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        _Handler.calls.append(self.path)
        if self.path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.1)
        elif self.path == "/big":
            body = b"y" * 300_000
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/busy" and _Handler.calls.count("/busy") < 3:
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.calls = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_trickling_server_hits_the_deadline_once(server: str) -> None:
    client = HttpClient(deadline=0.5, backoff=0.0)
    started = time.monotonic()
    with pytest.raises(SlowResponse, match="longer than"):
        client.request("GET", f"{server}/trickle")
    assert time.monotonic() - started < 5
    assert _Handler.calls.count("/trickle") == 1  # a deadline overrun is not retried


def test_body_cap(server: str) -> None:
    with pytest.raises(requests.RequestException, match="larger than 100000 bytes"):
        HttpClient(max_body=100_000).request("GET", f"{server}/big")
    assert HttpClient().request("GET", f"{server}/big").content == b"y" * 300_000


def test_5xx_is_retried_with_retry_after(server: str) -> None:
    client = HttpClient(retries=3, backoff=0.0)
    response = client.request("GET", f"{server}/busy")
    assert response.status_code == 200 and response.content == b"ok"
    assert _Handler.calls.count("/busy") == 3


def test_retries_are_bounded(server: str) -> None:
    client = HttpClient(retries=1, backoff=0.0)
    _Handler.calls = []
    response = client.request("GET", f"{server}/busy")
    assert response.status_code == 503
    assert _Handler.calls.count("/busy") == 2


def test_nothing_listening_is_an_error_after_bounded_retries() -> None:
    client = HttpClient(retries=2, backoff=0.0, timeout=(0.5, 0.5))
    with pytest.raises(requests.ConnectionError):
        client.request("GET", "http://127.0.0.1:9/")
