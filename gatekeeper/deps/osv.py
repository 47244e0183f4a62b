"""Matching resolved packages against OSV advisories: an offline database or the OSV API.

Offline: ``--osv-db`` names a directory of OSV JSON records (searched recursively) or a zip
of them (the ``all.zip`` layout published per ecosystem). The first run indexes it into an
SQLite file in the cache directory, keyed by the database's digest (a zip's sha256; for a
directory, the sha256 of every record's path, size and mtime), written atomically; later
runs on the same database read only the index rows of the packages they look up.

Online: ``--osv-api`` posts ``/v1/querybatch`` (1000 queries per batch, following
``next_page_token``) and fetches each advisory once from ``/v1/vulns/{id}``, cached on disk by
id and ``modified``. An unreachable API is an error unless ``--osv-offline-ok``, and then the
evidence notes say "OSV API not consulted".

Matching follows the OSV schema: ECOSYSTEM ranges compare by the ecosystem's order,
SEMVER ranges by SemVer 2.0.0, GIT ranges are ignored (noted); ``introduced`` / ``fixed`` /
``last_affected`` / ``limit`` events and explicit ``versions``; withdrawn advisories are
ignored; advisories that alias each other are merged into one finding.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import tempfile
import urllib.parse
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from gatekeeper._fileio import loads_json_strict
from gatekeeper.deps.common import normalize_name
from gatekeeper.deps.cvss import base_score, severity_of_score
from gatekeeper.deps.versions import UnparseableVersion, semver_key, version_key
from gatekeeper.errors import CollectionError, InvalidInput
from gatekeeper.models.deps import Package, Vulnerability
from gatekeeper.models.options import AuditOptions
from gatekeeper.models.osv import OsvAffected, OsvRecord

if TYPE_CHECKING:
    from gatekeeper._http import HttpClient

__all__ = ["OsvIndex", "is_affected", "match_packages", "open_index", "query_api"]

ECOSYSTEMS = frozenset({"PyPI", "npm", "Go", "crates.io", "RubyGems", "Maven"})
INDEX_SCHEMA = "5"
MATCH_LOGIC = "1"  # bump whenever is_affected / fixed_versions change meaning
MAX_RECORD_BYTES = 16 * 1024 * 1024
MAX_MEMBERS = 2_000_000
API_BATCH = 1000
_LOOKUP_BATCH = 500
DEFAULT_API_URL = "https://api.osv.dev"
_DB_SEVERITY = {
    "low": "low",
    "moderate": "medium",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}


# ------------------------------------------------------------------ advisories


@dataclass(frozen=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]
    summary: str
    severity: str
    score: float | None
    vector: str | None


def advisory_of(record: OsvRecord) -> Advisory:
    """The fields of a record a finding needs, with its severity computed.

    Severity: the highest CVSS v3/v4 base score among the record's (and its affected
    entries') vectors; else the database's own severity (GHSA's LOW/MODERATE/HIGH/CRITICAL);
    else ``high``.
    """
    best: tuple[float, str] | None = None
    vectors = list(record.severity)
    for affected in record.affected:
        vectors.extend(affected.severity)
    for sev in vectors:
        if sev.type not in ("CVSS_V3", "CVSS_V4"):
            continue
        try:
            score = base_score(sev.score)
        except ValueError:
            continue  # NOTE: a malformed vector falls through to the next source of severity
        if score is not None and (best is None or score > best[0]):
            best = (score, sev.score)
    if best is not None:
        label = severity_of_score(best[0])
        return Advisory(record.id, tuple(record.aliases), record.summary, label, best[0], best[1])
    db = record.database_specific or {}
    raw = db.get("severity") if isinstance(db, dict) else None
    for affected in record.affected:
        if raw is None and isinstance(affected.database_specific, dict):
            raw = affected.database_specific.get("severity")
    label = _DB_SEVERITY.get(str(raw).lower(), "high") if raw else "high"
    return Advisory(record.id, tuple(record.aliases), record.summary, label, None, None)


def compact_affected(affected: OsvAffected) -> dict[str, Any]:
    """The matching-relevant part of an affected entry, as stored in the index.

    Events of ECOSYSTEM/SEMVER ranges are sorted here once, in the ecosystem's order
    (``"sorted": true``), so that matching walks them without sorting; a range whose
    versions do not parse is stored as written and evaluated (and noted) at match time.
    """
    ecosystem = affected.package.ecosystem if affected.package else ""
    ranges = []
    for rng in affected.ranges:
        events = [
            [k, getattr(e, k)]
            for e in rng.events
            for k in ("introduced", "fixed", "last_affected", "limit")
            if getattr(e, k) is not None
        ]
        entry: dict[str, Any] = {"type": rng.type, "events": events}
        if rng.type in ("ECOSYSTEM", "SEMVER") and ecosystem in ECOSYSTEMS:
            try:
                entry["events"] = _sorted_events(rng.type, ecosystem, events)
                entry["sorted"] = True
            except UnparseableVersion:
                pass  # NOTE: evaluated at match time, where the failure becomes a note
        ranges.append(entry)
    return {"ranges": ranges, "versions": list(affected.versions)}


def _sorted_events(rtype: str, ecosystem: str, events: list[list[str]]) -> list[list[str]]:
    """OSV order: ``introduced: "0"`` first, then by version; limits last."""
    zero = [e for e in events if e[0] == "introduced" and e[1] == "0"]
    limits = [e for e in events if e[0] == "limit"]
    rest = [e for e in events if e not in zero and e[0] != "limit"]
    rest.sort(key=lambda e: _range_key(rtype, ecosystem, e[1]))
    return zero + rest + limits


def _range_key(range_type: str, ecosystem: str, version: str) -> Any:
    if range_type == "SEMVER":
        return semver_key(version[1:] if version.startswith("v") else version)
    if ecosystem == "Go" and not version.startswith("v"):
        version = f"v{version}"
    return version_key(ecosystem, version)


def is_affected(
    ecosystem: str, version: str, affected: Mapping[str, Any], notes: set[str] | None = None
) -> bool:
    """Whether ``version`` falls in an affected entry's versions or ranges (OSV semantics).

    A range whose versions do not parse is skipped with a note; GIT ranges are skipped.
    """
    versions = affected.get("versions") or []
    if version in versions or (ecosystem == "Go" and version.removeprefix("v") in versions):
        return True
    for rng in affected.get("ranges") or []:
        rtype = rng.get("type")
        if rtype == "GIT":
            if notes is not None:
                notes.add(
                    "OSV GIT ranges are not evaluated (commit ranges need the source "
                    "repository); ECOSYSTEM/SEMVER ranges and versions lists are"
                )
            continue
        if rtype not in ("ECOSYSTEM", "SEMVER"):
            continue
        try:
            target = _range_key(rtype, ecosystem, version)
            if _in_range(
                rtype, ecosystem, target, rng.get("events") or [], bool(rng.get("sorted"))
            ):
                return True
        except UnparseableVersion as exc:
            if notes is not None:
                notes.add(f"an OSV range was not evaluated for {ecosystem} {version}: {exc}")
    return False


def _in_range(
    rtype: str, ecosystem: str, target: Any, events: list[list[str]], presorted: bool = False
) -> bool:
    """Walk the events in OSV order; raises UnparseableVersion for an unparseable event."""
    if not presorted:
        events = _sorted_events(rtype, ecosystem, events)
    affected = False
    limits: list[Any] = []
    for kind, value in events:
        if kind == "limit":
            limits.append(_range_key(rtype, ecosystem, value))
            continue
        if kind == "introduced" and value == "0":
            affected = True
            continue
        key = _range_key(rtype, ecosystem, value)
        if key > target:
            # Sorted ascending: no later event can change the answer (limits are last).
            if any(k == "limit" for k, _ in events):
                limits = [_range_key(rtype, ecosystem, v) for k, v in events if k == "limit"]
            break
        if kind == "introduced":
            affected = True
        elif kind == "fixed":
            affected = False
        elif kind == "last_affected" and target > key:
            affected = False
    if affected and limits and all(target >= lim for lim in limits):
        return False
    return affected


def fixed_versions(affected: Mapping[str, Any]) -> list[str]:
    return sorted(
        {v for r in affected.get("ranges") or [] for k, v in r.get("events") or [] if k == "fixed"}
    )


# ------------------------------------------------------------------ the offline database


def _cache_root(options: AuditOptions) -> Path:
    if options.osv_cache:
        return options.osv_cache
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gatekeeper" / "osv"


def db_digest(path: Path) -> str:
    """A digest that changes whenever the database does.

    Raises:
        InvalidInput: the path is missing or unreadable.
    """
    digest = hashlib.sha256()
    if path.is_file():
        try:
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as exc:
            raise InvalidInput(f"{path}: cannot read the OSV database: {exc.strerror}") from exc
        return f"zip-{digest.hexdigest()}"
    if not path.is_dir():
        raise InvalidInput(f"{path}: no such OSV database (a directory or zip of OSV JSON)")
    for rel, size, mtime_ns in _json_files(path):
        digest.update(f"{rel}\0{size}\0{mtime_ns}\n".encode())
    return f"dir-{digest.hexdigest()}"


def _json_files(root: Path) -> list[tuple[str, int, int]]:
    """(relative POSIX path, size, mtime_ns) of every regular ``*.json`` file, sorted.

    SECURITY: symlinks (to files or directories) are neither followed nor read.
    """
    out: list[tuple[str, int, int]] = []
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as entries:
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if entry.is_dir(follow_symlinks=False):
                    stack.append(rel)
                elif entry.name.endswith(".json") and entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    out.append((rel, info.st_size, info.st_mtime_ns))
    out.sort()
    return out


def _records(path: Path) -> Iterator[tuple[str, bytes]]:
    """(member name, bytes) of every JSON record in a directory or zip.

    Raises:
        InvalidInput: not a zip, too many members, or a member too large.
    """
    if path.is_dir():
        for rel, _size, _mtime in _json_files(path):
            with open(path / rel, "rb") as handle:
                data = handle.read(MAX_RECORD_BYTES + 1)
            if len(data) > MAX_RECORD_BYTES:
                raise InvalidInput(f"{path / rel}: OSV record larger than {MAX_RECORD_BYTES} bytes")
            yield rel, data
        return
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(f"{path}: not a zip of OSV records: {exc}") from exc
    with archive:
        members = [m for m in archive.infolist() if m.filename.endswith(".json") and not m.is_dir()]
        if len(members) > MAX_MEMBERS:
            raise InvalidInput(f"{path}: more than {MAX_MEMBERS} members")
        for member in sorted(members, key=lambda m: m.filename):
            # SECURITY: the declared size is checked and the read is bounded (zip bombs).
            if member.file_size > MAX_RECORD_BYTES:
                raise InvalidInput(
                    f"{path}: {member.filename}: larger than {MAX_RECORD_BYTES} bytes"
                )
            try:
                with archive.open(member) as handle:
                    data = handle.read(MAX_RECORD_BYTES + 1)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise InvalidInput(f"{path}: {member.filename}: corrupt member: {exc}") from exc
            yield member.filename, data


def parse_record(where: str, data: bytes) -> OsvRecord:
    """Raises InvalidInput naming ``where`` when the bytes are not one OSV record."""
    try:
        return OsvRecord.model_validate(loads_json_strict(data))
    except (ValueError, ValidationError) as exc:
        raise InvalidInput(f"{where}: not a valid OSV record: {str(exc).splitlines()[0]}") from exc


def build_index(db: Path, target: Path, digest: str) -> int:
    """Index every record of ``db`` into the SQLite file ``target`` (atomically). Returns count.

    Raises:
        InvalidInput: the database is empty, corrupt, or holds a malformed record.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".osv-index-", suffix=".tmp", dir=target.parent)
    os.close(fd)
    count = 0
    try:
        conn = sqlite3.connect(tmp)
        try:
            conn.executescript(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                # One row per (advisory, affected package): the advisory's fields and the
                # affected entry's ranges, so a lookup is one indexed read, no join.
                "CREATE TABLE affects (ecosystem TEXT NOT NULL, name TEXT NOT NULL,"
                " id TEXT NOT NULL, advisory TEXT NOT NULL, affected TEXT NOT NULL);"
            )
            affects: list[tuple[str, str, str, str, str]] = []
            for member, data in _records(db):
                count += 1
                record = parse_record(f"{db}: {member}" if db.is_file() else str(db / member), data)
                if record.withdrawn:
                    continue
                adv = advisory_of(record)
                head = json.dumps(
                    [adv.id, list(adv.aliases), adv.summary, adv.severity, adv.score, adv.vector]
                )
                for affected in record.affected:
                    pkg = affected.package
                    if pkg is None or pkg.ecosystem not in ECOSYSTEMS or not pkg.name:
                        continue
                    affects.append(
                        (
                            pkg.ecosystem,
                            normalize_name(pkg.ecosystem, pkg.name),
                            record.id,
                            head,
                            json.dumps(compact_affected(affected)),
                        )
                    )
                if len(affects) > 50_000:
                    conn.executemany("INSERT INTO affects VALUES (?,?,?,?,?)", affects)
                    affects.clear()
            if count == 0:
                raise InvalidInput(f"{db}: contains no OSV records (*.json)")
            conn.executemany("INSERT INTO affects VALUES (?,?,?,?,?)", affects)
            conn.execute("CREATE INDEX affects_pkg ON affects (ecosystem, name)")
            meta = [("digest", digest), ("schema", INDEX_SCHEMA), ("records", str(count))]
            conn.executemany("INSERT INTO meta VALUES (?,?)", meta)
            conn.commit()
        finally:
            conn.close()
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return count


class OsvIndex:
    """Read-only access to an indexed database."""

    def __init__(self, path: Path, digest: str) -> None:
        self.path = path
        self.digest = digest
        self.conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("digest") != digest or meta.get("schema") != INDEX_SCHEMA:
            self.conn.close()
            raise sqlite3.DatabaseError("index does not belong to this database")
        self._heads: dict[str, str] = {}

    def lookup(self, ecosystem: str, name: str) -> list[tuple[str, dict[str, Any]]]:
        return self.lookup_many([(ecosystem, name)]).get((ecosystem, name), [])

    def lookup_many(
        self,
        keys: Iterable[tuple[str, str]],
    ) -> dict[tuple[str, str], list[tuple[str, dict[str, Any]]]]:
        """(advisory id, affected entry) of each (ecosystem, name), in a few batched reads.

        The advisory's own fields are parsed only for the entries that match (``advisory``).
        """
        by_eco: dict[str, list[str]] = {}
        for eco, name in sorted(set(keys)):
            by_eco.setdefault(eco, []).append(name)
        out: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
        for eco, names in by_eco.items():
            for start in range(0, len(names), _LOOKUP_BATCH):
                chunk = names[start : start + _LOOKUP_BATCH]
                marks = ",".join("?" * len(chunk))
                rows = self.conn.execute(
                    "SELECT name, id, advisory, affected FROM affects "  # noqa: S608 - placeholders only
                    f"WHERE ecosystem = ? AND name IN ({marks})",
                    (eco, *chunk),
                ).fetchall()
                for name, adv_id, head, data in rows:
                    self._heads.setdefault(adv_id, head)
                    out.setdefault((eco, name), []).append((adv_id, json.loads(data)))
        for hits in out.values():
            hits.sort(key=lambda hit: hit[0])
        return out

    def head(self, adv_id: str) -> str:
        """The advisory's own fields (JSON) of an id returned by ``lookup_many``."""
        return self._heads[adv_id]

    def close(self) -> None:
        self.conn.close()


def open_index(db: Path, cache_root: Path) -> tuple[OsvIndex, bool]:
    """The index of ``db``, built if the cache lacks it. Returns (index, built_now).

    Raises:
        InvalidInput: the database is missing, empty or corrupt.
    """
    digest = db_digest(db)
    target = cache_root / f"index-{digest}.sqlite"
    if target.is_file():
        try:
            return OsvIndex(target, digest), False
        except sqlite3.DatabaseError:
            pass  # NOTE: a damaged cache is rebuilt from the database, never trusted
    build_index(db, target, digest)
    try:
        return OsvIndex(target, digest), True
    except sqlite3.DatabaseError as exc:
        raise CollectionError(f"{target}: freshly built OSV index unreadable: {exc}") from exc


# ------------------------------------------------------------------ matching


@dataclass
class _Hit:
    advisories: list[Advisory] = field(default_factory=list)
    fixed: set[str] = field(default_factory=set)


def merge_hits(pkg: Package, hits: Iterable[tuple[Advisory, list[str]]]) -> list[Vulnerability]:
    """One vulnerability per group of advisories that alias each other."""
    groups: list[tuple[set[str], _Hit]] = []
    for adv, fixed in hits:
        ids = {adv.id, *adv.aliases}
        merged_ids, merged = set(ids), _Hit([adv], set(fixed))
        rest = []
        for group_ids, hit in groups:
            if group_ids & merged_ids:
                merged_ids |= group_ids
                merged.advisories.extend(hit.advisories)
                merged.fixed |= hit.fixed
            else:
                rest.append((group_ids, hit))
        groups = [*rest, (merged_ids, merged)]
    out = []
    rank = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
    for ids, hit in groups:
        # The primary id is a record's own id, preferring GHSA, then others, CVE last.
        own = sorted(
            {a.id for a in hit.advisories},
            key=lambda i: (not i.startswith("GHSA-"), i.startswith("CVE-"), i),
        )
        primary = own[0]
        worst = max(hit.advisories, key=lambda a: (rank[a.severity], a.score or 0.0, a.id))
        summary = next(
            (a.summary for a in sorted(hit.advisories, key=lambda a: a.id) if a.summary), ""
        )
        out.append(
            Vulnerability(
                id=primary,
                aliases=sorted(ids - {primary}),
                summary=summary,
                ecosystem=pkg.ecosystem,
                name=pkg.name,
                version=pkg.version or "",
                purl=pkg.purl,
                file=pkg.file,
                line=pkg.line,
                severity=worst.severity,
                score=worst.score,
                vector=worst.vector,
                fixed=sorted(hit.fixed),
            )
        )
    return out


@functools.lru_cache(maxsize=65536)
def _advisory_of_head(head: str) -> Advisory:
    fields = json.loads(head)
    return Advisory(fields[0], tuple(fields[1]), *fields[2:6])


class MatchMemo:
    """(ecosystem, name, version) -> the advisories that affect it, for one index.

    Matching the same lockfiles against the same database gives the same answer, so a warm
    run reads these rows instead of re-evaluating every range. The file name carries the
    index digest and the versions of the index and of the matching logic, so a memo never
    outlives what it was computed from.

    SECURITY: the memo lives beside the index in the user's cache directory and is trusted
    exactly as much as the index. It only saves time: a memo that cannot be opened, read or
    written is bypassed (and a damaged one replaced), never allowed to turn into an answer.
    """

    def __init__(self, path: Path) -> None:
        self.conn: sqlite3.Connection | None = None
        for _attempt in range(2):
            conn: sqlite3.Connection | None = None
            try:
                conn = sqlite3.connect(path, timeout=2.0)
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS memo (k TEXT PRIMARY KEY, v TEXT NOT NULL)"
                )
                self.conn = conn
                return
            except sqlite3.DatabaseError:
                if conn is not None:
                    conn.close()
                with contextlib.suppress(OSError):
                    path.unlink()  # NOTE: damaged memo: start a new one

    @staticmethod
    def key(ecosystem: str, name: str, version: str) -> str:
        return f"{ecosystem}\0{name}\0{version}"

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        if self.conn is None:
            return {}
        out: dict[str, Any] = {}
        try:
            for start in range(0, len(keys), _LOOKUP_BATCH):
                chunk = keys[start : start + _LOOKUP_BATCH]
                rows = self.conn.execute(
                    f"SELECT k, v FROM memo WHERE k IN ({','.join('?' * len(chunk))})",  # noqa: S608 - placeholders only
                    chunk,
                ).fetchall()
                out.update((k, json.loads(v)) for k, v in rows)
        except (sqlite3.DatabaseError, ValueError):
            return {}  # NOTE: unreadable memo: everything is matched afresh
        return out

    def put_many(self, items: dict[str, Any]) -> None:
        if self.conn is None or not items:
            return
        try:
            with self.conn:
                self.conn.executemany(
                    "INSERT OR REPLACE INTO memo VALUES (?, ?)",
                    [(k, json.dumps(v)) for k, v in items.items()],
                )
        except sqlite3.DatabaseError:
            return  # NOTE: busy or read-only cache: the answer stands, it is just not memoised

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def match_index(
    packages: Iterable[Package],
    index: OsvIndex,
    memo: MatchMemo | None = None,
) -> tuple[list[Vulnerability], list[str]]:
    notes: set[str] = set()
    out: list[Vulnerability] = []
    pinned = [p for p in packages if p.version is not None]
    keys = sorted({MatchMemo.key(p.ecosystem, p.name, p.version or "") for p in pinned})
    results = memo.get_many(keys) if memo is not None else {}
    missing = [k.split("\0") for k in keys if k not in results]
    found = index.lookup_many((eco, name) for eco, name, _ in missing)
    fresh: dict[str, Any] = {}
    for eco, name, version in missing:
        key_notes: set[str] = set()
        hits = [
            [index.head(adv_id), fixed_versions(aff)]
            for adv_id, aff in found.get((eco, name), [])
            if is_affected(eco, version, aff, key_notes)
        ]
        fresh[MatchMemo.key(eco, name, version)] = {"h": hits, "n": sorted(key_notes)}
    if memo is not None:
        memo.put_many(fresh)
    results.update(fresh)
    for pkg in pinned:
        result = results[MatchMemo.key(pkg.ecosystem, pkg.name, pkg.version or "")]
        notes.update(result["n"])
        if result["h"]:
            out.extend(
                merge_hits(pkg, [(_advisory_of_head(head), fixed) for head, fixed in result["h"]])
            )
    return out, sorted(notes)


# ------------------------------------------------------------------ the OSV API


def _api_error(url: str, exc: Exception | str) -> str:
    return f"{url}: {exc}"


def query_api(
    packages: list[Package],
    url: str,
    cache_root: Path,
    client: HttpClient,
) -> tuple[list[Vulnerability], list[str]]:
    """Ask the OSV API which advisories affect each pinned package.

    Raises:
        CollectionError: the API is unreachable or answers with an error or malformed JSON.
    """
    url = url.rstrip("/")
    pinned = [p for p in packages if p.version is not None]
    unique = sorted({(p.ecosystem, p.name, p.version or "") for p in pinned})
    ids_by_query: dict[tuple[str, str, str], list[tuple[str, str | None]]] = {}
    for start in range(0, len(unique), API_BATCH):
        batch = unique[start : start + API_BATCH]
        pending: list[tuple[int, str | None]] = [(i, None) for i in range(len(batch))]
        while pending:
            queries = []
            for i, token in pending:
                eco, name, version = batch[i]
                query: dict[str, Any] = {
                    "package": {"ecosystem": eco, "name": name},
                    "version": version,
                }
                if token:
                    query["page_token"] = token
                queries.append(query)
            results = _post_json(client, f"{url}/v1/querybatch", {"queries": queries})
            answers = results.get("results") if isinstance(results, dict) else None
            if not isinstance(answers, list) or len(answers) != len(queries):
                raise CollectionError(_api_error(url, "querybatch answered with a malformed body"))
            next_pending: list[tuple[int, str | None]] = []
            for (i, _), answer in zip(pending, answers, strict=True):
                if not isinstance(answer, dict):
                    raise CollectionError(_api_error(url, "querybatch result is not an object"))
                for vuln in answer.get("vulns") or []:
                    if not isinstance(vuln, dict) or not isinstance(vuln.get("id"), str):
                        raise CollectionError(_api_error(url, "querybatch vuln without an id"))
                    ids_by_query.setdefault(batch[i], []).append((vuln["id"], vuln.get("modified")))
                if answer.get("next_page_token"):
                    next_pending.append((i, str(answer["next_page_token"])))
            pending = next_pending
    records: dict[str, OsvRecord] = {}
    for adv_id, modified in sorted({v for vs in ids_by_query.values() for v in vs}):
        if adv_id not in records:
            records[adv_id] = _fetch_vuln(client, url, adv_id, modified, cache_root)
    out: list[Vulnerability] = []
    notes: set[str] = set()
    for pkg in pinned:
        hits = []
        for adv_id, _ in ids_by_query.get((pkg.ecosystem, pkg.name, pkg.version or ""), []):
            record = records[adv_id]
            if record.withdrawn:
                continue
            fixed: set[str] = set()
            for affected in record.affected:
                if (
                    affected.package
                    and affected.package.ecosystem == pkg.ecosystem
                    and normalize_name(pkg.ecosystem, affected.package.name) == pkg.name
                ):
                    fixed.update(fixed_versions(compact_affected(affected)))
            hits.append((advisory_of(record), sorted(fixed)))
        if hits:
            out.extend(merge_hits(pkg, hits))
    return out, sorted(notes)


def _post_json(client: HttpClient, url: str, body: Any) -> Any:
    import requests

    try:
        response = client.request("POST", url, json=body)
    except requests.RequestException as exc:
        raise CollectionError(_api_error(url, f"unreachable: {type(exc).__name__}")) from exc
    if response.status_code != 200:
        raise CollectionError(_api_error(url, f"HTTP {response.status_code}"))
    try:
        return loads_json_strict(response.content)
    except ValueError as exc:
        raise CollectionError(_api_error(url, f"malformed JSON: {exc}")) from exc


def _fetch_vuln(
    client: HttpClient, url: str, adv_id: str, modified: str | None, cache_root: Path
) -> OsvRecord:
    import requests

    from gatekeeper._fileio import atomic_write

    safe = hashlib.sha256(adv_id.encode()).hexdigest()[:32]
    cache_file = cache_root / "api" / f"{safe}.json"
    if cache_file.is_file():
        try:
            cached = parse_record(str(cache_file), cache_file.read_bytes())
            if cached.id == adv_id and modified is not None and cached.modified == modified:
                return cached
        except InvalidInput:
            pass  # NOTE: a damaged cache entry is fetched again
    target = f"{url}/v1/vulns/{urllib.parse.quote(adv_id, safe='')}"
    try:
        response = client.request("GET", target)
    except requests.RequestException as exc:
        raise CollectionError(_api_error(target, f"unreachable: {type(exc).__name__}")) from exc
    if response.status_code != 200:
        raise CollectionError(_api_error(target, f"HTTP {response.status_code}"))
    try:
        record = parse_record(target, response.content)
    except InvalidInput as exc:
        raise CollectionError(str(exc)) from exc
    if record.id != adv_id:
        raise CollectionError(_api_error(target, f"answered with record {record.id!r}"))
    atomic_write(cache_file, response.content)
    return record


# ------------------------------------------------------------------ entry point


def match_packages(
    packages: list[Package],
    options: AuditOptions,
) -> tuple[list[Vulnerability], str | None, list[str]]:
    """Vulnerabilities of ``packages`` by the OSV source the options name.

    Returns (vulnerabilities, source description, notes). No source: no matching and a note.

    Raises:
        InvalidInput: the offline database is missing or corrupt.
        CollectionError: the API is unreachable (unless ``osv_offline_ok``).
    """
    if options.osv_skip:
        return [], None, []  # a caller that does not audit (``sbom``) asked for no matching
    cache_root = _cache_root(options)
    vulns: list[Vulnerability] = []
    notes: list[str] = []
    sources: list[str] = []
    if options.osv_db:
        index, _ = open_index(options.osv_db, cache_root)
        memo_name = f"matches-{index.digest}-{INDEX_SCHEMA}-{MATCH_LOGIC}.sqlite"
        memo = MatchMemo(cache_root / memo_name)
        try:
            found, match_notes = match_index(packages, index, memo)
        finally:
            memo.close()
            index.close()
        vulns.extend(found)
        notes.extend(match_notes)
        sources.append(f"db:{index.digest}")
    if options.osv_api or options.osv_api_url:
        from gatekeeper._http import HttpClient

        url = options.osv_api_url or DEFAULT_API_URL
        try:
            with HttpClient(retries=options.osv_api_retries) as client:
                found, match_notes = query_api(packages, url, cache_root, client)
        except CollectionError as exc:
            if not options.osv_offline_ok:
                raise
            notes.append(f"OSV API not consulted: {exc}")
        else:
            vulns.extend(found)
            notes.extend(match_notes)
            sources.append(f"api:{url}")
    unversioned = sum(1 for p in packages if p.version is None)
    if sources and unversioned:
        notes.append(
            f"OSV: {unversioned} entr{'y' if unversioned == 1 else 'ies'} without one "
            "exact version could not be matched (see deps/unpinned)"
        )
    if not sources and not notes and any(p.version for p in packages):
        notes.append(
            "OSV not consulted: no --osv-db or --osv-api given, "
            "so deps/known-vulnerability was not evaluated"
        )
    unique = {(v.file, v.line, v.name, v.version, v.id): v for v in vulns}
    ordered = [unique[k] for k in sorted(unique)]
    return ordered, " ".join(sources) or None, notes
