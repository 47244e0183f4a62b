"""Dependency manifests and lockfiles of six ecosystems, read into one snapshot.

Usage::

    from gatekeeper.deps import DirSource, scan
    snapshot = scan(DirSource(Path("."), max_bytes=10 << 20), walk_files(Path(".")))

Each parser reads one format; ``scan`` picks the parser by file name, turns a failure into
a parse problem for that file (with a line) and goes on with the others.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from gatekeeper.deps import cargo, golang, maven, npm, pypi, rubygems
from gatekeeper.deps.common import FileSource, LockfileError, ParseResult
from gatekeeper.models.deps import DepsSnapshot

__all__ = ["DirSource", "is_dependency_file", "scan"]

Parser = Callable[[str, str, ParseResult, FileSource], None]


def _npm(fn: Callable[[str, str, ParseResult], None]) -> Parser:
    def wrapped(path: str, text: str, result: ParseResult, source: FileSource) -> None:
        fn(path, text, result)

    return wrapped


_BY_NAME: dict[str, Parser] = {
    "poetry.lock": pypi.parse_poetry_lock,
    "Pipfile.lock": pypi.parse_pipfile_lock,
    "uv.lock": pypi.parse_uv_lock,
    "pyproject.toml": pypi.parse_pyproject,
    "package.json": _npm(npm.parse_package_json),
    "package-lock.json": _npm(npm.parse_package_lock),
    "npm-shrinkwrap.json": _npm(npm.parse_package_lock),
    "yarn.lock": _npm(npm.parse_yarn_lock),
    "pnpm-lock.yaml": _npm(npm.parse_pnpm_lock),
    "go.mod": golang.parse_go_mod,
    "Cargo.lock": cargo.parse_cargo_lock,
    "Gemfile.lock": rubygems.parse_gemfile_lock,
    "gems.locked": rubygems.parse_gemfile_lock,
    "pom.xml": maven.parse_pom,
}

# requirements*.lock: pip-format locks written by rye and `uv export`.
_REQUIREMENTS = re.compile(
    r"^(?:.*[-_.])?requirements(?:[-_.].*)?\.(?:txt|lock)$|^constraints\.txt$"
)


def _is_requirements(path: str) -> bool:
    name = posixpath.basename(path)
    if _REQUIREMENTS.match(name):
        return True
    # requirements/base.txt, requirements/dev.txt
    return name.endswith(".txt") and posixpath.basename(posixpath.dirname(path)) == "requirements"


def is_dependency_file(path: str) -> bool:
    """Whether ``path`` (repository-relative, POSIX) is a manifest or lockfile we read."""
    name = posixpath.basename(path)
    if name == "package.json" and "/node_modules/" in f"/{path}":
        return False
    return name in _BY_NAME or _is_requirements(path)


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


def _mark_yarn_direct(result: ParseResult) -> None:
    """yarn.lock does not say which entries are direct; the package.json beside it does."""
    declared: dict[str, set[str]] = {}
    for decl in result.declared:
        if decl.role == "manifest" and posixpath.basename(decl.file) == "package.json":
            declared.setdefault(posixpath.dirname(decl.file), set()).add(decl.name)
    for i, pkg in enumerate(result.packages):
        if (
            posixpath.basename(pkg.file) == "yarn.lock"
            and not pkg.direct
            and pkg.name in declared.get(posixpath.dirname(pkg.file), ())
        ):
            result.packages[i] = pkg.model_copy(update={"direct": True})


def scan(source: FileSource, paths: Iterable[str]) -> DepsSnapshot:
    """Parse every dependency file among ``paths`` into one sorted snapshot."""
    result = ParseResult()
    visited_requirements: set[str] = set()
    for path in sorted(p for p in paths if is_dependency_file(p)):
        if path in visited_requirements:
            continue  # already read as another file's -r include
        partial = ParseResult()
        try:
            data = source.read(path)
            if data is None:
                # SECURITY: the tree lists it but it is no regular file (a symlink, or gone):
                # the installer would read whatever it points at, which is not audited here.
                raise LockfileError(
                    "not a regular file (a symlink?): not followed, "
                    "so what it resolves to is not audited"
                )
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise LockfileError("not UTF-8 text") from exc
            if _is_requirements(path) and posixpath.basename(path) not in _BY_NAME:
                pypi.parse_requirements(path, text, partial, source, visited_requirements)
            else:
                _BY_NAME[posixpath.basename(path)](path, text, partial, source)
        except LockfileError as exc:
            # Fail closed but go on: the file is a parse error; nothing it held is trusted.
            result.error(path, exc.line, str(exc))
            result.files.append(path)
            result.errors.extend(partial.errors)
            continue
        except (TypeError, AttributeError, KeyError, IndexError, ValueError, RecursionError) as exc:
            # Well-formed syntax with a shape the format does not have (a list where an
            # object belongs, a number where a version string belongs): also a parse error.
            result.error(
                path,
                1,
                f"unexpected structure: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200] if str(exc) else ''}",
            )
            result.files.append(path)
            continue
        result.packages.extend(partial.packages)
        result.declared.extend(partial.declared)
        result.errors.extend(partial.errors)
        result.notes.extend(partial.notes)
        result.files.extend(partial.files)
    _mark_yarn_direct(result)
    return DepsSnapshot(
        files=sorted(set(result.files)),
        packages=sorted(
            result.packages, key=lambda p: (p.file, p.line, p.ecosystem, p.name, p.version or "")
        ),
        declared=sorted(result.declared, key=lambda d: (d.file, d.line, d.name, d.spec, d.role)),
        errors=sorted(set(result.errors), key=lambda e: (e.file, e.line, e.message)),
        notes=sorted(set(result.notes)),
    )
