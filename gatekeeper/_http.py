"""The one place gatekeeper talks to the network: sessions with timeouts and bounded retries.

Every request has a connect and read timeout; 429/5xx answers are retried a bounded number
of times with backoff, honouring ``Retry-After``; anything else surfaces to the caller.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import requests

from gatekeeper import __version__

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
DEFAULT_DEADLINE = 120.0  # whole response, so a server trickling bytes cannot hold a run
DEFAULT_MAX_BODY = 64 * 1024 * 1024
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0


class BodyTooLarge(requests.RequestException):
    """The response body is larger than the client's cap."""


class SlowResponse(requests.Timeout):
    """The whole response did not arrive within the client's deadline (never retried)."""


class HttpClient:
    """A requests session with a user agent, timeouts, and bounded retries."""

    def __init__(
        self,
        *,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        verify: bool = True,
        deadline: float = DEFAULT_DEADLINE,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"gatekeeper/{__version__}"
        if headers:
            self.session.headers.update(headers)
        self.session.verify = verify
        self.session.trust_env = (
            False  # SECURITY: no proxy or .netrc credentials picked up implicitly
        )
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.deadline = deadline
        self.max_body = max_body
        self.sleep = time.sleep

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send a request, retrying connection errors, 429 and 5xx up to ``retries`` times.

        Unless the caller streams (``stream=True``), the body is read here within
        ``deadline`` seconds and ``max_body`` bytes.

        Raises:
            requests.RequestException: the last connection error once retries are spent, or
                a body that is too slow or too large.
        """
        kwargs.setdefault("timeout", self.timeout)
        streaming = bool(kwargs.pop("stream", False))
        attempt = 0
        while True:
            try:
                response = self.session.request(method, url, stream=True, **kwargs)
                if not streaming:
                    self._read_body(response, url)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= self.retries or isinstance(exc, SlowResponse):
                    raise
                self.sleep(self.backoff * (2**attempt))
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                self.sleep(self._retry_delay(response, attempt))
                attempt += 1
                continue
            return response

    def _read_body(self, response: requests.Response, url: str) -> None:
        """Read the whole body under the deadline and size cap.

        ``read1`` returns whatever one socket read brings, so a server trickling a byte at a
        time is caught by the deadline instead of filling a 64 KiB buffer first.

        Raises:
            SlowResponse: the body took longer than ``deadline``.
            BodyTooLarge: the body is larger than ``max_body``.
        """
        started = time.monotonic()
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := response.raw.read1(64 * 1024, decode_content=True):
                size += len(chunk)
                if size > self.max_body:
                    raise BodyTooLarge(f"{url}: response larger than {self.max_body} bytes")
                if time.monotonic() - started > self.deadline:
                    raise SlowResponse(f"{url}: response took longer than {self.deadline:.0f}s")
                chunks.append(chunk)
        except BaseException:
            response.close()
            raise
        # NOTE: requests keeps a read body in _content; this is how it caches it itself.
        response._content = b"".join(chunks)
        response._content_consumed = True  # type: ignore[attr-defined]

    def _retry_delay(self, response: requests.Response, attempt: int) -> float:
        header = response.headers.get("Retry-After")
        if header:
            try:
                return min(max(float(header), 0.0), MAX_RETRY_AFTER)
            except ValueError:
                pass  # NOTE: an HTTP-date Retry-After falls back to exponential backoff
        return float(self.backoff * (2**attempt))

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
