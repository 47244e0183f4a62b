"""The embedded default store: a directory (``.gatekeeper/`` unless told otherwise).

Layout::

    STORE/envelopes/<sha256>.json          the envelope, content-addressed
    STORE/index/stage/<stage>/<sha256>     empty marker: this envelope claims that stage
    STORE/index/subject/<alg>-<hex>/<sha256>

Envelopes are content-addressed and written atomically (temp file, fsync, rename), so two
processes writing at once both land and a reader sees each envelope whole or not at all.
Markers are written after their envelope; a marker whose envelope is missing is ignored.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from gatekeeper._fileio import atomic_write
from gatekeeper.errors import StoreError
from gatekeeper.store.base import IndexKeys, StoredEnvelope

MAX_ENVELOPE_BYTES = 64 * 1024 * 1024
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_ID = re.compile(r"^[0-9a-f]{64}$")


def _component(value: str) -> str:
    """A path component for an index key; anything unusual is hashed rather than trusted."""
    if _SAFE.match(value) and value not in (".", ".."):
        return value
    return "h-" + hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


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
            markers = []
            if keys.stage:
                markers.append(self.root / "index" / "stage" / _component(keys.stage) / env_id)
            for subject in keys.subjects:
                alg, _, hexpart = subject.partition(":")
                markers.append(self.root / "index" / "subject" / _component(f"{alg}-{hexpart}") / env_id)
            for marker in markers:
                if not marker.exists():
                    atomic_write(marker, b"")
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot write to the store: {exc.strerror or exc}") from exc
        return env_id

    def _read_ids(self, ids: list[str]) -> list[StoredEnvelope]:
        out = []
        for env_id in sorted(set(ids)):
            if not _ID.match(env_id):
                continue  # temp files and strays are not envelopes
            path = self._envelope_path(env_id)
            try:
                with open(path, "rb") as handle:
                    data = handle.read(MAX_ENVELOPE_BYTES + 1)
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
        alg, _, hexpart = digest.partition(":")
        return self._read_ids(
            self._list(self.root / "index" / "subject" / _component(f"{alg}-{hexpart}"))
        )

    def all(self) -> list[StoredEnvelope]:
        return self._read_ids([n.removesuffix(".json") for n in self._list(self.root / "envelopes")])
