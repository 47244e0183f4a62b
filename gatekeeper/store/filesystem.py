"""The embedded default store: a directory (``.gatekeeper/`` unless told otherwise).

Layout::

    STORE/envelopes/<sha256>.json          the envelope, content-addressed
    STORE/index/stage/<stage>/<sha256>     empty marker: this envelope claims that stage
    STORE/index/subject/<alg>-<hex[:2]>/<alg>-<hex>--<sha256>   (256 shards)
    STORE/index/subject-lists/<sha256>     subjects of an envelope with more than 256
    STORE/log/decisions.jsonl              the decision log (``gatekeeper.store._file_log``)

Envelopes are content-addressed and written atomically (temp file, fsync, rename), so two
processes writing at once both land and a reader sees each envelope whole or not at all.
Markers are written after their envelope; a marker whose envelope is missing is ignored.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from pathlib import Path

from gatekeeper._fileio import atomic_write
from gatekeeper.errors import StoreError
from gatekeeper.store._file_log import LOG_RELATIVE, FileDecisionLog
from gatekeeper.store.base import DecisionLog, IndexKeys, StoredEnvelope

_MAX_MARKERS = 256
MAX_ENVELOPE_BYTES = 64 * 1024 * 1024
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_ID = re.compile(r"^[0-9a-f]{64}$")


def _component(value: str) -> str:
    """A path component for an index key; anything unusual is hashed rather than trusted."""
    if _SAFE.match(value) and value not in (".", ".."):
        return value
    return "h-" + hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


def _read_regular(path: Path, limit: int) -> bytes:
    """Read at most ``limit`` bytes of a regular file, never through a link, never blocking.

    SECURITY: the store is not trusted. A FIFO named like an envelope would block a plain
    ``open`` forever (verify hangs); a symlink could point anywhere on the runner.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(
                errno.ELOOP, "a symlink, not an envelope (links are never followed)", str(path)
            ) from exc
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        chunks: list[bytes] = []
        size = 0
        while size < limit and (chunk := os.read(fd, min(1 << 20, limit - size))):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # NOTE: some filesystems refuse fsync on directories; the files exist either way
    finally:
        os.close(fd)


class FilesystemStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.uri = str(self.root)

    def _envelope_path(self, env_id: str) -> Path:
        return self.root / "envelopes" / f"{env_id}.json"

    def put(self, data: bytes, keys: IndexKeys) -> str:
        env_id = hashlib.sha256(data).hexdigest()
        try:
            path = self._envelope_path(env_id)
            if not path.exists():
                atomic_write(path, data)
            if keys.stage:
                marker = self.root / "index" / "stage" / _component(keys.stage) / env_id
                if not marker.exists():
                    atomic_write(marker, b"")
            self._mark_subjects(env_id, keys.subjects)
        except OSError as exc:
            raise StoreError(
                f"{self.root}: cannot write to the store: {exc.strerror or exc}"
            ) from exc
        return env_id

    def _mark_subjects(self, env_id: str, subjects: tuple[str, ...]) -> None:
        """One empty marker per subject, ``index/subject/<alg>-<hex[:2]>/<alg>-<hex>--<id>``.

        Markers are plain empty files created in one call each (an empty file cannot be
        torn), in 256 shard directories. An envelope with more than ``_MAX_MARKERS``
        subjects (a source stage over a whole tree) gets one list file instead,
        ``index/subject-lists/<id>``, which ``by_subject`` scans.
        """
        if len(subjects) > _MAX_MARKERS:
            listing = "".join(f"{s}\n" for s in sorted(set(subjects))).encode()
            atomic_write(self.root / "index" / "subject-lists" / env_id, listing)
            return
        base = os.path.join(self.root, "index", "subject")
        made: set[str] = set()
        for subject in subjects:
            key = _component(subject.replace(":", "-", 1))
            shard = os.path.join(base, key[: key.index("-") + 3] if "-" in key else key[:2])
            if shard not in made:
                os.makedirs(shard, exist_ok=True)
                made.add(shard)
            fd = os.open(os.path.join(shard, f"{key}--{env_id}"), os.O_CREAT | os.O_WRONLY, 0o644)
            os.close(fd)
        for shard in made:
            _fsync_dir(shard)

    def _read_ids(self, ids: list[str]) -> list[StoredEnvelope]:
        out = []
        for env_id in sorted(set(ids)):
            if not _ID.match(env_id):
                continue  # temp files and strays are not envelopes
            path = self._envelope_path(env_id)
            try:
                data = _read_regular(path, MAX_ENVELOPE_BYTES + 1)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StoreError(f"{path}: cannot read: {exc.strerror or exc}") from exc
            if len(data) > MAX_ENVELOPE_BYTES:
                raise StoreError(f"{path}: envelope larger than {MAX_ENVELOPE_BYTES} bytes")
            out.append(StoredEnvelope(id=env_id, data=data, location=str(path)))
        return out

    def _list(self, directory: Path) -> list[str]:
        try:
            return os.listdir(directory)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"{directory}: cannot list: {exc.strerror or exc}") from exc

    def by_stage(self, stage: str) -> list[StoredEnvelope]:
        return self._read_ids(self._list(self.root / "index" / "stage" / _component(stage)))

    def by_subject(self, digest: str) -> list[StoredEnvelope]:
        key = _component(digest.replace(":", "-", 1))
        shard = key[: key.index("-") + 3] if "-" in key else key[:2]
        prefix = f"{key}--"
        names = self._list(self.root / "index" / "subject" / shard)
        ids = [n[len(prefix) :] for n in names if n.startswith(prefix)]
        lists = self.root / "index" / "subject-lists"
        needle = f"{digest}\n".encode()
        for env_id in self._list(lists):
            if _ID.match(env_id):
                try:
                    if needle in _read_regular(lists / env_id, MAX_ENVELOPE_BYTES):
                        ids.append(env_id)
                except OSError as exc:
                    detail = exc.strerror or exc
                    raise StoreError(f"{lists / env_id}: cannot read: {detail}") from exc
        return self._read_ids(ids)

    def all(self) -> list[StoredEnvelope]:
        return self._read_ids(
            [n.removesuffix(".json") for n in self._list(self.root / "envelopes")]
        )

    def decision_log(self) -> DecisionLog:
        """``STORE/log/decisions.jsonl`` (see ``gatekeeper.store._file_log``)."""
        return FileDecisionLog(self.root / LOG_RELATIVE)
