"""Reading a commit's tree from git's object store (no checkout, no filters, no hooks).

One ``git ls-tree`` lists the tree and one ``git cat-file --batch`` reads the blobs the
parsers ask for, through ``gatekeeper._git``'s safe runner (GitPython is not loaded).
"""

from __future__ import annotations

import stat

from gatekeeper._git import BlobReader, GitRunner, tree_blobs
from gatekeeper.deps import is_dependency_file
from gatekeeper.deps.parsing import LockfileError

__all__ = ["GitTreeSource"]


class GitTreeSource:
    """Blobs of one commit's tree below ``prefix`` (paths relative to it), read from the
    object store. ``close`` ends the reader."""

    def __init__(self, runner: GitRunner, commit: str, prefix: str, max_bytes: int) -> None:
        self.runner = runner
        self.max_bytes = max_bytes
        below = f"{prefix}/" if prefix else ""
        # path -> (mode, object id, size)
        self.entries: dict[str, tuple[int, str, int]] = {
            path[len(below) :]: (mode, sha, size)
            for path, mode, sha, size in tree_blobs(runner, commit, sizes=True)
            if path.startswith(below)
        }
        self._reader: BlobReader | None = None

    def read(self, path: str) -> bytes | None:
        entry = self.entries.get(path)
        if entry is None or not stat.S_ISREG(entry[0]):
            return None  # absent, or a symbolic link (never followed)
        _mode, sha, size = entry
        if size > self.max_bytes:
            raise LockfileError(f"larger than the {self.max_bytes}-byte limit")
        if self._reader is None:
            self._reader = BlobReader(self.runner)
        _size, data = self._reader.read(sha, self.max_bytes)
        return data

    def paths(self) -> list[str]:
        return sorted(p for p in self.entries if is_dependency_file(p))

    def close(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            reader.close()
