"""What every collector is: a pure function of the repository (and a base ref) to a model.

Collectors record; they never decide. Each returns a pydantic model (its evidence) that
audits read and that ``attest --audit`` embeds in a signed statement.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from gatekeeper.errors import CollectionError
from gatekeeper.models.base import GatekeeperModel
from gatekeeper.models.options import AuditOptions
from gatekeeper.models.policy import Limits

__all__ = ["SKIP_DIRS", "CollectContext", "Collector", "Limits", "walk_files"]

# Directories never walked: VCS metadata, gatekeeper's own store, virtualenvs and caches.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".gatekeeper",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
    }
)


@dataclass(frozen=True)
class CollectContext:
    repo: Path
    base: str | None = None
    head: str = "HEAD"
    staged: bool = False  # audit what is staged in the index (pre-commit)
    limits: Limits = field(default_factory=Limits)  # the policy's ``limits:``
    options: AuditOptions = field(default_factory=AuditOptions)


class Collector(Protocol):
    kind: ClassVar[str]

    def collect(self, ctx: CollectContext) -> GatekeeperModel:
        """Record the evidence. Raises CollectionError when it cannot."""
        ...


def walk_files(root: Path, max_files: int = 200_000) -> Iterator[str]:
    """Yield POSIX paths (relative to ``root``) of regular files and symlinks, sorted per dir.

    Symlinks are yielded, never followed.

    Raises:
        CollectionError: the tree holds more than ``max_files`` files (a caller that wants to
            note the overflow instead asks for ``max_files + 1`` and stops early).
    """
    count = 0
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            with os.scandir(root / rel_dir if rel_dir else root) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIP_DIRS:
                    subdirs.append(rel)
                continue
            count += 1
            if count > max_files:
                # SECURITY: stopping quietly would leave the rest of the tree unaudited.
                raise CollectionError(
                    f"{root}: more than {max_files} files; raise limits.max_files in the "
                    "policy to examine them all"
                )
            yield rel
        stack.extend(reversed(subdirs))
