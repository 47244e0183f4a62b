"""Dependency manifests and lockfiles of every ecosystem in ``ecosystem.py``, read into one
snapshot.

Usage::

    from gatekeeper.deps import DirSource, scan
    snapshot = scan(DirSource(Path("."), max_bytes=10 << 20), walk_files(Path(".")))

Each parser reads one format; ``scan`` picks the parser by file name (the ecosystem specs
say which), turns a failure into a parse problem for that file (with a line) and goes on
with the others.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import cast

from gatekeeper.deps.ecosystem import (
    ECOSYSTEMS,
    EcosystemSpec,
    FileFormat,
    format_for,
    is_dependency_file,
    load_ref,
    spec_of,
    unsupported_lockfile,
)
from gatekeeper.deps.parsing import SHAPE_ERRORS, FileSource, LockfileError, Parser, ParseResult
from gatekeeper.models.deps import DepsSnapshot

__all__ = [
    "ECOSYSTEMS",
    "DirSource",
    "EcosystemSpec",
    "FileFormat",
    "FileSource",
    "LockfileError",
    "ParseResult",
    "Parser",
    "format_for",
    "is_dependency_file",
    "scan",
    "spec_of",
]


class DirSource:
    """Files of a directory. Symlinks are not followed; sizes are capped."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def read(self, path: str) -> bytes | None:
        target = self.root / path
        try:
            info = os.lstat(target)
        except OSError:
            return None
        # SECURITY: a symlinked lockfile could point anywhere on the machine; never follow it.
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > self.max_bytes:
            raise LockfileError(f"larger than the {self.max_bytes}-byte limit")
        with open(target, "rb") as handle:
            data = handle.read(self.max_bytes + 1)
        # The file may have grown since the lstat: never parse a silently truncated prefix.
        if len(data) > self.max_bytes:
            raise LockfileError(f"larger than the {self.max_bytes}-byte limit")
        return data


def _read_text(source: FileSource, path: str, *, code: bool = False) -> str:
    """Raises LockfileError: not a regular file, over the limit, or not UTF-8 (``code``:
    source code or configuration read for a few lines, such as a setup.py that declares
    ``# -*- coding: latin-1 -*-``, falls back to Latin-1, which reads every byte)."""
    data = source.read(path)
    if data is None:
        # SECURITY: the tree lists it but it is no regular file (a symlink, or gone): the
        # installer would read whatever it points at, which is not audited here.
        raise LockfileError(
            "not a regular file (a symlink?): not followed, so what it resolves to is not audited"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if code:
            return data.decode("latin-1")
        raise LockfileError("not UTF-8 text") from exc


def _parse_file(source: FileSource, path: str, fmt: FileFormat, result: ParseResult) -> None:
    """Parse one file into ``result``; a failure is that file's parse error, and then nothing
    it held is trusted (fail closed, but go on with the other files)."""
    partial = ParseResult(included=result.included)
    try:
        text = _read_text(source, path, code=fmt.role in ("build", "config"))
        fmt.load()(path, text, partial, source)
    except LockfileError as exc:
        result.error(path, exc.line, str(exc))
        result.files.append(path)
        result.errors.extend(partial.errors)
        return
    except SHAPE_ERRORS as exc:
        first_line = str(exc).splitlines()[0][:200] if str(exc) else ""
        result.error(path, 1, f"unexpected structure: {type(exc).__name__}: {first_line}")
        result.files.append(path)
        return
    result.packages.extend(partial.packages)
    result.declared.extend(partial.declared)
    result.projects.extend(partial.projects)
    result.errors.extend(partial.errors)
    result.notes.extend(partial.notes)
    result.files.extend(partial.files)
    result.hooks.extend(partial.hooks)
    result.registry_config.extend(partial.registry_config)


def _snapshot(result: ParseResult) -> DepsSnapshot:
    return DepsSnapshot(
        files=sorted(set(result.files)),
        packages=sorted(
            result.packages, key=lambda p: (p.file, p.line, p.ecosystem, p.name, p.version or "")
        ),
        declared=sorted(result.declared, key=lambda d: (d.file, d.line, d.name, d.spec, d.role)),
        projects=sorted(result.projects, key=lambda p: (p.file, p.name, p.line)),
        errors=sorted(set(result.errors), key=lambda e: (e.file, e.line, e.message)),
        notes=sorted(set(result.notes)),
        install_hooks=sorted(result.hooks, key=lambda h: (h.file, h.line, h.kind, h.name)),
        unsupported=sorted(set(result.unsupported)),
        registry_config=sorted(set(result.registry_config)),
    )


def _shadowed(path: str, fmt: FileFormat, present: set[str]) -> str | None:
    """The file beside ``path`` that makes its package manager ignore it, if any."""
    folder = posixpath.dirname(path)
    return next(
        (s for s in fmt.shadowed_by if posixpath.join(folder, s) in present),
        None,
    )


def scan(source: FileSource, paths: Iterable[str]) -> DepsSnapshot:
    """Parse every dependency file among ``paths`` into one sorted snapshot."""
    result = ParseResult()
    ordered = sorted(paths)
    present = set(ordered)
    for path in ordered:
        found = format_for(path)
        if found is None:
            kind = unsupported_lockfile(path)
            if kind is not None:
                result.unsupported.append(f"{path}: {kind}")
                result.notes.append(
                    f"{path}: {kind}: not a format gatekeeper reads, so its "
                    "packages are not audited"
                )
            continue
        if path in result.included:
            continue  # already read as another file's include
        winner = _shadowed(path, found[1], present)
        if winner is not None:
            result.notes.append(
                f"{path}: not read: the package manager installs from the {winner} beside "
                "it and ignores this file"
            )
            continue
        _parse_file(source, path, found[1], result)
    for spec in ECOSYSTEMS.values():
        if spec.finish is not None:
            cast("Callable[[ParseResult], None]", load_ref(spec.finish))(result)
    return _snapshot(result)
