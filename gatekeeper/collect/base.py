"""What every collector is: a pure function of the repository (and a base ref) to a model.

Collectors record; they never decide. Each returns a pydantic model (its evidence) that
audits read and that ``attest --audit`` embeds in a signed statement.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

from gatekeeper.errors import CollectionError

if TYPE_CHECKING:
    from gatekeeper.models.base import GatekeeperModel
    from gatekeeper.models.options import AuditOptions
    from gatekeeper.models.policy import Limits

__all__ = [
    "THIRD_PARTY_DIRS",
    "VCS_DIRS",
    "CollectContext",
    "Collector",
    "never_walked",
    "walk_files",
]

# The repository's own version-control metadata: skipped at the top of a walk only.
VCS_DIRS = frozenset({".git", ".hg", ".svn"})
# Installed third-party code and tool caches (not the repository's own files, and often
# 100,000 of them): audit walks skip them at any depth. ``attest`` records them like any file.
THIRD_PARTY_DIRS = frozenset(
    {
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


def _store_below(root: Path, store: str | None) -> str | None:
    """The attestation store's path relative to ``root`` (POSIX) when it is a directory inside
    it, as ``open_store`` resolves ``store`` (``--store``, else ``$GATEKEEPER_STORE``, else
    ``.gatekeeper`` in the current directory)."""
    from gatekeeper.store import resolve_store_uri

    uri = resolve_store_uri(store)
    if "://" in uri:
        if not uri.startswith("file://"):
            return None  # a registry: nothing on disk
        uri = uri[len("file://") :]
    try:
        rel = Path(os.path.realpath(uri)).relative_to(os.path.realpath(root))
    except ValueError:
        return None
    posix = rel.as_posix()
    return None if posix in ("", ".") else posix


def never_walked(root: Path, store: str | None = None) -> frozenset[str]:
    """The paths below ``root`` (relative, POSIX) that no walk enters: the repository's own
    version-control metadata at the top (``.git``, ``.hg``, ``.svn``, directory or file) and
    the configured attestation store when it lies inside ``root``.

    SECURITY: exactly these paths. A ``.git`` or ``.gatekeeper`` anywhere else
    (``src/.gatekeeper/payload.py``, ``vendor/.git/config``) is repository content like any
    other: attested and audited, so it cannot be a hiding place.
    """
    skip = set(VCS_DIRS)
    store_rel = _store_below(root, store)
    if store_rel is not None:
        skip.add(store_rel)
    return frozenset(skip)


def _default_limits() -> Limits:
    from gatekeeper.models.policy import Limits

    return Limits()


def _default_options() -> AuditOptions:
    from gatekeeper.models.options import AuditOptions

    return AuditOptions()


# The models are imported when a context is made, not with this module: ``attest`` walks
# files (``never_walked``) without loading the policy's models.
@dataclass(frozen=True)
class CollectContext:
    repo: Path
    base: str | None = None  # the range base..head (commits, what the range changed)
    head: str = "HEAD"
    staged: bool = False  # audit what is staged in the index (pre-commit)
    limits: Limits = field(default_factory=_default_limits)  # the policy's ``limits:``
    options: AuditOptions = field(default_factory=_default_options)
    # What the work tree is compared with when that is not ``base`` (pr-check on a merge
    # checkout: the merge's first parent); see ``compared_with``.
    tree_base: str | None = None

    @property
    def compared_with(self) -> str | None:
        """The commit the work tree's content is compared with (e.g. lockfiles)."""
        return self.tree_base if self.tree_base is not None else self.base

    @functools.cached_property
    def work_tree_top(self) -> Path | None:
        """The top of the git work tree ``repo`` is in; None outside one or for a path that
        is not a directory. Asked of git once per context, for every collector."""
        from gatekeeper._git import work_tree_top

        return work_tree_top(self.repo) if Path(self.repo).is_dir() else None


class Collector(Protocol):
    kind: ClassVar[str]

    def collect(self, ctx: CollectContext) -> GatekeeperModel:
        """Record the evidence. Raises CollectionError when it cannot."""
        ...


def walk_files(
    root: Path, max_files: int = 200_000, *, skip: frozenset[str] | None = None
) -> Iterator[str]:
    """Yield POSIX paths (relative to ``root``) of regular files and symlinks, sorted per dir.

    Symlinks are yielded, never followed. The paths in ``skip`` (default: ``never_walked``)
    and third-party directories (``THIRD_PARTY_DIRS``, at any depth) are not entered.

    Raises:
        CollectionError: the tree holds more than ``max_files`` files (a caller that wants to
            note the overflow instead asks for ``max_files + 1`` and stops early).
    """
    skipped = never_walked(root) if skip is None else skip
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
            if rel in skipped:
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in THIRD_PARTY_DIRS:
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
