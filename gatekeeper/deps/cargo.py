"""Cargo: ``Cargo.lock`` (versions 1 to 4). Packages without a source are workspace members."""

from __future__ import annotations

from gatekeeper.deps.common import (
    FileSource,
    LockfileError,
    ParseResult,
    hex_hash,
    package,
    registry_source,
    table_lines,
)
from gatekeeper.deps.pypi import _as_list, _as_table, _toml


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


def parse_cargo_lock(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    data = _toml(path, text)
    lines = table_lines(text, "package")
    legacy = _as_table(data.get("metadata"), "metadata")
    for i, entry in enumerate(_as_list(data.get("package"), "package")):
        line = lines[i] if i < len(lines) else 1
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("name"), str)
            or not isinstance(entry.get("version"), str)
        ):
            raise LockfileError("a [[package]] without name and version", line)
        raw_source = entry.get("source")
        if raw_source is None:
            continue  # a workspace member: the project's own code
        try:
            src, supported = cargo_source(str(raw_source))
        except LockfileError as exc:
            raise LockfileError(str(exc), line) from exc
        name, version = entry["name"], entry["version"]
        checksum = entry.get("checksum") or legacy.get(f"checksum {name} {version} ({raw_source})")
        hashes = []
        if isinstance(checksum, str) and checksum != "<none>":
            try:
                hashes = [hex_hash("sha256", checksum)]
            except LockfileError as exc:
                raise LockfileError(str(exc), line) from exc
        raw_deps = _as_list(entry.get("dependencies"), "dependencies", line)
        deps = [str(d).split()[0] for d in raw_deps]
        result.packages.append(
            package(
                "crates.io",
                name,
                version,
                file=path,
                line=line,
                source=src,
                hashes=hashes,
                hash_supported=supported,
                depends_on=deps,
            )
        )
    result.files.append(path)
