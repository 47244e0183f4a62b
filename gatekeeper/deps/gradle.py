"""Gradle dependency locking: ``gradle.lockfile``, ``buildscript-gradle.lockfile`` and the
per-configuration ``gradle/dependency-locks/*.lockfile`` of Gradle before 6.4 (Maven
ecosystem).

Each line is a resolved module, ``group:artifact:version=configuration,…`` (the older
per-configuration files leave out ``=…``); ``empty=…`` names the configurations that
resolve nothing; ``#`` starts a comment. Gradle writes no hashes here (its
``verification-metadata.xml`` holds them). A line that is not a module is that line's parse
error; the other lines are still read.
"""

from __future__ import annotations

from gatekeeper.deps.common import package
from gatekeeper.deps.parsing import FileSource, LockfileError, ParseResult


def _module(raw: str, number: int) -> tuple[str, str]:
    """(group:artifact, version) of a lockfile line.

    Raises:
        LockfileError: not ``group:artifact:version``.
    """
    coordinates = raw.split("=", 1)[0].strip()
    parts = coordinates.split(":")
    if len(parts) != 3 or not all(parts) or any(c.isspace() for c in coordinates):
        raise LockfileError(f"not a 'group:artifact:version' line: {raw.strip()[:80]!r}", number)
    return f"{parts[0]}:{parts[1]}", parts[2]


def parse_gradle_lockfile(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line.split("=", 1)[0].strip() == "empty":
            continue
        with result.entry(path, number):
            name, version = _module(line, number)
            result.packages.append(
                package(
                    "Maven",
                    name,
                    version,
                    file=path,
                    line=number,
                    # Gradle locks record no hashes; its dependency verification does.
                    hash_supported=False,
                )
            )
    result.files.append(path)
