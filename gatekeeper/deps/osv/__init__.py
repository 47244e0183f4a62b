"""Matching resolved packages against OSV advisories: an offline database or the OSV API.

Two sources implement one interface (``source.OsvSource``: ``query`` per package, a
batching ``query_all``, ``OsvError`` and its two kinds): ``database.OsvDatabase`` for
``--osv-db`` (a directory or zip of OSV records, indexed once into SQLite) and
``api.OsvApi`` for ``--osv-api`` (``/v1/querybatch`` then ``/v1/vulns/{id}``). An
unreachable API is an error unless ``--osv-offline-ok``, and then the evidence notes say
"OSV API not consulted". ``matching`` holds the OSV semantics both share (ranges,
severity, aliases); withdrawn advisories are ignored.

Usage::

    from gatekeeper.deps.osv import OsvDatabase
    with OsvDatabase(Path("osv/"), cache_root) as source:
        vulnerabilities, notes = source.query_all(packages)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from gatekeeper.deps.osv.database import (
    OsvDatabase,
    OsvIndex,
    open_index,
    parse_record,
)
from gatekeeper.deps.osv.matching import (
    Advisory,
    advisory_of,
    compact_affected,
    fixed_versions,
    is_affected,
    merge_hits,
)
from gatekeeper.deps.osv.source import (
    Matches,
    OsvApiError,
    OsvDatabaseError,
    OsvError,
    OsvSource,
)
from gatekeeper.models.deps import Package, Vulnerability
from gatekeeper.models.options import AuditOptions

__all__ = [
    "DEFAULT_API_URL",
    "Advisory",
    "Matches",
    "OsvApiError",
    "OsvDatabase",
    "OsvDatabaseError",
    "OsvError",
    "OsvIndex",
    "OsvSource",
    "advisory_of",
    "compact_affected",
    "fixed_versions",
    "is_affected",
    "match_packages",
    "merge_hits",
    "open_index",
    "parse_record",
]

DEFAULT_API_URL = "https://api.osv.dev"


def _cache_root(options: AuditOptions) -> Path:
    if options.osv_cache:
        return options.osv_cache
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gatekeeper" / "osv"


@dataclass
class _Found:
    vulnerabilities: list[Vulnerability] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # the description of each source asked


def _coverage_notes(packages: list[Package], consulted: bool, noted: bool) -> list[str]:
    """What the matching could not cover: unpinned entries, or no source at all."""
    unversioned = sum(1 for p in packages if p.version is None)
    if consulted and unversioned:
        return [
            f"OSV: {unversioned} entr{'y' if unversioned == 1 else 'ies'} without one "
            "exact version could not be matched (see deps/unpinned)"
        ]
    if not consulted and not noted and any(p.version for p in packages):
        return [
            "OSV not consulted: no --osv-db or --osv-api given, "
            "so deps/known-vulnerability was not evaluated"
        ]
    return []


def _ordered(vulns: list[Vulnerability]) -> list[Vulnerability]:
    unique = {(v.file, v.line, v.name, v.version, v.id): v for v in vulns}
    return [unique[k] for k in sorted(unique)]


def _ask(source: OsvSource, pinned: list[Package], found: _Found) -> None:
    answer = source.query_all(pinned)
    found.vulnerabilities.extend(answer.vulnerabilities)
    found.notes.extend(answer.notes)
    found.sources.append(source.description)


def _ask_api(
    url: str, cache_root: Path, retries: int, offline_ok: bool, pinned: list[Package], found: _Found
) -> None:
    """Raises OsvApiError: the API cannot answer, unless ``offline_ok`` (then a note)."""
    from gatekeeper.deps.osv.api import OsvApi  # NOTE: offline runs never load requests

    try:
        with OsvApi(url, cache_root, retries=retries) as api:
            _ask(api, pinned, found)
    except OsvApiError as exc:
        if not offline_ok:
            raise
        found.notes.append(f"OSV API not consulted: {exc}")


def match_packages(
    packages: list[Package],
    options: AuditOptions,
) -> tuple[list[Vulnerability], str | None, list[str]]:
    """Vulnerabilities of ``packages`` by the OSV sources the options name.

    Returns (vulnerabilities, source description, notes). No source: no matching and a note.

    Raises:
        OsvDatabaseError: the offline database is missing or corrupt.
        OsvApiError: the API is unreachable (unless ``osv_offline_ok``).
    """
    if options.osv_skip:
        return [], None, []  # a caller that does not audit (``sbom``) asked for no matching
    cache_root = _cache_root(options)
    pinned = [p for p in packages if p.version is not None]
    found = _Found()
    if options.osv_db:
        with OsvDatabase(options.osv_db, cache_root) as database:
            _ask(database, pinned, found)
    if options.osv_api or options.osv_api_url:
        url = options.osv_api_url or DEFAULT_API_URL
        retries = options.osv_api_retries
        _ask_api(url, cache_root, retries, options.osv_offline_ok, pinned, found)
    found.notes.extend(_coverage_notes(packages, bool(found.sources), bool(found.notes)))
    return _ordered(found.vulnerabilities), " ".join(found.sources) or None, found.notes
