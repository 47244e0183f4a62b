"""Reading a commit's tree from git's object store (no checkout, no filters, no hooks).

Kept apart from ``gatekeeper.deps`` so that runs without ``--base`` never import GitPython.
"""

from __future__ import annotations

import git

from gatekeeper.deps import is_dependency_file
from gatekeeper.deps.parsing import LockfileError

__all__ = ["GitTreeSource"]


class GitTreeSource:
    """Blobs of one commit's tree, read from the object store (no checkout, no filters)."""

    def __init__(self, tree: git.Tree, max_bytes: int) -> None:
        self.tree = tree
        self.max_bytes = max_bytes

    def read(self, path: str) -> bytes | None:
        try:
            item = self.tree / path
        except KeyError:
            return None
        if not isinstance(item, git.Blob) or item.mode == 0o120000:
            return None
        if item.size > self.max_bytes:
            raise LockfileError(f"larger than the {self.max_bytes}-byte limit")
        data: bytes = item.data_stream.read()
        return data

    def paths(self) -> list[str]:
        # Blob paths are repository-relative even inside a subtree; make them tree-relative.
        prefix = f"{self.tree.path}/" if self.tree.path else ""
        out = []
        for item in self.tree.traverse():
            if isinstance(item, git.Blob):
                rel = str(item.path).removeprefix(prefix)
                if is_dependency_file(rel):
                    out.append(rel)
        return sorted(out)
