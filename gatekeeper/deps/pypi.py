"""PyPI: ``requirements*.txt`` (with ``-r``/``-c`` includes, ``--hash``, extras, markers and
index options), ``poetry.lock``, ``Pipfile.lock``, ``uv.lock`` and ``pyproject.toml`` (PEP 621
and ``[tool.poetry]`` declarations).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from gatekeeper._fileio import loads_json_strict
from gatekeeper.deps.common import (
    LineCounter,
    as_list,
    as_table,
    find_line,
    git_source,
    load_toml,
    normalize_name,
    package,
    prefixed_hash,
    registry_source,
    table_lines,
    use_of,
)
from gatekeeper.deps.install import build_system_hook
from gatekeeper.deps.parsing import FileSource, LockfileError, ParseResult
from gatekeeper.models.deps import Declared, Package, Project

# pip options that take a value; the value never names a package.
_VALUE_OPTIONS = {
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--trusted-host",
    "--use-feature",
    "-C",
    "--config-settings",
    "--global-option",
    "--install-option",
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "--hash",
    "--only-binary",
    "--no-binary",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
}
_FLAG_OPTIONS = {"--pre", "--no-index", "--prefer-binary", "--require-hashes", "--no-deps"}


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join ``\\`` continuations and drop comments; keep the first physical line number."""
    out: list[tuple[int, str]] = []
    buffer = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw
        # A comment starts at "#" preceded by whitespace or at the start of the line.
        line = re.sub(r"(^|\s)#.*$", "", line)
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        if buffer.strip():
            out.append((start, buffer.strip()))
        buffer = ""
    if buffer.strip():
        out.append((start, buffer.strip()))
    return out


def _resolve_include(current: str, target: str) -> str:
    """The repository-relative path of an include, refusing one that leaves the repository.

    Raises:
        LockfileError: absolute, URL, or escaping the repository root.
    """
    if "://" in target or target.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", target):
        raise LockfileError(f"include {target!r} is outside the repository")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
    # SECURITY: an include must stay inside the repository (no reading of /etc/... or ../..).
    if joined.startswith("../") or joined == "..":
        raise LockfileError(f"include {target!r} leaves the repository")
    return joined


_INCLUDES = ("-r", "--requirement", "-c", "--constraint")


@dataclass
class _Line:
    """One logical line of a requirements file: its requirement tokens and ``--hash``es."""

    number: int
    requirement: list[str]
    hashes: list[str] = field(default_factory=list)


class _RequirementsFile:
    """The state of one requirements file while it is read: index options and entries."""

    def __init__(self, path: str, result: ParseResult, source: FileSource) -> None:
        self.path = path
        self.result = result
        self.source = source
        self.index = registry_source("PyPI", None)
        self.extras: list[str] = []
        self.entries: list[_Line] = []

    def read(self, number: int, line: str) -> None:
        # As pip does: the requirement is everything before the first option; only the
        # options are shell-split (markers keep their quotes).
        words = line.split()
        first_opt = next((i for i, w in enumerate(words) if w.startswith("-")), len(words))
        try:
            tokens = shlex.split(" ".join(words[first_opt:]), posix=True)
        except ValueError as exc:
            self.result.error(self.path, number, f"cannot split line: {exc}")
            tokens = []
        entry = _Line(number, [" ".join(words[:first_opt])] if first_opt else [])
        try:
            self._tokens(entry, tokens)
        except LockfileError as exc:
            # A bad option is that line's parse error; its requirement is still read (and
            # audited) without what the option would have added.
            self.result.error(self.path, exc.line if exc.line > 1 else number, str(exc))
        if entry.requirement:
            self.entries.append(entry)

    def _tokens(self, entry: _Line, tokens: list[str]) -> None:
        problems: list[str] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            opt, eq, value = tok.partition("=")
            if tok.startswith("-") and (opt in _VALUE_OPTIONS or tok in _VALUE_OPTIONS):
                if not eq:
                    if i + 1 >= len(tokens):
                        raise LockfileError(f"option {tok} needs a value", entry.number)
                    value = tokens[i + 1]
                    i += 1
                try:
                    self._option(opt if eq else tok, value, entry)
                except LockfileError as exc:
                    problems.append(str(exc))
            elif tok.startswith("-"):
                if tok not in _FLAG_OPTIONS:
                    problems.append(f"unknown pip option {tok}")
            # NOTE: pip ignores words after the options that are no option's value.
            i += 1
        if problems:
            raise LockfileError("; ".join(problems), entry.number)

    def _option(self, name: str, value: str, entry: _Line) -> None:
        if name == "--hash":
            entry.hashes.append(prefixed_hash(value))
        elif name in ("-i", "--index-url"):
            self.index = registry_source("PyPI", value)
        elif name == "--extra-index-url":
            self.extras.append(value.rstrip("/"))
        elif name in _INCLUDES:
            self._include(value, entry.number)
        elif name in ("-e", "--editable"):
            entry.requirement = ["-e", value]

    def _include(self, value: str, number: int) -> None:
        included = _resolve_include(self.path, value)
        data = self.source.read(included)
        if data is None:
            raise LockfileError(f"included file {value!r} not found", number)
        try:
            sub_text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LockfileError(f"{value!r} is not UTF-8", number) from exc
        parse_requirements(included, sub_text, self.result, self.source)

    def finish(self) -> None:
        """The packages: hashes are expected once any line has one (pip's hash mode)."""
        hash_mode = any(entry.hashes for entry in self.entries)
        full_source = self.index + "".join(f" extra:{e}" for e in sorted(set(self.extras)))
        for entry in self.entries:
            found = _requirement_entry(self.path, entry, hash_mode, full_source, self.result)
            if found is not None:
                self.result.packages.append(found)


def parse_requirements(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    """Parse one requirements file and, recursively, its ``-r`` / ``-c`` includes."""
    if path in result.included:
        return
    result.included.add(path)
    result.files.append(path)
    reader = _RequirementsFile(path, result, source)
    for number, line in _logical_lines(text):
        reader.read(number, line)
    reader.finish()


_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _commit_pinned(url: str) -> bool:
    """A VCS URL pinned to a full commit id (``...@<sha>``) is as exact as a version; a URL
    to an archive is pinned by its hash instead (``--hash``)."""
    if not url.startswith(("git+", "hg+")):
        return True
    ref = url.split("#")[0].rsplit("@", 1)
    return len(ref) == 2 and bool(_COMMIT.fullmatch(ref[1]))


_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")


_URL_REQUIREMENT = re.compile(r"^(git\+|hg\+|svn\+|bzr\+|https?://|file:)")


def _url_kind(url: str) -> str:
    return "git" if url.startswith("git+") else ("path" if url.startswith("file:") else "url")


def _requirement_entry(
    path: str, entry: _Line, hash_mode: bool, index: str, result: ParseResult
) -> Package | None:
    """The package of one requirement line; None for the project's own code (a local path)
    or a line that is a parse problem (recorded in ``result``)."""
    if entry.requirement[0] == "-e":
        return _editable(path, entry.number, entry.requirement[1])
    text = " ".join(entry.requirement)
    if _URL_REQUIREMENT.match(text):
        return _url_requirement(path, entry, text, result)
    if text.startswith((".", "/")):
        # A local archive is a vendored copy of a package; a local directory is the
        # project's own code.
        return _local_archive(path, entry, text)
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        if _ENV_VAR.search(text):
            return _from_environment(path, entry, text, result)
        result.error(path, entry.number, f"invalid requirement: {exc}")
        return None
    if req.url:
        kind = _url_kind(req.url)
        # ``name @ URL`` of a wheel or sdist: its file name carries the version.
        found = archive_name(req.url) if kind != "git" else None
        same = found is not None and normalize_name("PyPI", found[0]) == normalize_name(
            "PyPI", req.name
        )
        return package(
            "PyPI",
            req.name,
            found[1] if found is not None and same else None,
            file=path,
            line=entry.number,
            source=git_source(req.url) if kind == "git" else f"{kind}:{req.url.split('#')[0]}",
            spec=str(req),
            direct=True,
            hashes=entry.hashes,
            hash_supported=kind == "url",
            pinning=not _commit_pinned(req.url),
        )
    return _pinned_requirement(path, entry, req, hash_mode, index)


def _editable(path: str, number: int, target: str) -> Package | None:
    if target.startswith((".", "/")) or "://" not in target:
        return None  # an editable local directory is the project's own code, not a dependency
    egg = _EGG.search(target)
    tail = posixpath.basename(target.split("#")[0]).removesuffix(".git")
    return package(
        "PyPI",
        egg.group(1) if egg else tail,
        None,
        file=path,
        line=number,
        source=f"{'git' if target.startswith('git+') else 'url'}:{target.split('#')[0]}",
        spec=target,
        direct=True,
        hash_supported=False,
        pinning=not _commit_pinned(target),
    )


# pip expands ``${NAME}`` from the environment before it reads a line.
_ENV_VAR = re.compile(r"\$\{[A-Z0-9_]+\}")
_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(\[[^\]]*\])?\s*(.*)$")


def _from_environment(path: str, entry: _Line, text: str, result: ParseResult) -> Package | None:
    """A requirement whose version (or more) pip takes from the environment at install time
    (``qwert==${VERSION}``): not pinned by the file."""
    match = _NAME.match(text)
    if match is None or not match.group(3):
        result.error(path, entry.number, f"invalid requirement: {text[:80]}")
        return None
    return package(
        "PyPI",
        match.group(1),
        None,
        file=path,
        line=entry.number,
        spec=f"{match.group(3)} (from the environment at install time)",
        direct=True,
        hashes=entry.hashes,
    )


def archive_name(location: str) -> tuple[str, str] | None:
    """(name, version) a wheel's or an sdist's file name carries, or None."""
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )

    file_name = posixpath.basename(location.split("#")[0].split("?")[0])
    try:
        if file_name.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(file_name)
        elif file_name.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(file_name)
        else:
            return None
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return str(name), str(version)


def _local_archive(path: str, entry: _Line, text: str) -> Package | None:
    found = archive_name(text)
    if found is None:
        return None
    return package(
        "PyPI",
        found[0],
        found[1],
        file=path,
        line=entry.number,
        source=f"path:{text.split('#')[0]}",
        direct=True,
        hashes=entry.hashes,
        hash_supported=True,
    )


def _url_requirement(path: str, entry: _Line, text: str, result: ParseResult) -> Package | None:
    egg = _EGG.search(text)
    kind = _url_kind(text)
    if egg is None:
        # A wheel or sdist URL names its package (and version) in its file name.
        found = archive_name(text) if kind != "git" else None
        if found is None:
            result.error(path, entry.number, f"URL requirement without #egg= name: {text[:80]}")
            return None
        return package(
            "PyPI",
            found[0],
            found[1],
            file=path,
            line=entry.number,
            source=f"{kind}:{text.split('#')[0]}",
            spec=text,
            direct=True,
            hashes=entry.hashes,
            hash_supported=kind == "url",
        )
    return package(
        "PyPI",
        egg.group(1),
        None,
        file=path,
        line=entry.number,
        source=git_source(text) if kind == "git" else f"{kind}:{text.split('#')[0]}",
        spec=text,
        direct=True,
        hashes=entry.hashes,
        pinning=not _commit_pinned(text),
        hash_supported=kind == "url",
    )


def _pinned_requirement(
    path: str, entry: _Line, req: Requirement, hash_mode: bool, index: str
) -> Package:
    specs = list(req.specifier)
    version: str | None = None
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        version = specs[0].version
    return package(
        "PyPI",
        req.name,
        version,
        file=path,
        line=entry.number,
        source=index,
        spec=None if version else (str(req.specifier) or "(any)"),
        direct=True,
        hashes=entry.hashes,
        # Hashes are only expected once the file is in pip's hash-checking mode.
        hash_supported=hash_mode,
    )


def _entry_line(lines: list[int], i: int) -> int:
    return lines[i] if i < len(lines) else 1


# poetry.lock source types other than a registry: (source kind, hash supported).
_POETRY_SOURCES = {
    "git": ("git", False),
    "url": ("url", True),
    "directory": ("path", False),
    "file": ("path", True),
}


def _poetry_source(src: dict[str, Any], line: int) -> tuple[str, bool]:
    """(source, hash supported) of a poetry.lock ``[package.source]``."""
    kind = src.get("type")
    url = str(src.get("url", ""))
    if kind in (None, ""):
        return registry_source("PyPI", None), True
    if kind == "legacy":
        return registry_source("PyPI", url), True
    if isinstance(kind, str) and kind in _POETRY_SOURCES:
        prefix, supported = _POETRY_SOURCES[kind]
        return (git_source(url) if prefix == "git" else f"{prefix}:{url}"), supported
    raise LockfileError(f"unknown package source type {kind!r}", line)


def _poetry_entry(path: str, entry: Any, line: int, legacy_files: dict[str, Any]) -> Package:
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("name"), str)
        or not isinstance(entry.get("version"), str)
    ):
        raise LockfileError("a [[package]] without name and version", line)
    name, version = entry["name"], entry["version"]
    files = entry.get("files")
    if files is None:
        files = legacy_files.get(name, [])
    by_file: dict[str, list[str]] = {}
    for item in as_list(files, "files", line):
        if isinstance(item, dict) and item.get("hash"):
            file_name = posixpath.basename(str(item.get("file") or "")) or "(unnamed)"
            by_file.setdefault(file_name, []).append(prefixed_hash(str(item["hash"])))
    source_str, hash_supported = _poetry_source(as_table(entry.get("source"), "source", line), line)
    deps = list(as_table(entry.get("dependencies"), "dependencies", line))
    return package(
        "PyPI",
        name,
        version,
        file=path,
        line=line,
        source=source_str,
        file_hashes=by_file,
        hash_supported=hash_supported,
        depends_on=[normalize_name("PyPI", d) for d in deps],
    )


def parse_poetry_lock(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    data = load_toml(path, text)
    lines = table_lines(text, "package")
    legacy_files = as_table(as_table(data.get("metadata"), "metadata").get("files"), "files")
    for i, entry in enumerate(as_list(data.get("package"), "package")):
        with result.entry(path, _entry_line(lines, i)):
            result.packages.append(_poetry_entry(path, entry, _entry_line(lines, i), legacy_files))
    result.files.append(path)


def _uv_source(src: dict[str, Any], name: str, line: int) -> tuple[str, bool]:
    """(source, hash supported) of a uv.lock package's ``source``."""
    if "registry" in src:
        return registry_source("PyPI", str(src["registry"])), True
    if "git" in src:
        return git_source(str(src["git"])), False
    if "url" in src:
        return f"url:{src['url']}", True
    if "path" in src or "directory" in src:
        return f"path:{src.get('path') or src.get('directory')}", "path" in src
    if not src:
        return registry_source("PyPI", None), True  # no source: the default index
    raise LockfileError(f"package {name!r} has an unknown source", line)


def _uv_file(item: dict[str, Any]) -> str:
    where = str(item.get("filename") or item.get("url") or item.get("path") or "")
    return posixpath.basename(where.split("#")[0].split("?")[0]) or "(unnamed)"


def _uv_hashes(entry: dict[str, Any], line: int) -> dict[str, list[str]]:
    """File name -> hash of the sdist and each wheel."""
    items = [as_table(entry.get("sdist"), "sdist", line)]
    items += [w for w in as_list(entry.get("wheels"), "wheels", line) if isinstance(w, dict)]
    by_file: dict[str, list[str]] = {}
    for item in items:
        if item.get("hash"):
            by_file.setdefault(_uv_file(item), []).append(prefixed_hash(str(item["hash"])))
    return by_file


def _uv_dep_lists(entry: dict[str, Any], line: int, member: bool) -> list[Any]:
    """Every dependency list of an entry: ``dependencies``, each extra's
    ``optional-dependencies`` and, for the workspace's own projects, ``dev-dependencies``."""
    lists = [as_list(entry.get("dependencies"), "dependencies", line)]
    tables = ("optional-dependencies", "dev-dependencies") if member else ("optional-dependencies",)
    for table in tables:
        lists.extend(
            as_list(value, table, line)
            for value in as_table(entry.get(table), table, line).values()
        )
    return [dep for deps in lists for dep in deps]


class _UvVersions:
    """The versions a uv.lock holds of each name: a dependency names its version only when
    there are several (one per fork of the resolution, i.e. per marker set), and its marker
    says for which environments (kept: one version per name per marker set)."""

    def __init__(self, entries: list[Any]) -> None:
        self.by_name: dict[str, set[str]] = {}
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                name = normalize_name("PyPI", str(entry.get("name")))
                self.by_name.setdefault(name, set()).add(entry["version"])

    def uses(self, deps: list[Any]) -> list[str]:
        out: set[str] = set()
        for dep in deps:
            if not isinstance(dep, dict) or not isinstance(dep.get("name"), str):
                continue
            name = normalize_name("PyPI", dep["name"])
            versions = self.by_name.get(name, set())
            marker = dep.get("marker") if isinstance(dep.get("marker"), str) else None
            if isinstance(dep.get("version"), str):
                out.add(use_of(name, dep["version"], marker))
            elif len(versions) == 1:
                out.add(use_of(name, next(iter(versions)), marker))
        return sorted(out)


def _uv_entry(path: str, entry: Any, line: int, versions: _UvVersions) -> Package | Project:
    """One ``[[package]]``; the workspace's own (editable or virtual) projects are projects,
    dependents only."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise LockfileError("a [[package]] without a name", line)
    src = as_table(entry.get("source"), "source", line)
    if "editable" in src or "virtual" in src:
        deps = _uv_dep_lists(entry, line, member=True)
        name = normalize_name("PyPI", entry["name"])
        return Project(file=path, name=name, line=line, uses=versions.uses(deps))
    version = entry.get("version")
    if not isinstance(version, str):
        raise LockfileError(f"package {entry['name']!r} has no version", line)
    source_str, hash_supported = _uv_source(src, entry["name"], line)
    hashes = _uv_hashes(entry, line)
    deps = _uv_dep_lists(entry, line, member=False)
    return package(
        "PyPI",
        entry["name"],
        version,
        file=path,
        line=line,
        source=source_str,
        file_hashes=hashes,
        hash_supported=hash_supported,
        depends_on=[
            normalize_name("PyPI", d["name"])
            for d in as_list(entry.get("dependencies"), "dependencies", line)
            if isinstance(d, dict) and isinstance(d.get("name"), str)
        ],
        uses=versions.uses(deps),
    )


def parse_uv_lock(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    data = load_toml(path, text)
    lines = table_lines(text, "package")
    entries = as_list(data.get("package"), "package")
    versions = _UvVersions(entries)
    for i, entry in enumerate(entries):
        with result.entry(path, _entry_line(lines, i)):
            found = _uv_entry(path, entry, _entry_line(lines, i), versions)
            if isinstance(found, Project):
                result.projects.append(found)
            else:
                result.packages.append(found)
    result.files.append(path)


def _pipfile_data(text: str) -> dict[str, Any]:
    try:
        data = loads_json_strict(text)
    except ValueError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise LockfileError(f"invalid JSON: {exc}", int(match.group(1)) if match else 1) from exc
    if not isinstance(data, dict):
        raise LockfileError("Pipfile.lock is not a JSON object")
    return data


def _pipfile_hashes(entry: dict[str, Any], line: int) -> list[str]:
    return [prefixed_hash(h) for h in as_list(entry.get("hashes"), "hashes", line)]


def _pipfile_git(path: str, name: str, entry: dict[str, Any], line: int) -> Package:
    return package(
        "PyPI",
        name,
        None,
        file=path,
        line=line,
        source=git_source(str(entry["git"])),
        spec=str(entry.get("ref", "")) or None,
        direct=True,
        hash_supported=False,
        pinning=not _COMMIT.fullmatch(str(entry.get("ref", ""))),
    )


def _pipfile_url(path: str, name: str, entry: dict[str, Any], remote: str, line: int) -> Package:
    # Pipfile's ``file = "https://..."``: an archive fetched from a URL, not the project's
    # own code (it is what deps/source-changed exists for).
    return package(
        "PyPI",
        name,
        None,
        file=path,
        line=line,
        source=f"url:{remote.split('#')[0]}",
        spec=remote,
        direct=True,
        hashes=_pipfile_hashes(entry, line),
        hash_supported=True,
        pinning=False,
    )


def _pipfile_pinned(
    path: str, where: str, name: str, entry: dict[str, Any], line: int, sources: dict[Any, Any]
) -> Package:
    raw = entry.get("version")
    if raw is not None and not isinstance(raw, str):
        raise LockfileError(f"{where}.version is not a string", line)
    version = raw[2:] if isinstance(raw, str) and raw.startswith("==") else None
    index = entry.get("index")
    return package(
        "PyPI",
        name,
        version,
        file=path,
        line=line,
        source=registry_source("PyPI", sources.get(index) if index else None),
        hashes=_pipfile_hashes(entry, line),
        spec=None if version else str(raw or "*"),
        hash_supported=True,
    )


def _pipfile_entry(
    path: str, where: str, name: str, entry: Any, line: int, sources: dict[Any, Any]
) -> Package | None:
    """One entry of ``default`` or ``develop``; None for the project's own code."""
    if not isinstance(entry, dict):
        raise LockfileError(f"{where} is not an object", line)
    if "git" in entry:
        return _pipfile_git(path, name, entry, line)
    remote = str(entry.get("file", ""))
    if "path" not in entry and "://" in remote and not remote.startswith("file:"):
        return _pipfile_url(path, name, entry, remote, line)
    if "path" in entry or "file" in entry:
        return None  # local project code
    return _pipfile_pinned(path, where, name, entry, line, sources)


def parse_pipfile_lock(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    data = _pipfile_data(text)
    sources = {
        s.get("name"): s.get("url")
        for s in as_list(as_table(data.get("_meta"), "_meta").get("sources"), "sources")
        if isinstance(s, dict)
    }
    counter = LineCounter(text)
    for section in ("default", "develop"):
        section_pos = max(text.find(f'"{section}": {{'), 0)
        section_line = counter.line_of(section_pos)
        for name, entry in sorted(as_table(data.get(section), section).items()):
            pos = text.find(f'"{name}": {{', section_pos)
            line = counter.line_of(pos) if pos >= 0 else section_line
            with result.entry(path, line):
                found = _pipfile_entry(path, f"{section}.{name}", name, entry, line, sources)
                if found is not None:
                    result.packages.append(found)
    result.files.append(path)


def _pep621_declared(path: str, text: str, data: dict[str, Any], result: ParseResult) -> None:
    project = as_table(data.get("project"), "project")
    groups: list[Any] = list(as_list(project.get("dependencies"), "project.dependencies"))
    for extra in as_table(project.get("optional-dependencies"), "optional-dependencies").values():
        groups.extend(as_list(extra, "optional-dependencies"))
    for raw in groups:
        if not isinstance(raw, str):
            raise LockfileError(f"dependency {raw!r} is not a string", find_line(text, [str(raw)]))
        line = find_line(text, [f'"{raw}"', f"'{raw}'", raw])
        try:
            req = Requirement(raw)
        except InvalidRequirement as exc:
            raise LockfileError(f"invalid requirement {raw!r}: {exc}", line) from exc
        result.declared.append(
            Declared(
                ecosystem="PyPI",
                name=normalize_name("PyPI", req.name),
                spec=str(req.specifier),
                file=path,
                line=line,
                syntax="pep508",
            )
        )


def _poetry_spec(name: str, spec: Any) -> str | None:
    """The version constraint of a ``[tool.poetry]`` dependency; None for python itself and
    the project's own (path or develop) dependencies."""
    if name.lower() == "python":
        return None
    if isinstance(spec, dict) and ("path" in spec or "develop" in spec):
        return None
    if isinstance(spec, str):
        return spec
    return str(spec.get("version", "*") if isinstance(spec, dict) else "*")


def _poetry_declared(path: str, text: str, data: dict[str, Any], result: ParseResult) -> None:
    poetry = as_table(as_table(data.get("tool"), "tool").get("poetry"), "tool.poetry")
    tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
    tables.extend(
        group.get("dependencies")
        for group in as_table(poetry.get("group"), "tool.poetry.group").values()
        if isinstance(group, dict)
    )
    for table in tables:
        for name, spec in as_table(table, "tool.poetry.dependencies").items():
            spec_text = _poetry_spec(name, spec)
            if spec_text is None:
                continue
            match = re.search(rf"^\s*\"?{re.escape(name)}\"?\s*=", text, re.MULTILINE)
            result.declared.append(
                Declared(
                    ecosystem="PyPI",
                    name=normalize_name("PyPI", name),
                    spec=spec_text,
                    file=path,
                    line=text.count("\n", 0, match.start()) + 1 if match else 1,
                    syntax="poetry",
                )
            )


def parse_pyproject(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    """Declarations only: a manifest is checked against its lockfile, it does not pin."""
    data = load_toml(path, text)
    _pep621_declared(path, text, data, result)
    _poetry_declared(path, text, data, result)
    build_system_hook(path, text, data, result)
    result.files.append(path)
