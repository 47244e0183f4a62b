"""The offline OSV source: a directory or zip of OSV records, indexed once into SQLite.

``--osv-db`` names a directory of OSV JSON records (searched recursively) or a zip of them
(the ``all.zip`` layout published per ecosystem). The first run indexes it into an SQLite
file in the cache directory, keyed by the database's digest (a zip's sha256; for a
directory, the sha256 of every record's path, size and mtime), written atomically; later
runs on the same database read only the index rows of the packages they look up. Answers
per (package, version) are memoised beside the index; both files are caches, rebuilt when
damaged, never trusted over the database.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gatekeeper._fileio import loads_json_strict
from gatekeeper.deps.common import normalize_name
from gatekeeper.deps.ecosystem import ECOSYSTEMS
from gatekeeper.deps.osv.matching import (
    Advisory,
    advisory_of,
    compact_affected,
    fixed_versions,
    is_affected,
    merge_hits,
)
from gatekeeper.deps.osv.source import Matches, OsvDatabaseError, OsvSource
from gatekeeper.models.deps import Package, Vulnerability
from gatekeeper.models.osv import OsvAffected, OsvRecord

__all__ = [
    "INDEX_SCHEMA",
    "MATCH_LOGIC",
    "MatchMemo",
    "OsvDatabase",
    "OsvIndex",
    "build_index",
    "db_digest",
    "match_index",
    "open_index",
    "parse_record",
]

INDEX_SCHEMA = "5"
MATCH_LOGIC = "1"  # bump whenever is_affected / fixed_versions change meaning
MAX_RECORD_BYTES = 16 * 1024 * 1024
MAX_MEMBERS = 2_000_000
_LOOKUP_BATCH = 500
_INSERT_BATCH = 50_000
_SCHEMA = (
    "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    # One row per (advisory, affected package): the advisory's fields and the affected
    # entry's ranges, so a lookup is one indexed read, no join.
    "CREATE TABLE affects (ecosystem TEXT NOT NULL, name TEXT NOT NULL,"
    " id TEXT NOT NULL, advisory TEXT NOT NULL, affected TEXT NOT NULL);"
)
_Row = tuple[str, str, str, str, str]


# ------------------------------------------------------------------ reading the database


def db_digest(path: Path) -> str:
    """A digest that changes whenever the database does.

    Raises:
        OsvDatabaseError: the path is missing or unreadable.
    """
    digest = hashlib.sha256()
    if path.is_file():
        try:
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as exc:
            raise OsvDatabaseError(f"{path}: cannot read the OSV database: {exc.strerror}") from exc
        return f"zip-{digest.hexdigest()}"
    if not path.is_dir():
        raise OsvDatabaseError(f"{path}: no such OSV database (a directory or zip of OSV JSON)")
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


def _dir_records(path: Path) -> Iterator[tuple[str, bytes]]:
    for rel, _size, _mtime in _json_files(path):
        with open(path / rel, "rb") as handle:
            data = handle.read(MAX_RECORD_BYTES + 1)
        if len(data) > MAX_RECORD_BYTES:
            raise OsvDatabaseError(f"{path / rel}: OSV record larger than {MAX_RECORD_BYTES} bytes")
        yield rel, data


def _zip_member(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    # SECURITY: the declared size is checked and the read is bounded (zip bombs).
    if member.file_size > MAX_RECORD_BYTES:
        raise OsvDatabaseError(f"{path}: {member.filename}: larger than {MAX_RECORD_BYTES} bytes")
    try:
        with archive.open(member) as handle:
            return handle.read(MAX_RECORD_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise OsvDatabaseError(f"{path}: {member.filename}: corrupt member: {exc}") from exc


def _zip_records(path: Path) -> Iterator[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise OsvDatabaseError(f"{path}: not a zip of OSV records: {exc}") from exc
    with archive:
        members = [m for m in archive.infolist() if m.filename.endswith(".json") and not m.is_dir()]
        if len(members) > MAX_MEMBERS:
            raise OsvDatabaseError(f"{path}: more than {MAX_MEMBERS} members")
        for member in sorted(members, key=lambda m: m.filename):
            yield member.filename, _zip_member(path, archive, member)


def _records(path: Path) -> Iterator[tuple[str, bytes]]:
    """(member name, bytes) of every JSON record in a directory or zip.

    Raises:
        OsvDatabaseError: not a zip, too many members, or a member too large.
    """
    return _dir_records(path) if path.is_dir() else _zip_records(path)


def parse_record(where: str, data: bytes) -> OsvRecord:
    """Raises OsvDatabaseError naming ``where`` when the bytes are not one OSV record."""
    try:
        return OsvRecord.model_validate(loads_json_strict(data))
    except (ValueError, ValidationError) as exc:
        raise OsvDatabaseError(
            f"{where}: not a valid OSV record: {str(exc).splitlines()[0]}"
        ) from exc


# ------------------------------------------------------------------ the index


def _indexed(affected: OsvAffected) -> bool:
    pkg = affected.package
    return pkg is not None and pkg.ecosystem in ECOSYSTEMS and bool(pkg.name)


def _record_rows(record: OsvRecord) -> list[_Row]:
    """The index rows of one record: one per affected package of an ecosystem we read."""
    if record.withdrawn:
        return []
    adv = advisory_of(record)
    head = json.dumps([adv.id, list(adv.aliases), adv.summary, adv.severity, adv.score, adv.vector])
    return [
        (
            affected.package.ecosystem,
            normalize_name(affected.package.ecosystem, affected.package.name),
            record.id,
            head,
            json.dumps(compact_affected(affected)),
        )
        for affected in record.affected
        if _indexed(affected) and affected.package is not None
    ]


def _fill_index(db: Path, path: str, digest: str) -> int:
    """Write every record of ``db`` into the SQLite file ``path``. Returns the record count."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(_SCHEMA)
        count = 0
        rows: list[_Row] = []
        for member, data in _records(db):
            count += 1
            where = f"{db}: {member}" if db.is_file() else str(db / member)
            rows.extend(_record_rows(parse_record(where, data)))
            if len(rows) > _INSERT_BATCH:
                conn.executemany("INSERT INTO affects VALUES (?,?,?,?,?)", rows)
                rows.clear()
        if count == 0:
            raise OsvDatabaseError(f"{db}: contains no OSV records (*.json)")
        conn.executemany("INSERT INTO affects VALUES (?,?,?,?,?)", rows)
        conn.execute("CREATE INDEX affects_pkg ON affects (ecosystem, name)")
        meta = [("digest", digest), ("schema", INDEX_SCHEMA), ("records", str(count))]
        conn.executemany("INSERT INTO meta VALUES (?,?)", meta)
        conn.commit()
    finally:
        conn.close()
    return count


def build_index(db: Path, target: Path, digest: str) -> int:
    """Index every record of ``db`` into the SQLite file ``target`` (atomically). Returns count.

    Raises:
        OsvDatabaseError: the database is empty, corrupt, or holds a malformed record.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".osv-index-", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        count = _fill_index(db, tmp, digest)
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
        OsvDatabaseError: the database is missing, empty or corrupt, or its fresh index
            cannot be read.
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
        raise OsvDatabaseError(f"{target}: freshly built OSV index unreadable: {exc}") from exc


# ------------------------------------------------------------------ matching


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


def _match_fresh(index: OsvIndex, missing: list[list[str]]) -> dict[str, Any]:
    """Memo entries (advisory heads with fixed versions, notes) for keys not memoised."""
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
    return fresh


def _memoised(keys: list[str], index: OsvIndex, memo: MatchMemo | None) -> dict[str, Any]:
    """The memo entry of every key: read from the memo, or matched now (and memoised)."""
    results = memo.get_many(keys) if memo is not None else {}
    fresh = _match_fresh(index, [k.split("\0") for k in keys if k not in results])
    if memo is not None:
        memo.put_many(fresh)
    results.update(fresh)
    return results


def match_index(
    packages: Iterable[Package],
    index: OsvIndex,
    memo: MatchMemo | None = None,
) -> Matches:
    notes: set[str] = set()
    out: list[Vulnerability] = []
    pinned = [p for p in packages if p.version is not None]
    keys = sorted({MatchMemo.key(p.ecosystem, p.name, p.version or "") for p in pinned})
    results = _memoised(keys, index, memo)
    for pkg in pinned:
        result = results[MatchMemo.key(pkg.ecosystem, pkg.name, pkg.version or "")]
        notes.update(result["n"])
        out.extend(merge_hits(pkg, [(_advisory_of_head(head), fix) for head, fix in result["h"]]))
    return Matches(out, sorted(notes))


class OsvDatabase(OsvSource):
    """An offline OSV database (directory or zip), through its index and match memo.

    Raises (on construction):
        OsvDatabaseError: the database is missing, empty or corrupt.
    """

    def __init__(self, db: Path, cache_root: Path) -> None:
        self.index, _ = open_index(db, cache_root)
        memo_name = f"matches-{self.index.digest}-{INDEX_SCHEMA}-{MATCH_LOGIC}.sqlite"
        self.memo = MatchMemo(cache_root / memo_name)
        self.description = f"db:{self.index.digest}"

    def query(self, package: Package) -> Matches:
        return self.query_all([package])

    def query_all(self, packages: Sequence[Package]) -> Matches:
        return match_index(packages, self.index, self.memo)

    def close(self) -> None:
        self.memo.close()
        self.index.close()
