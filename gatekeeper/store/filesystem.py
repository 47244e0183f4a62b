"""The embedded default store: a directory (``.gatekeeper/`` unless told otherwise).

Layout::

    STORE/envelopes/<sha256>.json          the envelope, content-addressed
    STORE/index/stage/<stage>/<sha256>     empty marker: this envelope claims that stage
    STORE/index/subject/<alg>-<hex[:2]>/<alg>-<hex>--<sha256>   (256 shards)
    STORE/index/subject-lists/<sha256>     subjects of an envelope with more than 256
    STORE/index/run/<key[:2]>/<key>--<sha256>   run and stage (``RunKey.index_key``)
    STORE/log/decisions.jsonl              the decision log (``gatekeeper.store._file_log``)

Envelopes are content-addressed and written atomically (temp file, fsync, rename), so two
processes writing at once both land and a reader sees each envelope whole or not at all.
Markers are written after their envelope; a marker whose envelope is missing is ignored. An
envelope's id is the sha256 of the bytes read, whatever its file is named (a file whose bytes
were altered is judged, and named, by what it holds).

A lookup by subject or by run lists one shard directory and reads the envelopes it names:
its cost follows what names the key, not the size of the store. Envelopes stored before
the run index existed are found by stage only (``by_run`` does not see them).

SECURITY: the store may sit in an untrusted checkout. Every path below its root is opened
relative to a directory handle without following links (``gatekeeper.store._dirfd``); a
store that is a link, or a link where the store expects a directory or a file, is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat

from gatekeeper.errors import StoreError
from gatekeeper.store._dirfd import (
    StoreRoot,
    entry_kind,
    fsync_dir,
    read_file,
    touch,
    write_atomic,
)
from gatekeeper.store._file_log import FileDecisionLog
from gatekeeper.store.base import (
    DecisionLog,
    IndexKeys,
    ReadBudget,
    RunKey,
    StoredEnvelope,
    check_lookup_size,
)

_MAX_MARKERS = 256
MAX_ENVELOPE_BYTES = 64 * 1024 * 1024
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_ID = re.compile(r"^[0-9a-f]{64}$")
_ENVELOPES = ("envelopes",)


def _component(value: str) -> str:
    """A path component for an index key; anything unusual is hashed rather than trusted."""
    if _SAFE.match(value) and value not in (".", ".."):
        return value
    return "h-" + hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


def _subject_key(digest: str) -> tuple[str, str]:
    """(shard directory, marker prefix) of a subject digest in ``index/subject``."""
    key = _component(digest.replace(":", "-", 1))
    shard = key[: key.index("-") + 3] if "-" in key else key[:2]
    return shard, f"{key}--"


def _run_key(run: RunKey, stage: str | None) -> tuple[str, str]:
    """(shard directory, marker prefix) of a run and stage in ``index/run``."""
    key = run.index_key(stage).partition(":")[2]
    return key[:2], f"{key}--"


class FilesystemStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.dirs = StoreRoot(root)
        self.root = self.dirs.root
        self.uri = str(root)
        self.budget = ReadBudget(self.uri)

    # -- writing ---------------------------------------------------------------------------

    def put(self, data: bytes, keys: IndexKeys) -> str:
        """Raises StoreError (an unwritable store, or a link where the store expects none)."""
        env_id = hashlib.sha256(data).hexdigest()
        try:
            self._put_envelope(env_id, data)
            if keys.stage:
                stage_dir = ("index", "stage", _component(keys.stage))
                with self.dirs.made(stage_dir) as fd:
                    touch(fd, env_id, self.dirs.shown((*stage_dir, env_id)))
                    fsync_dir(fd)
            self._mark_subjects(env_id, keys.subjects)
            if keys.run is not None:
                shard, prefix = _run_key(keys.run, keys.stage)
                parts = ("index", "run", shard)
                with self.dirs.made(parts) as fd:
                    touch(fd, f"{prefix}{env_id}", self.dirs.shown((*parts, prefix + env_id)))
                    fsync_dir(fd)
        except OSError as exc:
            raise StoreError(
                f"{self.root}: cannot write to the store: {exc.strerror or exc}"
            ) from exc
        return env_id

    def _put_envelope(self, env_id: str, data: bytes) -> None:
        name = f"{env_id}.json"
        with self.dirs.made(_ENVELOPES) as fd:
            shown = self.dirs.shown((*_ENVELOPES, name))
            mode = entry_kind(fd, name)
            if mode is not None and not stat.S_ISREG(mode):
                raise StoreError(
                    f"{shown}: not a regular file (refused: the store expects an envelope)"
                )
            if mode is not None:
                try:
                    if read_file(fd, name, len(data) + 1, shown) == data:
                        return  # content-addressed: already there
                except FileNotFoundError:
                    pass
            write_atomic(fd, name, data)

    def _mark_subjects(self, env_id: str, subjects: tuple[str, ...]) -> None:
        """One empty marker per subject, ``index/subject/<alg>-<hex[:2]>/<alg>-<hex>--<id>``.

        Markers are plain empty files created in one call each (an empty file cannot be
        torn), in 256 shard directories. An envelope with more than ``_MAX_MARKERS``
        subjects (a source stage over a whole tree) gets one list file instead,
        ``index/subject-lists/<id>``, which ``by_subject`` scans.
        """
        if len(subjects) > _MAX_MARKERS:
            listing = "".join(f"{s}\n" for s in sorted(set(subjects))).encode()
            with self.dirs.made(("index", "subject-lists")) as fd:
                write_atomic(fd, env_id, listing)
            return
        by_shard: dict[str, list[str]] = {}
        for subject in subjects:
            shard, prefix = _subject_key(subject)
            by_shard.setdefault(shard, []).append(f"{prefix}{env_id}")
        for shard, names in by_shard.items():
            parts = ("index", "subject", shard)
            with self.dirs.made(parts) as fd:
                for name in names:
                    touch(fd, name, self.dirs.shown((*parts, name)))
                fsync_dir(fd)

    # -- reading ---------------------------------------------------------------------------

    def _list(self, parts: tuple[str, ...]) -> list[str]:
        try:
            with self.dirs.directory(parts, create=False) as fd:
                return [] if fd is None else os.listdir(fd)
        except OSError as exc:
            raise StoreError(
                f"{self.dirs.shown(parts)}: cannot list: {exc.strerror or exc}"
            ) from exc

    def _read_ids(self, ids: list[str], what: str) -> list[StoredEnvelope]:
        wanted = sorted({i for i in ids if _ID.match(i)})  # temp files and strays are not
        check_lookup_size(len(wanted), what, self.uri)
        found: dict[str, StoredEnvelope] = {}
        with self.dirs.directory(_ENVELOPES, create=False) as fd:
            if fd is None:
                return []
            for env_id in wanted:
                name = f"{env_id}.json"
                shown = self.dirs.shown((*_ENVELOPES, name))
                try:
                    data = read_file(fd, name, MAX_ENVELOPE_BYTES + 1, shown)
                except FileNotFoundError:
                    continue
                if len(data) > MAX_ENVELOPE_BYTES:
                    raise StoreError(f"{shown}: envelope larger than {MAX_ENVELOPE_BYTES} bytes")
                # SECURITY: an envelope's id is the digest of the bytes read, never its file
                # name: reports, summaries and the decision log name what was verified.
                actual = hashlib.sha256(data).hexdigest()
                self.budget.charge(len(data), actual)
                location = shown if actual == env_id else f"{shown} (content {actual[:12]})"
                found.setdefault(actual, StoredEnvelope(id=actual, data=data, location=location))
        return [found[k] for k in sorted(found)]

    def by_stage(self, stage: str) -> list[StoredEnvelope]:
        ids = self._list(("index", "stage", _component(stage)))
        return self._read_ids(ids, f"indexed under stage {stage}")

    def by_subject(self, digest: str, *, complete: bool = True) -> list[StoredEnvelope]:
        """The subject's shard; with ``complete``, also the subject lists of envelopes with
        more than 256 subjects (every one is read, so a quick look skips them)."""
        shard, prefix = _subject_key(digest)
        names = self._list(("index", "subject", shard))
        ids = [n[len(prefix) :] for n in names if n.startswith(prefix)]
        lists = ("index", "subject-lists")
        needle = f"{digest}\n".encode()
        if complete:
            with self.dirs.directory(lists, create=False) as fd:
                if fd is not None:
                    ids.extend(self._listing_hits(fd, lists, needle))
        return self._read_ids(ids, f"for subject {digest}")

    def by_run(self, run: RunKey, stage: str, *, complete: bool = True) -> list[StoredEnvelope]:
        """The run's shard (envelopes stored without a run are not indexed there)."""
        shard, prefix = _run_key(run, stage)
        names = self._list(("index", "run", shard))
        ids = [n[len(prefix) :] for n in names if n.startswith(prefix)]
        return self._read_ids(ids, f"of stage {stage} in one run")

    def _listing_hits(self, fd: int, lists: tuple[str, ...], needle: bytes) -> list[str]:
        """Envelopes whose subject list (``index/subject-lists/<id>``) holds ``needle``."""
        hits = []
        for env_id in (n for n in os.listdir(fd) if _ID.match(n)):
            shown = self.dirs.shown((*lists, env_id))
            try:
                listing = read_file(fd, env_id, MAX_ENVELOPE_BYTES, shown)
            except FileNotFoundError:
                continue
            if needle in listing:
                hits.append(env_id)
        return hits

    def all(self) -> list[StoredEnvelope]:
        names = [n.removesuffix(".json") for n in self._list(_ENVELOPES)]
        return self._read_ids(names, "in the store")

    def decision_log(self) -> DecisionLog:
        """``STORE/log/decisions.jsonl`` (see ``gatekeeper.store._file_log``)."""
        return FileDecisionLog(self.dirs)
