"""PyPI lockfiles that name each file they hash: ``pdm.lock`` and ``pylock.toml`` (PEP 751).

Both record, per package, the files an installer may fetch with each one's hash, so a file
of the same name under another hash is seen as a re-hash (``Package.file_hashes``) even
while the package's other files keep theirs.

pdm.lock: ``[[package]]`` with ``name``, ``version``, ``files = [{file|url, hash}]`` and
``git``/``revision``, ``url`` or ``path`` for packages that do not come from an index.

pylock.toml (PEP 751, also ``pylock.<name>.toml``): ``[[packages]]`` with ``name``, an
optional ``version``, ``index``, and one of ``wheels``/``sdist`` (files with ``hashes``),
``archive`` (a URL or path), ``vcs`` or ``directory``. Unknown keys are ignored, as the
PEP asks.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from gatekeeper.deps.common import (
    as_list,
    as_table,
    git_source,
    hex_hash,
    load_toml,
    normalize_name,
    package,
    prefixed_hash,
    registry_source,
    table_lines,
)
from gatekeeper.deps.parsing import FileSource, LockfileError, ParseResult
from gatekeeper.models.deps import Package

_COMMIT = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")


def entry_lines(text: str, header: str, entries: list[Any]) -> list[int]:
    """The line of each entry of an array of tables: its ``[[header]]`` line, or, for an
    inline array (``packages = [{name = …}, …]``), the line of its ``name``."""
    lines = table_lines(text, header)
    if len(lines) == len(entries):
        return lines
    out, pos = [], 0
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        found = -1
        if isinstance(name, str):
            match = re.compile(
                r"\bname\s*=\s*[\"']" + re.escape(name) + r"[\"']", re.MULTILINE
            ).search(text, pos)
            found = match.start() if match else -1
        if found >= 0:
            pos = found + 1
            out.append(text.count("\n", 0, found) + 1)
        else:
            out.append(1)
    return out


def _requirement_names(values: list[Any]) -> list[str]:
    """The names of PEP 508 requirement strings (one that does not parse is left out)."""
    names = []
    for value in values:
        if not isinstance(value, str):
            continue
        try:
            names.append(normalize_name("PyPI", Requirement(value).name))
        except InvalidRequirement:
            continue
    return names


# ------------------------------------------------------------------ pdm.lock


def _pdm_files(entry: dict[str, Any], line: int) -> dict[str, list[str]]:
    """File name -> hash of each of an entry's ``files`` (``file`` or ``url``)."""
    out: dict[str, list[str]] = {}
    for item in as_list(entry.get("files"), "files", line):
        if not isinstance(item, dict) or not item.get("hash"):
            continue
        where = str(item.get("file") or item.get("url") or "")
        name = posixpath.basename(where.split("#")[0]) or "(unnamed)"
        out.setdefault(name, []).append(prefixed_hash(str(item["hash"])))
    return out


def _pdm_entry(path: str, entry: Any, line: int) -> Package | None:
    """One ``[[package]]``; None for a local directory (the project's own code)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise LockfileError("a [[package]] without a name", line)
    name = entry["name"]
    version = entry.get("version")
    if version is not None and not isinstance(version, str):
        raise LockfileError(f"package {name!r}: version is not a string", line)
    deps = _requirement_names(as_list(entry.get("dependencies"), "dependencies", line))
    common: dict[str, Any] = {"file": path, "line": line, "depends_on": deps}
    if entry.get("git"):
        revision = str(entry.get("revision") or "")
        return package(
            "PyPI",
            name,
            version,
            source=git_source(str(entry["git"])),
            spec=revision or str(entry.get("ref") or "") or None,
            hash_supported=False,
            pinning=not _COMMIT.match(revision),
            **common,
        )
    if entry.get("path"):
        return None
    files = _pdm_files(entry, line)
    if entry.get("url"):
        return package(
            "PyPI",
            name,
            version,
            source=f"url:{str(entry['url']).split('#')[0]}",
            file_hashes=files,
            hash_supported=True,
            pinning=version is not None,
            **common,
        )
    if version is None:
        raise LockfileError(f"package {name!r} has no version", line)
    return package(
        "PyPI",
        name,
        version,
        source=registry_source("PyPI", None),
        file_hashes=files,
        hash_supported=True,
        **common,
    )


def parse_pdm_lock(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    data = load_toml(path, text)
    entries = as_list(data.get("package"), "package")
    for entry, line in zip(entries, entry_lines(text, "package", entries), strict=True):
        with result.entry(path, line):
            found = _pdm_entry(path, entry, line)
            if found is not None:
                result.packages.append(found)
    result.files.append(path)


# ------------------------------------------------------------------ pylock.toml (PEP 751)


def _pylock_hashes(item: dict[str, Any], line: int) -> list[str]:
    """``hashes = {sha256 = "…"}`` of a file or archive."""
    return [
        hex_hash(str(alg), str(value))
        for alg, value in as_table(item.get("hashes"), "hashes", line).items()
    ]


def _file_name(item: dict[str, Any]) -> str:
    where = str(item.get("name") or item.get("url") or item.get("path") or "")
    return posixpath.basename(where.split("#")[0].split("?")[0]) or "(unnamed)"


def _pylock_files(entry: dict[str, Any], line: int) -> Iterator[tuple[str, list[str]]]:
    sdist = entry.get("sdist")
    if sdist is not None:
        sdist = as_table(sdist, "sdist", line)
        yield _file_name(sdist), _pylock_hashes(sdist, line)
    for wheel in as_list(entry.get("wheels"), "wheels", line):
        if isinstance(wheel, dict):
            yield _file_name(wheel), _pylock_hashes(wheel, line)


def _pylock_entry(path: str, entry: Any, line: int) -> Package | None:
    """One ``[[packages]]``; None for a local directory (the project's own code)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise LockfileError("a [[packages]] entry without a name", line)
    name = entry["name"]
    version = entry.get("version")
    if version is not None and not isinstance(version, str):
        raise LockfileError(f"package {name!r}: version is not a string", line)
    deps = [
        normalize_name("PyPI", d["name"])
        for d in as_list(entry.get("dependencies"), "dependencies", line)
        if isinstance(d, dict) and isinstance(d.get("name"), str)
    ]
    common: dict[str, Any] = {"file": path, "line": line, "depends_on": deps}
    if entry.get("directory") is not None:
        return None
    if entry.get("vcs") is not None:
        return _pylock_vcs(name, version, as_table(entry["vcs"], "vcs", line), common)
    if entry.get("archive") is not None:
        archive = as_table(entry["archive"], "archive", line)
        return _pylock_archive(name, version, archive, line, common)
    if version is None:
        raise LockfileError(f"package {name!r} has no version", line)
    files: dict[str, list[str]] = {}
    for file_name, hashes in _pylock_files(entry, line):
        files.setdefault(file_name, []).extend(hashes)
    index = entry.get("index")
    return package(
        "PyPI",
        name,
        version,
        source=registry_source("PyPI", index if isinstance(index, str) else _file_host(entry)),
        file_hashes=files,
        hash_supported=True,
        **common,
    )


def _pylock_vcs(
    name: str, version: str | None, vcs: dict[str, Any], common: dict[str, Any]
) -> Package:
    """A package from a version-control checkout (pinned by its commit)."""
    commit = str(vcs.get("commit-id") or "")
    url = str(vcs.get("url") or vcs.get("path") or "")
    return package(
        "PyPI",
        name,
        version,
        source=git_source(url) if vcs.get("type", "git") == "git" else f"url:{url}",
        spec=commit or None,
        hash_supported=False,
        pinning=not commit,
        **common,
    )


def _pylock_archive(
    name: str, version: str | None, archive: dict[str, Any], line: int, common: dict[str, Any]
) -> Package:
    """A package from one archive, by URL or path, with its hashes."""
    where = archive.get("url")
    return package(
        "PyPI",
        name,
        version,
        source=f"url:{where}" if where else f"path:{archive.get('path')}",
        file_hashes={_file_name(archive): _pylock_hashes(archive, line)},
        hash_supported=True,
        pinning=version is not None,
        spec=None if version else str(where or archive.get("path")),
        **common,
    )


# Where PyPI serves the files its index lists.
_PYPI_FILES = "https://files.pythonhosted.org/"


def _file_host(entry: dict[str, Any]) -> str | None:
    """Without ``index``, where an entry's files come from: None (PyPI) when every file
    URL is PyPI's file host, else the folder of the first other URL (a wheel served by
    Pyodide's CDN is another artifact from another source than PyPI's of the same name)."""
    urls: list[str] = []
    sdist = entry.get("sdist")
    if isinstance(sdist, dict) and isinstance(sdist.get("url"), str):
        urls.append(sdist["url"])
    wheels = entry.get("wheels") or ()
    urls.extend(w["url"] for w in wheels if isinstance(w, dict) and isinstance(w.get("url"), str))
    other = sorted(u for u in urls if not u.startswith(_PYPI_FILES))
    return posixpath.dirname(other[0].split("#")[0].split("?")[0]) if other else None


def parse_pylock(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    data = load_toml(path, text)
    entries = as_list(data.get("packages"), "packages")
    for entry, line in zip(entries, entry_lines(text, "packages", entries), strict=True):
        with result.entry(path, line):
            found = _pylock_entry(path, entry, line)
            if found is not None:
                result.packages.append(found)
    result.files.append(path)
