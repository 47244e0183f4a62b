"""The ``deps`` collector: every resolved package of the tree, the base's, the diff, OSV matches.

The tree is the directory on disk (a plain directory works; no git needed without a base).
The base is read blob by blob from the object store through ``open_repo`` — never a
checkout, so no filter or hook of the repository runs.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from gatekeeper.collect.base import CollectContext, walk_files
from gatekeeper.deps import DirSource, scan
from gatekeeper.deps.diff import diff
from gatekeeper.deps.osv import match_packages
from gatekeeper.errors import CollectionError
from gatekeeper.models.deps import DepChange, DepsEvidence, DepsSnapshot


def base_snapshot(repo_dir: Path, ref: str, max_bytes: int) -> DepsSnapshot:
    """The dependency snapshot of ``ref``'s tree (the part under ``repo_dir``).

    Raises:
        CollectionError: not a git repository, or the ref does not exist.
    """
    from gatekeeper._git import commit_runner
    from gatekeeper.deps.gittree import GitTreeSource

    runner, commit = commit_runner(repo_dir, ref)
    prefix = Path(repo_dir).resolve().relative_to(Path(runner.workdir).resolve()).as_posix()
    source = GitTreeSource(runner, commit, "" if prefix == "." else prefix, max_bytes)
    try:
        return scan(source, source.paths())
    finally:
        source.close()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic objects.

    NOTE: tens of thousands of package models and index rows otherwise trigger repeated
    full collections that cost more than the parsing itself (measured: ~3x on 20k packages).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class DepsCollector:
    kind: ClassVar[str] = "deps"

    def collect(self, ctx: CollectContext) -> DepsEvidence:
        """Raises CollectionError (bad base) or InvalidInput (bad OSV database)."""
        with _gc_paused():
            return self._collect(ctx)

    def _collect(self, ctx: CollectContext) -> DepsEvidence:
        root = Path(ctx.repo)
        if not root.is_dir():
            raise CollectionError(f"{root}: no such directory")
        head = scan(
            DirSource(root, ctx.limits.max_file_bytes), walk_files(root, ctx.limits.max_files)
        )
        notes = list(head.notes)
        base: DepsSnapshot | None = None
        changes: list[DepChange] = []
        if ctx.compared_with is not None:
            base = base_snapshot(root, ctx.compared_with, ctx.limits.max_file_bytes)
            changes, diff_notes = diff(base, head)
            notes.extend(diff_notes)
        vulns, osv_source, osv_notes = match_packages(head.packages, ctx.options)
        notes.extend(osv_notes)
        return DepsEvidence(
            tree=head,
            base_ref=ctx.compared_with,
            base=base,
            changes=changes,
            osv=osv_source,
            vulnerabilities=vulns,
            notes=sorted(set(notes)),
        )
