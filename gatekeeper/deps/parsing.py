"""The contract between ``scan`` and every parser: what a parser reads and what it fills.

A parser is ``parse(path, text, result, source)``: it appends packages, declarations, the
repository's own projects (where the lockfile records what they resolve to) and problems to
``result`` (and may read other files of the tree through ``source``, as the
go.mod parser reads go.sum). A problem it cannot get past is raised as ``LockfileError``
(with a line), which ``scan`` records as a parse error for that file while the run goes on.

A problem of one entry (a package without a version, a malformed hash) is that entry's
parse error, not the file's: the parser reads each entry inside ``result.entry(file, line)``,
which records the error and goes on, so every good entry of the file is still audited
while the bad one is a ``deps/parse-error`` finding.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from gatekeeper.models.deps import Declared, InstallHook, Package, ParseProblem, Project

__all__ = ["SHAPE_ERRORS", "FileSource", "LockfileError", "ParseResult", "Parser"]

# Errors of well-formed syntax with a shape the format does not have (a list where an
# object belongs, a number where a version string belongs): parse errors too.
SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError, RecursionError)


class LockfileError(ValueError):
    """A file cannot be parsed; carries the line where parsing stopped."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.line = max(1, line)


class FileSource(Protocol):
    """Read access to one tree: the working directory or a commit's tree in the object store."""

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist (or is not a regular file)."""
        ...


@dataclass
class ParseResult:
    packages: list[Package] = field(default_factory=list)
    declared: list[Declared] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    errors: list[ParseProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    hooks: list[InstallHook] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    registry_config: list[str] = field(default_factory=list)
    # Files already read as another file's include (requirements ``-r``), shared by a scan.
    included: set[str] = field(default_factory=set)

    def error(self, file: str, line: int, message: str) -> None:
        self.errors.append(ParseProblem(file=file, line=max(1, line), message=message))

    @contextlib.contextmanager
    def entry(self, file: str, line: int) -> Iterator[None]:
        """Read one entry of ``file`` (at ``line``): a problem with it is recorded as that
        entry's parse error (at the line the problem names, else the entry's) and the
        parser goes on with the next entry."""
        try:
            yield
        except LockfileError as exc:
            self.error(file, exc.line if exc.line > 1 else line, str(exc))
        except SHAPE_ERRORS as exc:
            first = str(exc).splitlines()[0][:200] if str(exc) else ""
            self.error(file, line, f"unexpected structure: {type(exc).__name__}: {first}")


Parser = Callable[[str, str, ParseResult, FileSource], None]
