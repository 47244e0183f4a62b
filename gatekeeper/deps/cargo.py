"""Cargo: ``Cargo.lock`` (versions 1 to 4). Packages without a source are workspace members."""

from __future__ import annotations

from typing import Any

from gatekeeper.deps.common import (
    as_list,
    as_table,
    hex_hash,
    load_toml,
    package,
    registry_source,
    table_lines,
)
from gatekeeper.deps.parsing import FileSource, LockfileError, ParseResult
from gatekeeper.models.deps import Package


def cargo_source(raw: str) -> tuple[str, bool]:
    """(source, hash supported) for a Cargo.lock ``source`` string."""
    kind, _, url = raw.partition("+")
    if kind in ("registry", "sparse"):
        return registry_source("crates.io", url if kind == "registry" else raw), True
    if kind == "git":
        # git+https://host/repo?rev=x#commit: the repository is the source, the commit a version.
        return f"git:{url.split('#')[0].split('?')[0]}", False
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


def _entry(path: str, entry: Any, line: int, legacy: dict[str, Any]) -> Package | None:
    """One ``[[package]]``; None for a workspace member (no ``source``: the project's code)."""
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("name"), str)
        or not isinstance(entry.get("version"), str)
    ):
        raise LockfileError("a [[package]] without name and version", line)
    raw_source = entry.get("source")
    if raw_source is None:
        return None
    try:
        src, supported = cargo_source(str(raw_source))
    except LockfileError as exc:
        raise LockfileError(str(exc), line) from exc
    hashes = _checksum(entry, legacy, raw_source, line)
    raw_deps = as_list(entry.get("dependencies"), "dependencies", line)
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
    )


def parse_cargo_lock(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    data = load_toml(path, text)
    lines = table_lines(text, "package")
    legacy = as_table(data.get("metadata"), "metadata")
    for i, entry in enumerate(as_list(data.get("package"), "package")):
        found = _entry(path, entry, lines[i] if i < len(lines) else 1, legacy)
        if found is not None:
            result.packages.append(found)
    result.files.append(path)
