"""The online OSV source: the OSV query API.

``query_all`` posts ``/v1/querybatch`` (1000 queries per batch, following
``next_page_token``) and fetches each advisory once from ``/v1/vulns/{id}``, cached on disk
by id and ``modified``. Every failure (unreachable, an error status, a malformed body, a
record that is not the one asked for) is an ``OsvApiError``.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

from gatekeeper._fileio import atomic_write, loads_json_strict
from gatekeeper._http import HttpClient
from gatekeeper.deps.common import normalize_name
from gatekeeper.deps.osv.database import parse_record
from gatekeeper.deps.osv.matching import (
    Advisory,
    advisory_of,
    compact_affected,
    fixed_versions,
    merge_hits,
)
from gatekeeper.deps.osv.source import Matches, OsvApiError, OsvDatabaseError, OsvSource
from gatekeeper.models.deps import Package, Vulnerability
from gatekeeper.models.osv import OsvRecord

__all__ = ["API_BATCH", "OsvApi"]

API_BATCH = 1000

_Query = tuple[str, str, str]  # (ecosystem, name, version)
_Ids = dict[_Query, list[tuple[str, str | None]]]  # query -> (advisory id, modified)


def _query(query: _Query, token: str | None) -> dict[str, Any]:
    eco, name, version = query
    body: dict[str, Any] = {"package": {"ecosystem": eco, "name": name}, "version": version}
    if token:
        body["page_token"] = token
    return body


class OsvApi(OsvSource):
    """The OSV API at ``url`` (``https://api.osv.dev`` or a mirror)."""

    def __init__(self, url: str, cache_root: Path, *, retries: int = 2) -> None:
        self.base = url.rstrip("/")
        self.cache_root = cache_root
        self.client = HttpClient(retries=retries)
        self.description = f"api:{url}"

    def query(self, package: Package) -> Matches:
        return self.query_all([package])

    def query_all(self, packages: Sequence[Package]) -> Matches:
        """Raises OsvApiError: unreachable, an error answer or a malformed body."""
        pinned = [p for p in packages if p.version is not None]
        ids = self._advisory_ids(sorted({(p.ecosystem, p.name, p.version or "") for p in pinned}))
        records = self._fetch_all(ids)
        out: list[Vulnerability] = []
        for pkg in pinned:
            found = ids.get((pkg.ecosystem, pkg.name, pkg.version or ""), [])
            hits = [_hit(pkg, records[a]) for a, _ in found if not records[a].withdrawn]
            out.extend(merge_hits(pkg, hits))
        return Matches(out, [])

    def close(self) -> None:
        self.client.close()

    # -- querybatch ---------------------------------------------------------------------------

    def _advisory_ids(self, unique: list[_Query]) -> _Ids:
        ids: _Ids = {}
        for start in range(0, len(unique), API_BATCH):
            self._batch(unique[start : start + API_BATCH], ids)
        return ids

    def _batch(self, batch: list[_Query], ids: _Ids) -> None:
        """One batch of queries, page after page until no answer has a next page."""
        pending: list[tuple[int, str | None]] = [(i, None) for i in range(len(batch))]
        while pending:
            answers = self._querybatch([_query(batch[i], token) for i, token in pending])
            next_pending: list[tuple[int, str | None]] = []
            for (i, _), answer in zip(pending, answers, strict=True):
                for vuln in self._vulns(answer):
                    ids.setdefault(batch[i], []).append((vuln["id"], vuln.get("modified")))
                if answer.get("next_page_token"):
                    next_pending.append((i, str(answer["next_page_token"])))
            pending = next_pending

    def _querybatch(self, queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        results = self._post(f"{self.base}/v1/querybatch", {"queries": queries})
        answers = results.get("results") if isinstance(results, dict) else None
        if not isinstance(answers, list) or len(answers) != len(queries):
            raise OsvApiError(f"{self.base}: querybatch answered with a malformed body")
        if not all(isinstance(answer, dict) for answer in answers):
            raise OsvApiError(f"{self.base}: querybatch result is not an object")
        return answers

    def _vulns(self, answer: dict[str, Any]) -> list[dict[str, Any]]:
        vulns = answer.get("vulns") or []
        if not all(isinstance(v, dict) and isinstance(v.get("id"), str) for v in vulns):
            raise OsvApiError(f"{self.base}: querybatch vuln without an id")
        return list(vulns)

    def _post(self, url: str, body: Any) -> Any:
        try:
            response = self.client.request("POST", url, json=body)
        except requests.RequestException as exc:
            raise OsvApiError(f"{url}: unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise OsvApiError(f"{url}: HTTP {response.status_code}")
        try:
            return loads_json_strict(response.content)
        except ValueError as exc:
            raise OsvApiError(f"{url}: malformed JSON: {exc}") from exc

    # -- advisories ---------------------------------------------------------------------------

    def _fetch_all(self, ids: _Ids) -> dict[str, OsvRecord]:
        """Each advisory once (the first ``modified`` seen decides whether the cache holds)."""
        records: dict[str, OsvRecord] = {}
        for adv_id, modified in sorted({v for vs in ids.values() for v in vs}):
            if adv_id not in records:
                records[adv_id] = self._fetch(adv_id, modified)
        return records

    def _cached(self, cache_file: Path, adv_id: str, modified: str | None) -> OsvRecord | None:
        if not cache_file.is_file() or modified is None:
            return None
        try:
            cached = parse_record(str(cache_file), cache_file.read_bytes())
        except OsvDatabaseError:
            return None  # NOTE: a damaged cache entry is fetched again
        return cached if cached.id == adv_id and cached.modified == modified else None

    def _fetch(self, adv_id: str, modified: str | None) -> OsvRecord:
        safe = hashlib.sha256(adv_id.encode()).hexdigest()[:32]
        cache_file = self.cache_root / "api" / f"{safe}.json"
        cached = self._cached(cache_file, adv_id, modified)
        if cached is not None:
            return cached
        target = f"{self.base}/v1/vulns/{urllib.parse.quote(adv_id, safe='')}"
        try:
            response = self.client.request("GET", target)
        except requests.RequestException as exc:
            raise OsvApiError(f"{target}: unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise OsvApiError(f"{target}: HTTP {response.status_code}")
        try:
            record = parse_record(target, response.content)
        except OsvDatabaseError as exc:
            raise OsvApiError(str(exc)) from exc
        if record.id != adv_id:
            raise OsvApiError(f"{target}: answered with record {record.id!r}")
        atomic_write(cache_file, response.content)
        return record


def _hit(pkg: Package, record: OsvRecord) -> tuple[Advisory, list[str]]:
    """The advisory and the fixed versions of the entries naming this package."""
    fixed: set[str] = set()
    for affected in record.affected:
        if (
            affected.package
            and affected.package.ecosystem == pkg.ecosystem
            and normalize_name(pkg.ecosystem, affected.package.name) == pkg.name
        ):
            fixed.update(fixed_versions(compact_affected(affected)))
    return advisory_of(record), sorted(fixed)
