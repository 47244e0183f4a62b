"""Cargo: ``Cargo.lock`` (versions 1 to 4). Packages without a source are workspace members.

Who gets which version: an entry's ``dependencies`` name each dependency as ``"name"`` when
the lock holds one version of it, ``"name version"`` when it holds several and
``"name version (source)"`` when the version is ambiguous too (and always in v1 locks), so
every entry's ``uses`` and every workspace member's are exact.
"""

from __future__ import annotations

from typing import Any

from gatekeeper.deps.common import (
    as_list,
    as_table,
    git_source,
    hex_hash,
    load_toml,
    package,
    registry_source,
    table_lines,
    use_of,
)
from gatekeeper.deps.parsing import FileSource, LockfileError, ParseResult
from gatekeeper.models.deps import Package, Project


def cargo_source(raw: str) -> tuple[str, bool]:
    """(source, hash supported) for a Cargo.lock ``source`` string."""
    kind, _, url = raw.partition("+")
    if kind in ("registry", "sparse"):
        return registry_source("crates.io", url if kind == "registry" else raw), True
    if kind == "git":
        # git+https://host/repo?rev=x#commit: the repository is the source, the commit a version.
        return git_source(url), False
    if kind == "path":
        return f"path:{url}", False
    raise LockfileError(f"unknown Cargo source {raw[:60]!r}")


def _checksum(
    entry: dict[str, Any], legacy: dict[str, Any], raw_source: Any, line: int
) -> list[str]:
    """The entry's sha256 (v1 locks keep it in ``[metadata]``); none for ``<none>``."""
    name, version = entry["name"], entry["version"]
    checksum = entry.get("checksum") or legacy.get(f"checksum {name} {version} ({raw_source})")
    if not isinstance(checksum, str) or checksum == "<none>":
        return []
    try:
        return [hex_hash("sha256", checksum)]
    except LockfileError as exc:
        raise LockfileError(str(exc), line) from exc


def _checked(entry: Any, line: int) -> dict[str, Any]:
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("name"), str)
        or not isinstance(entry.get("version"), str)
    ):
        raise LockfileError("a [[package]] without name and version", line)
    return entry


class _Versions:
    """The versions the lock holds of each name, to resolve a ``dependencies`` string."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.by_name: dict[str, set[str]] = {}
        self.members: set[tuple[str, str]] = set()
        for entry in entries:
            self.by_name.setdefault(entry["name"], set()).add(entry["version"])
            if entry.get("source") is None:
                self.members.add((entry["name"], entry["version"]))

    def uses(self, raw_deps: list[Any], line: int) -> list[str]:
        """``name@version`` of each dependency that is a package (not a workspace member);
        one the lock does not resolve is left out."""
        out = []
        for raw in raw_deps:
            if not isinstance(raw, str) or not raw.split():
                raise LockfileError(f"dependency {raw!r} is not 'name [version [(source)]]'", line)
            parts = raw.split()
            versions = self.by_name.get(parts[0], set())
            if len(parts) > 1:
                version = parts[1]
            elif len(versions) == 1:
                version = next(iter(versions))
            else:
                continue
            if (parts[0], version) not in self.members:
                out.append(use_of(parts[0], version))
        return out


def _entry(
    path: str, entry: dict[str, Any], line: int, legacy: dict[str, Any], versions: _Versions
) -> Package | Project:
    """One ``[[package]]``; a workspace member (no ``source``: the project's code) is a
    project, a dependent only."""
    raw_source = entry.get("source")
    raw_deps = as_list(entry.get("dependencies"), "dependencies", line)
    uses = versions.uses(raw_deps, line)
    if raw_source is None:
        return Project(file=path, name=entry["name"], line=line, uses=sorted(set(uses)))
    try:
        src, supported = cargo_source(str(raw_source))
    except LockfileError as exc:
        raise LockfileError(str(exc), line) from exc
    hashes = _checksum(entry, legacy, raw_source, line)
    return package(
        "crates.io",
        entry["name"],
        entry["version"],
        file=path,
        line=line,
        source=src,
        hashes=hashes,
        hash_supported=supported,
        depends_on=[str(d).split()[0] for d in raw_deps],
        uses=uses,
    )


def parse_cargo_lock(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    data = load_toml(path, text)
    lines = table_lines(text, "package")
    legacy = as_table(data.get("metadata"), "metadata")
    raw = as_list(data.get("package"), "package")
    entries: list[tuple[int, dict[str, Any]]] = []
    for i, entry in enumerate(raw):
        line = lines[i] if i < len(lines) else 1
        with result.entry(path, line):
            entries.append((line, _checked(entry, line)))
    versions = _Versions([entry for _, entry in entries])
    for line, entry in entries:
        with result.entry(path, line):
            found = _entry(path, entry, line, legacy, versions)
            if isinstance(found, Project):
                result.projects.append(found)
            else:
                result.packages.append(found)
    result.files.append(path)
