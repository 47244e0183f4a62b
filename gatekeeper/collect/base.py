"""What every collector is: a pure function of the repository (and a base ref) to a model.

Collectors record; they never decide. Each returns a pydantic model (its evidence) that
audits read and that ``attest --audit`` embeds in a signed statement.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from gatekeeper.errors import CollectionError
from gatekeeper.models.base import GatekeeperModel

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
class Limits:
    """Caps on what one run reads; a normal repository never meets the defaults."""

    max_file_bytes: int = 10 * 1024 * 1024
    max_files: int = 200_000
    max_line_bytes: int = 1024 * 1024
    yaml_max_aliases: int = 100
    yaml_max_depth: int = 200
    max_archive_members: int = 100_000
    max_declared_bytes: int = 64 * 1024**3


@dataclass(frozen=True)
class CollectContext:
    repo: Path
    base: str | None = None
    head: str = "HEAD"
    staged: bool = False  # audit what is staged in the index (pre-commit)
    limits: Limits = field(default_factory=Limits)
    # Collector-specific options, e.g. {"image": "oci:dir", "osv_db": "osv/"}.
    options: dict[str, Any] = field(default_factory=dict)


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
