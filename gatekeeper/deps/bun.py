"""npm: Bun's text lockfile, ``bun.lock`` (Bun 1.1.39 and later; JSON with trailing commas).

``packages`` maps an install path (``a``, ``a/b`` for a ``b`` nested under ``a``, scoped
names taking two segments) to a tuple whose first member is the resolved descriptor:

- ``["name@1.0.0", "registry URL or empty", {metadata}, "sha512-…"]`` from a registry;
- ``["name@github:owner/repo#sha", {metadata}, "owner-repo-sha"]`` from git;
- ``["name@file:path", {metadata}]``, ``["name@link:…"]``, ``["name@workspace:dir"]``: the
  project's own code (not packages).

``workspaces`` maps each project (``""`` the root) to its dependencies: projects, whose
declarations the lock records. Who gets which version is Node's resolution over the install
paths, as for package-lock.json. Bun's binary ``bun.lockb`` is not read.
"""

from __future__ import annotations

import re
from typing import Any

from gatekeeper._fileio import loads_json_strict
from gatekeeper.deps.common import find_line, line_index, package, sri_to_hashes
from gatekeeper.deps.npm import (
    _DEP_FIELDS,
    _INSTALLED_FIELDS,
    _PROJECT_FIELDS,
    _dep_names,
    _InstallTree,
    _lock_declaration,
    npm_source,
)
from gatekeeper.deps.parsing import FileSource, LockfileError, ParseResult
from gatekeeper.models.deps import Package, Project

_TRAILING_COMMA = re.compile(r'"(?:[^"\\]|\\.)*"|,(\s*[}\]])', re.DOTALL)
_KEY = re.compile(r'^[ \t]*"((?:[^"\\]|\\.)*)": \[', re.MULTILINE)


def _json(text: str) -> dict[str, Any]:
    """The lockfile as JSON: trailing commas dropped (outside strings), duplicate keys
    refused."""
    plain = _TRAILING_COMMA.sub(
        lambda m: m.group(1) if m.group(1) is not None else m.group(0), text
    )
    try:
        data = loads_json_strict(plain)
    except ValueError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise LockfileError(f"invalid JSON: {exc}", int(match.group(1)) if match else 1) from exc
    if not isinstance(data, dict):
        raise LockfileError("bun.lock is not a JSON object")
    return data


def _segments(key: str) -> list[str]:
    """The package folders of an install path (``@scope/a/b`` -> ``@scope/a``, ``b``)."""
    parts = key.split("/")
    out: list[str] = []
    i = 0
    while i < len(parts):
        if parts[i].startswith("@") and i + 1 < len(parts):
            out.append(f"{parts[i]}/{parts[i + 1]}")
            i += 2
        else:
            out.append(parts[i])
            i += 1
    return out


def _install_path(key: str) -> str:
    """``a/b`` as package-lock.json spells it: ``node_modules/a/node_modules/b``."""
    return "/".join(f"node_modules/{folder}" for folder in _segments(key))


def _descriptor(key: str, entry: Any, line: int) -> tuple[str, str]:
    """(name, what it resolves to) of an entry's first member."""
    if not isinstance(entry, list) or not entry or not isinstance(entry[0], str):
        raise LockfileError(f"packages[{key!r}] is not a [descriptor, …] tuple", line)
    at = entry[0].find("@", 1)
    if at < 0:
        raise LockfileError(f"packages[{key!r}]: {entry[0][:60]!r} is not name@version", line)
    return entry[0][:at], entry[0][at + 1 :]


_GIT = ("github:", "gitlab:", "bitbucket:", "git+", "git:", "git@")
# Bun pins a git dependency to a (short or full) commit: ``#6609a88``.
_PINNED = re.compile(r"#[0-9a-f]{7,40}$")


def _entry(path: str, key: str, entry: list[Any], line: int, uses: list[str]) -> Package | None:
    name, resolved = _descriptor(key, entry, line)
    if resolved.startswith(("workspace:", "link:")):
        return None  # the project's own workspaces and linked folders
    meta = next((m for m in entry[1:] if isinstance(m, dict)), {})
    common: dict[str, Any] = {
        "file": path,
        "line": line,
        "uses": uses,
        "depends_on": _dep_names(meta, _INSTALLED_FIELDS),
    }
    if resolved.startswith(("file:", "portal:")):
        # A local package, recorded from its path (Bun records no version for it).
        where = resolved.split(":", 1)[1]
        return package("npm", name, None, source=f"path:{where}", pinning=False, **common)
    if resolved.startswith(_GIT):
        # git: the third member is the commit's id, not a hash of the content.
        return package(
            "npm",
            name,
            None,
            source=npm_source(name, resolved)[0],
            spec=resolved,
            hash_supported=False,
            pinning=not _PINNED.search(resolved),
            **common,
        )
    if "://" in resolved:
        return package(
            "npm", name, None, source=f"url:{resolved}", spec=resolved, pinning=False, **common
        )
    if ":" in resolved:
        raise LockfileError(f"packages[{key!r}]: unknown resolution {resolved[:60]!r}", line)
    registry = entry[1] if len(entry) > 1 and isinstance(entry[1], str) else ""
    integrity = entry[3] if len(entry) > 3 and isinstance(entry[3], str) else None
    try:
        hashes = sri_to_hashes(integrity) if integrity else []
    except LockfileError as exc:
        raise LockfileError(str(exc), line) from exc
    source, supported = npm_source(name, registry or None)
    if registry and source.startswith("url:"):
        source = f"registry:{registry.rstrip('/')}"
    return package(
        "npm",
        name,
        resolved,
        source=source,
        hashes=hashes,
        hash_supported=supported,
        **common,
    )


def _projects(
    path: str, text: str, data: dict[str, Any], installed: _InstallTree, result: ParseResult
) -> set[str]:
    """Each workspace as a project (and the root's declarations); the root's names."""
    workspaces = data.get("workspaces") or {}
    if not isinstance(workspaces, dict):
        raise LockfileError("workspaces is not an object", find_line(text, ['"workspaces"']))
    direct: set[str] = set()
    line = find_line(text, ['"workspaces"'])
    for folder, workspace in sorted(workspaces.items()):
        if not isinstance(workspace, dict):
            continue
        names = _dep_names(workspace, _PROJECT_FIELDS)
        result.projects.append(
            Project(file=path, name=folder or ".", line=line, uses=installed.uses("", names))
        )
        if folder == "":
            for field in _DEP_FIELDS[:3]:
                deps = workspace.get(field)
                for name, spec in sorted(deps.items()) if isinstance(deps, dict) else []:
                    direct.add(name)
                    result.declared.append(_lock_declaration(path, name, spec, line))
    return direct


def parse_bun_lock(path: str, text: str, result: ParseResult, tree: FileSource) -> None:
    data = _json(text)
    packages = data.get("packages") or {}
    if not isinstance(packages, dict):
        raise LockfileError("packages is not an object", find_line(text, ['"packages"']))
    lines = line_index(text, _KEY)
    installed = _InstallTree()
    readable: dict[str, list[Any]] = {}
    for key, entry in packages.items():
        with result.entry(path, lines.get(key, 1)):
            name, resolved = _descriptor(key, entry, lines.get(key, 1))
            # Only registry versions are versions Node's resolution can name.
            installed.at[_install_path(key)] = None if ":" in resolved else (name, resolved)
            readable[key] = entry
    direct = _projects(path, text, data, installed, result)
    for key, entry in readable.items():
        line = lines.get(key, 1)
        meta = next((m for m in entry[1:] if isinstance(m, dict)), {})
        uses = installed.uses(_install_path(key), _dep_names(meta, _INSTALLED_FIELDS))
        with result.entry(path, line):
            found = _entry(path, key, entry, line, uses)
            if found is not None:
                if len(_segments(key)) == 1 and key in direct:
                    found = found.model_copy(update={"direct": True})
                result.packages.append(found)
    result.files.append(path)
