"""The error every build-controller parser raises for a file it cannot read as its format.

``message`` and ``line`` (1-based; None when unknown) become the file's ``parse_error`` in
the pipeline evidence, which the audits turn into a finding. A parser for a new CI system
raises this (or a subclass of its own) and is caught with the others.
"""

from __future__ import annotations


class FileParseError(ValueError):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


__all__ = ["FileParseError"]
