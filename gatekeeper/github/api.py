"""A small GitHub REST API client: commit statuses, check runs, pull-request reviews, and the
verification of a pull request's commit signatures.

Every request goes through ``gatekeeper._http.HttpClient`` (timeouts, bounded retries on
connection errors, 429 and 5xx honouring ``Retry-After``). On top of that, a 403 or 429
that GitHub marks as a rate limit (``Retry-After`` or ``x-ratelimit-remaining: 0``) is
retried after the delay the headers give (``x-ratelimit-reset`` is an epoch second),
capped so a gate never sleeps for an hour.

SECURITY: the token is sent only to the configured API origin (pagination links to any
other origin are refused), and never appears in an exception, a log line or a report:
every message built here passes through ``_redact``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from gatekeeper._fileio import loads_json_strict
from gatekeeper._http import MAX_RETRY_AFTER, HttpClient
from gatekeeper.errors import ExitCode, GatekeeperError
from gatekeeper.models.source import ForgeVerification

DEFAULT_API_URL = "https://api.github.com"
ANNOTATIONS_PER_REQUEST = 50  # the checks API's limit per create/update request
MAX_PAGES = 100  # 100 pages x 100 reviews: far beyond any real pull request
# GitHub lists at most this many commits of a pull request (REST API, "List commits on a pull
# request"); the signatures of later commits are checked locally only.
MAX_PULL_COMMITS = 250
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_SLUG = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class GitHubApiError(GatekeeperError):
    """The GitHub API refused or failed a request (configuration or service trouble)."""

    exit_code = ExitCode.USAGE

    def __init__(
        self, message: str, status: int | None = None, api_message: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        # GitHub's own "message" (redacted), e.g. "Resource not accessible by personal
        # access token", for the caller to quote.
        self.api_message = api_message


class _GitHubHttp(HttpClient):
    """HttpClient whose retry delay also honours GitHub's ``x-ratelimit-reset``."""

    def __init__(self, *, clock: Any = time.time, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock

    def _retry_delay(self, response: requests.Response, attempt: int) -> float:
        return rate_limit_delay(response, self.clock()) or super()._retry_delay(response, attempt)


def rate_limit_delay(response: requests.Response, now: float) -> float | None:
    """Seconds to wait before retrying a rate-limited answer, or None if it is not one."""
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER)
        except ValueError:
            pass  # NOTE: an HTTP-date Retry-After falls through to the reset header
    if response.headers.get("x-ratelimit-remaining") == "0":
        try:
            reset = float(response.headers.get("x-ratelimit-reset", ""))
        except ValueError:
            return None
        return min(max(reset - now, 1.0), MAX_RETRY_AFTER)
    return None


class GitHubClient:
    """The few endpoints pr-check needs, for one repository ``owner/name``."""

    def __init__(
        self,
        token: str,
        repository: str,
        *,
        api_url: str = DEFAULT_API_URL,
        http: HttpClient | None = None,
        rate_limit_retries: int = 3,
    ) -> None:
        if not _SLUG.match(repository):
            raise GitHubApiError(f"not a GitHub repository name: {repository!r} (use OWNER/NAME)")
        parts = urlsplit(api_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise GitHubApiError(f"GITHUB_API_URL is not an http(s) URL: {api_url!r}")
        self.api_url = api_url.rstrip("/")
        self._origin = (parts.scheme, parts.netloc)
        self.repository = repository
        self._token = token
        self.http = http or _GitHubHttp()
        # SECURITY: set per request, never on the session, so no redirect or foreign
        # pagination link can carry it elsewhere (requests drops it on cross-host redirects
        # too, but we do not rely on that alone).
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self.rate_limit_retries = rate_limit_retries
        self.requests_made: list[tuple[str, str]] = []

    # -- plumbing -------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _url(self, path: str) -> str:
        return f"{self.api_url}/repos/{self.repository}{path}"

    def _same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc) == self._origin

    def request(self, method: str, url: str, *, json: Any = None) -> requests.Response:
        """Send one API request; retry rate limits; raise GitHubApiError on failure.

        Raises:
            GitHubApiError: a connection failure or a non-2xx answer (the token redacted).
        """
        if not self._same_origin(url):
            raise GitHubApiError(
                f"refusing to send the token to {self._redact(url)}: not the "
                f"API origin {self.api_url}"
            )
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            **self._auth,
        }
        attempt = 0
        while True:
            self.requests_made.append((method, url))
            try:
                response = self.http.request(
                    method, url, json=json, headers=headers, allow_redirects=False
                )
            except requests.RequestException as exc:
                raise GitHubApiError(
                    f"{method} {self._redact(url)}: {self._redact(type(exc).__name__)}"
                ) from None  # SECURITY: the chained exception could carry request headers
            # NOTE: HttpClient already retried 429 and 5xx; GitHub also rate-limits with 403.
            if response.status_code == 403 and attempt < self.rate_limit_retries:
                delay = rate_limit_delay(response, getattr(self.http, "clock", time.time)())
                if delay is not None:
                    self.http.sleep(delay)
                    attempt += 1
                    continue
            if 200 <= response.status_code < 300:
                return response
            said = self._redact(_api_message(response))
            raise GitHubApiError(
                f"{method} {self._redact(url)}: HTTP {response.status_code}: {said}",
                status=response.status_code,
                api_message=f"HTTP {response.status_code}: {said}",
            )

    def _json(self, response: requests.Response) -> Any:
        try:
            return loads_json_strict(response.content)
        except ValueError as exc:
            raise GitHubApiError(
                f"{self._redact(response.url)}: the API answered with invalid JSON: {exc}"
            ) from None

    # -- endpoints ------------------------------------------------------------------------

    def create_status(
        self, sha: str, *, state: str, description: str, context: str, target_url: str | None = None
    ) -> None:
        body: dict[str, Any] = {
            "state": state,
            "context": context,
            "description": description[:140],
        }
        if target_url:
            body["target_url"] = target_url
        self.request("POST", self._url(f"/statuses/{sha}"), json=body)

    def create_check_run(
        self,
        *,
        name: str,
        head_sha: str,
        details_url: str | None = None,
        external_id: str | None = None,
    ) -> int:
        body: dict[str, Any] = {"name": name, "head_sha": head_sha, "status": "in_progress"}
        if details_url:
            body["details_url"] = details_url
        if external_id:
            body["external_id"] = external_id
        data = self._json(self.request("POST", self._url("/check-runs"), json=body))
        run_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(run_id, int) or isinstance(run_id, bool):
            raise GitHubApiError("the check-runs API answered without a numeric id")
        return run_id

    def complete_check_run(
        self,
        run_id: int,
        *,
        conclusion: str,
        title: str,
        summary: str,
        text: str,
        annotations: list[dict[str, Any]],
    ) -> int:
        """Send the output and annotations in batches of 50, completing with the last batch.

        Returns the number of PATCH requests made.
        """
        batches = [
            annotations[i : i + ANNOTATIONS_PER_REQUEST]
            for i in range(0, len(annotations), ANNOTATIONS_PER_REQUEST)
        ] or [[]]
        output = {"title": title[:255], "summary": summary[:65535], "text": text[:65535]}
        for i, batch in enumerate(batches):
            body: dict[str, Any] = {"output": {**output, "annotations": batch}}
            if i == len(batches) - 1:
                body["status"] = "completed"
                body["conclusion"] = conclusion
            self.request("PATCH", self._url(f"/check-runs/{run_id}"), json=body)
        return len(batches)

    def list_reviews(self, number: int) -> list[dict[str, Any]]:
        """Every review of pull request ``number``, following ``Link: rel="next"`` pages."""
        return list(self._paginate(self._url(f"/pulls/{number}/reviews?per_page=100")))

    def list_pull_commits(self, number: int) -> list[dict[str, Any]]:
        """The commits of pull request ``number`` (at most ``MAX_PULL_COMMITS``, GitHub's cap)."""
        return list(self._paginate(self._url(f"/pulls/{number}/commits?per_page=100")))

    def _paginate(self, url: str | None) -> Iterator[dict[str, Any]]:
        pages = 0
        while url:
            pages += 1
            if pages > MAX_PAGES:
                raise GitHubApiError(f"more than {MAX_PAGES} pages of results; refusing to go on")
            response = self.request("GET", url)
            data = self._json(response)
            if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
                raise GitHubApiError(f"{self._redact(url)}: expected a JSON list of objects")
            yield from data
            url = next_link(response.headers)


def commit_verifications(raw_commits: list[dict[str, Any]]) -> list[ForgeVerification]:
    """GitHub's verdict on each commit's signature, from the pull-request commits API.

    Each item's ``commit.verification`` holds ``verified`` (a boolean) and ``reason``
    (``valid``, ``unsigned``, ``unknown_key``, ``invalid``, ``bad_email``, ...). Unknown
    fields are ignored (a foreign format); an item without a well-formed sha, a boolean
    ``verified`` and a string ``reason`` says nothing and is left out, so a commit it
    covers is judged by the local verification alone.
    """
    out: dict[str, ForgeVerification] = {}
    for item in raw_commits:
        sha = item.get("sha")
        commit = item.get("commit")
        verification = commit.get("verification") if isinstance(commit, dict) else None
        if not isinstance(sha, str) or not _SHA.match(sha) or not isinstance(verification, dict):
            continue
        verified, reason = verification.get("verified"), verification.get("reason")
        if isinstance(verified, bool) and isinstance(reason, str) and reason:
            out[sha] = ForgeVerification(sha=sha, verified=verified, reason=reason[:64])
    return [out[sha] for sha in sorted(out)]


def next_link(headers: Mapping[str, str]) -> str | None:
    for part in headers.get("Link", "").split(","):
        match = _LINK_NEXT.search(part)
        if match:
            return match.group(1)
    return None


def _api_message(response: requests.Response) -> str:
    try:
        data = loads_json_strict(response.content[:65536])
    except ValueError:
        return response.reason or "no message"
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])[:500]
    return response.reason or "no message"


__all__ = [
    "ANNOTATIONS_PER_REQUEST",
    "DEFAULT_API_URL",
    "MAX_PULL_COMMITS",
    "GitHubApiError",
    "GitHubClient",
    "commit_verifications",
    "next_link",
    "rate_limit_delay",
]
