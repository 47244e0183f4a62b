"""Packagist: ``composer.lock`` (Composer 1 and 2).

``packages`` and ``packages-dev`` list every installed package with its ``version`` as
tagged (``v5.4.0``, ``2.0.0-alpha4``, ``dev-main``), its ``source`` (a VCS and the commit)
and ``dist`` (the archive, with a ``shasum`` that is often empty for archives GitHub
builds). Where a package comes from is its ``notification-url``: a Composer repository
(Packagist's is the default registry); a package without one comes from a VCS, a path or a
URL the project configured.

What is recorded as hashes: the archive's sha1 where Composer wrote one, and the commit a
released version was tagged at (``commit:<sha>``), so a tag moved to another commit under
the same version is a re-hash (``deps/hash-changed``). A branch version (``dev-main``,
``1.x-dev``) moves by design and records no commit.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from gatekeeper._fileio import loads_json_strict
from gatekeeper.deps.common import git_source, hex_hash, package, registry_source
from gatekeeper.deps.parsing import FileSource, LockfileError, ParseResult
from gatekeeper.models.deps import Package

_SECTIONS = ("packages", "packages-dev")
_NAME_KEY = re.compile(r'^[ \t]*"name": "((?:[^"\\]|\\.)*)"', re.MULTILINE)
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
# Platform requirements (``php``, ``ext-json``, ``lib-icu``, ``composer-plugin-api``) are
# not packages.
_PLATFORM = re.compile(
    r"^(?:php(?:-64bit|-ipv6|-zts|-debug)?|hhvm|(?:ext|lib)-.+|composer(?:-.+)?)$"
)


def is_branch(version: str) -> bool:
    """A branch, not a release: ``dev-main``, ``1.x-dev``, ``2.0.x-dev``."""
    return version.startswith("dev-") or version.endswith("-dev")


def _json(text: str) -> dict[str, Any]:
    try:
        data = loads_json_strict(text)
    except ValueError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise LockfileError(f"invalid JSON: {exc}", int(match.group(1)) if match else 1) from exc
    if not isinstance(data, dict):
        raise LockfileError("composer.lock is not a JSON object")
    return data


def _source(
    entry: dict[str, Any], source: dict[str, Any], dist: dict[str, Any]
) -> tuple[str, bool]:
    """(source, whether it is the project's own code) of an entry."""
    if dist.get("type") == "path" or source.get("type") == "path":
        return f"path:{dist.get('url') or source.get('url')}", True
    notify = entry.get("notification-url")
    if isinstance(notify, str) and notify:
        repository = re.sub(r"/downloads/?$", "", notify.rstrip("/") + "/")
        return registry_source("Packagist", repository.rstrip("/")), False
    if source.get("type") == "git" and source.get("url"):
        return git_source(str(source["url"])), False
    if dist.get("url"):
        return f"url:{dist['url']}", False
    return registry_source("Packagist", None), False


def _hashes(version: str, source: dict[str, Any], dist: dict[str, Any], line: int) -> list[str]:
    hashes = []
    shasum = dist.get("shasum")
    if isinstance(shasum, str) and shasum:
        try:
            hashes.append(hex_hash("sha1", shasum))
        except LockfileError as exc:
            raise LockfileError(str(exc), line) from exc
    reference = source.get("reference") or dist.get("reference")
    if isinstance(reference, str) and _COMMIT.match(reference) and not is_branch(version):
        hashes.append(f"commit:{reference}")
    return hashes


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _entry(path: str, entry: Any, line: int, direct: set[str]) -> Package:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise LockfileError("a package without a name", line)
    name, version = entry["name"], entry.get("version")
    if not isinstance(version, str) or not version:
        raise LockfileError(f"package {name!r} has no version", line)
    source = _table(entry.get("source"))
    dist = _table(entry.get("dist"))
    where, local = _source(entry, source, dist)
    requires = _table(entry.get("require"))
    shasum = dist.get("shasum")
    return package(
        "Packagist",
        name,
        version,
        file=path,
        line=line,
        source=where,
        hashes=_hashes(version, source, dist, line),
        direct=name.lower() in direct,
        hash_supported=isinstance(shasum, str) and bool(shasum) and not local,
        depends_on=[d.lower() for d in requires if not _PLATFORM.match(d.lower())],
    )


def _declared(path: str, tree: FileSource) -> set[str]:
    """The packages composer.json beside the lock requires (lower case)."""
    try:
        data = tree.read(posixpath.join(posixpath.dirname(path), "composer.json"))
        manifest = loads_json_strict(data.decode("utf-8-sig")) if data is not None else None
    except (LockfileError, UnicodeDecodeError, ValueError):
        return set()
    if not isinstance(manifest, dict):
        return set()
    out: set[str] = set()
    for field in ("require", "require-dev"):
        value = manifest.get(field)
        if isinstance(value, dict):
            out.update(str(name).lower() for name in value)
    return out


def parse_composer_lock(path: str, text: str, result: ParseResult, tree: FileSource) -> None:
    data = _json(text)
    direct = _declared(path, tree)
    # Each entry's line: the n-th ``"name":`` key of an entry, in file order.
    name_lines = _entry_lines(text)
    position = 0
    for section in _SECTIONS:
        entries = data.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise LockfileError(f"{section} is not a list")
        for entry in entries:
            line = _line_for(entry, name_lines, position)
            position = line
            with result.entry(path, line):
                result.packages.append(_entry(path, entry, line, direct))
    result.files.append(path)


def _entry_lines(text: str) -> dict[str, list[int]]:
    """Every line a ``"name": "…"`` key is on, by name, in file order."""
    out: dict[str, list[int]] = {}
    line, pos = 1, 0
    for match in _NAME_KEY.finditer(text):
        line += text.count("\n", pos, match.start())
        pos = match.start()
        out.setdefault(match.group(1), []).append(line)
    return out


def _line_for(entry: Any, name_lines: dict[str, list[int]], after: int) -> int:
    """The first line of the entry's ``"name"`` after ``after`` (authors carry names too)."""
    name = entry.get("name") if isinstance(entry, dict) else None
    for line in name_lines.get(name, []) if isinstance(name, str) else []:
        if line > after:
            return line
    return max(after, 1)
