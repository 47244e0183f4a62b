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
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0


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
        self.sleep = time.sleep

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send a request, retrying connection errors, 429 and 5xx up to ``retries`` times.

        Raises:
            requests.RequestException: the last connection error once retries are spent.
        """
        kwargs.setdefault("timeout", self.timeout)
        attempt = 0
        while True:
            try:
                response = self.session.request(method, url, **kwargs)
            except (requests.ConnectionError, requests.Timeout):
                if attempt >= self.retries:
                    raise
                self.sleep(self.backoff * (2**attempt))
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                self.sleep(self._retry_delay(response, attempt))
                attempt += 1
                continue
            return response

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
