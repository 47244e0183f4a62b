"""The contract between ``scan`` and every parser: what a parser reads and what it fills.

A parser is ``parse(path, text, result, source)``: it appends packages, declarations, the
repository's own projects (where the lockfile records what they resolve to) and problems to
``result`` (and may read other files of the tree through ``source``, as the
go.mod parser reads go.sum). A problem it cannot get past is raised as ``LockfileError``
(with a line), which ``scan`` records as a parse error for that file while the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from gatekeeper.models.deps import Declared, Package, ParseProblem, Project

__all__ = ["FileSource", "LockfileError", "ParseResult", "Parser"]


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
    # Files already read as another file's include (requirements ``-r``), shared by a scan.
    included: set[str] = field(default_factory=set)

    def error(self, file: str, line: int, message: str) -> None:
        self.errors.append(ParseProblem(file=file, line=max(1, line), message=message))


Parser = Callable[[str, str, ParseResult, FileSource], None]
