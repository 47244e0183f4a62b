"""Advisories of GitHub Actions from an offline OSV database (``--osv-db``).

OSV publishes advisories for actions under the ecosystem ``GitHub Actions`` (package name
``owner/repo``, versions as the action's release tags without the ``v``). The database given
with ``--osv-db`` (a directory or zip of OSV JSON records, the same one ``deps`` reads) is
scanned once for records of that ecosystem; the few found are kept in the OSV cache keyed by
the database's digest, so later runs read a small file.

A ``uses:`` is matched by its exact version: a tag such as ``@v1.2.3``, or a commit pin with
its version in the comment after it (``@<sha> # v1.2.3``). A moving major tag (``@v1``)
names no single version offline and is not matched (the documentation says so).
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekeeper._fileio import atomic_write
from gatekeeper.deps.osv import advisory_of, parse_record
from gatekeeper.deps.osv.database import db_digest
from gatekeeper.deps.osv.source import OsvDatabaseError

ECOSYSTEM = "GitHub Actions"
_MARKER = b'"GitHub Actions"'
MAX_RECORD_BYTES = 4 * 1024 * 1024
_VERSION = re.compile(r"^v?(\d+(?:\.\d+){1,3})(?:[-+].*)?$")


@dataclass(frozen=True)
class ActionAdvisory:
    id: str
    aliases: tuple[str, ...]
    summary: str
    severity: str
    package: str  # owner/repo, lower-cased
    ranges: tuple[tuple[tuple[str, str], ...], ...]  # each range: its (kind, version) events
    versions: tuple[str, ...]


def _records(path: Path) -> Iterator[bytes]:
    """Bytes of the records that mention the ecosystem. SECURITY: no symlink is followed and
    every read is bounded."""
    if path.is_file():
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise OsvDatabaseError(f"{path}: not a zip of OSV records: {exc}") from exc
        with archive:
            for member in archive.infolist():
                if member.filename.endswith(".json") and member.file_size <= MAX_RECORD_BYTES:
                    with archive.open(member) as handle:
                        data = handle.read(MAX_RECORD_BYTES)
                    if _MARKER in data:
                        yield data
        return
    for root, dirs, files in os.walk(path, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            if not name.endswith(".json") or os.path.islink(full):
                continue
            with open(full, "rb") as handle:
                data = handle.read(MAX_RECORD_BYTES)
            if _MARKER in data:
                yield data


def _extract(path: Path) -> list[dict[str, Any]]:
    out = []
    for data in _records(path):
        record = parse_record(str(path), data)
        if record.withdrawn:
            continue
        advisory = advisory_of(record)
        for affected in record.affected:
            if affected.package is None or affected.package.ecosystem != ECOSYSTEM:
                continue
            out.append(
                {
                    "id": advisory.id,
                    "aliases": list(advisory.aliases),
                    "summary": advisory.summary,
                    "severity": advisory.severity,
                    "package": affected.package.name.lower(),
                    "ranges": [
                        [[k, getattr(e, k)] for e in r.events for k in _KINDS if getattr(e, k)]
                        for r in affected.ranges
                        if r.type in ("ECOSYSTEM", "SEMVER")
                    ],
                    "versions": list(affected.versions),
                }
            )
    return sorted(out, key=lambda a: (a["package"], a["id"]))


_KINDS = ("introduced", "fixed", "last_affected", "limit")


def load_advisories(db: Path, cache: Path | None) -> list[ActionAdvisory]:
    """The GitHub Actions advisories of ``db``, through the cache when there is one.

    Raises:
        OsvDatabaseError: the database is missing, unreadable or holds an invalid record.
    """
    digest = db_digest(db)
    cached = cache / f"github-actions-{digest}.json" if cache is not None else None
    raw: list[dict[str, Any]] | None = None
    if cached is not None and cached.is_file() and not cached.is_symlink():
        try:
            raw = json.loads(cached.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = None  # NOTE: a damaged cache is rebuilt, never trusted
    if raw is None:
        raw = _extract(db)
        if cached is not None:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(cached, json.dumps(raw, sort_keys=True).encode())
            except OSError:
                pass  # NOTE: a cache that cannot be written only costs time
    return [
        ActionAdvisory(
            id=a["id"],
            aliases=tuple(a["aliases"]),
            summary=a["summary"],
            severity=a["severity"],
            package=a["package"],
            ranges=tuple(tuple((k, v) for k, v in r) for r in a["ranges"]),
            versions=tuple(a["versions"]),
        )
        for a in raw
    ]


def version_key(text: str) -> tuple[int, ...] | None:
    """``v1.2.3`` / ``1.2`` as a tuple of four numbers; None for anything else."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    parts = [int(p) for p in match.group(1).split(".")]
    return tuple(parts + [0] * (4 - len(parts)))


def affects(advisory: ActionAdvisory, version: str) -> bool:
    """Whether the exact ``version`` falls in the advisory's versions or ranges."""
    target = version_key(version)
    if target is None:
        return False
    listed = {version_key(v) for v in advisory.versions}
    if target in listed:
        return True
    for events in advisory.ranges:
        if _in_range(target, events):
            return True
    return False


def _in_range(target: tuple[int, ...], events: tuple[tuple[str, str], ...]) -> bool:
    """OSV's walk over a range's events, in version order."""
    keyed = []
    for kind, value in events:
        key = (0, 0, 0, 0) if value == "0" else version_key(value)
        if key is None:
            return False  # NOTE: a version we cannot order is not guessed at
        keyed.append((key, kind))
    affected = False
    for key, kind in sorted(keyed, key=lambda e: (e[0], e[1] != "introduced")):
        if kind == "limit":
            continue
        if key > target:
            break
        if kind == "introduced":
            affected = True
        elif kind == "fixed" or (kind == "last_affected" and target > key):
            affected = False
    return affected


def exact_version(ref: str, comment: str | None) -> str | None:
    """The exact release a ``uses:`` names: its tag, or a commit pin's version comment."""
    if version_key(ref) is not None and ref.count(".") >= 1:
        return ref
    if comment:
        for word in comment.replace(",", " ").replace("tag=", " ").split():
            if version_key(word) is not None and word.count(".") >= 1:
                return word
    return None


__all__ = ["ECOSYSTEM", "ActionAdvisory", "affects", "exact_version", "load_advisories"]
