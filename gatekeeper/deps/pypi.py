"""PyPI: ``requirements*.txt`` (with ``-r``/``-c`` includes, ``--hash``, extras, markers and
index options), ``poetry.lock``, ``Pipfile.lock``, ``uv.lock`` and ``pyproject.toml`` (PEP 621
and ``[tool.poetry]`` declarations).
"""

from __future__ import annotations

import posixpath
import re
import shlex
import tomllib
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from gatekeeper._fileio import loads_json_strict
from gatekeeper.deps.common import (
    FileSource,
    LineCounter,
    LockfileError,
    ParseResult,
    find_line,
    normalize_name,
    package,
    prefixed_hash,
    registry_source,
    table_lines,
)
from gatekeeper.models.deps import Declared

# pip options that take a value; the value never names a package.
_VALUE_OPTIONS = {
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--trusted-host",
    "--use-feature",
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


def parse_requirements(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    """Parse one requirements file and, recursively, its ``-r`` / ``-c`` includes."""
    if path in result.included:
        return
    result.included.add(path)
    result.files.append(path)
    index = registry_source("PyPI", None)
    extras: list[str] = []
    entries: list[tuple[int, list[str], list[str]]] = []  # (line, requirement tokens, hashes)
    for number, line in _logical_lines(text):
        # As pip does: the requirement is everything before the first option; only the
        # options are shell-split (markers keep their quotes).
        words = line.split()
        first_opt = next((i for i, w in enumerate(words) if w.startswith("-")), len(words))
        try:
            tokens = shlex.split(" ".join(words[first_opt:]), posix=True)
        except ValueError as exc:
            result.error(path, number, f"cannot split line: {exc}")
            continue
        hashes: list[str] = []
        req_tokens: list[str] = [" ".join(words[:first_opt])] if first_opt else []
        i = 0
        try:
            while i < len(tokens):
                tok = tokens[i]
                opt, eq, value = tok.partition("=")
                if tok.startswith("-") and (opt in _VALUE_OPTIONS or tok in _VALUE_OPTIONS):
                    if not eq:
                        if i + 1 >= len(tokens):
                            raise LockfileError(f"option {tok} needs a value", number)
                        value = tokens[i + 1]
                        i += 1
                    name = opt if eq else tok
                    if name == "--hash":
                        hashes.append(prefixed_hash(value))
                    elif name in ("-i", "--index-url"):
                        index = registry_source("PyPI", value)
                    elif name == "--extra-index-url":
                        extras.append(value.rstrip("/"))
                    elif name in ("-r", "--requirement", "-c", "--constraint"):
                        included = _resolve_include(path, value)
                        data = source.read(included)
                        if data is None:
                            raise LockfileError(f"included file {value!r} not found", number)
                        try:
                            sub_text = data.decode("utf-8")
                        except UnicodeDecodeError as exc:
                            raise LockfileError(f"{value!r} is not UTF-8", number) from exc
                        parse_requirements(included, sub_text, result, source)
                    elif name in ("-e", "--editable"):
                        req_tokens = ["-e", value]
                elif tok.startswith("-"):
                    if tok not in _FLAG_OPTIONS:
                        raise LockfileError(f"unknown pip option {tok}", number)
                else:
                    req_tokens.append(tok)
                i += 1
        except LockfileError as exc:
            result.error(path, exc.line if exc.line > 1 else number, str(exc))
            continue
        if req_tokens:
            entries.append((number, req_tokens, hashes))
    hash_mode = any(h for _, _, h in entries)
    full_source = index + "".join(f" extra:{e}" for e in sorted(set(extras)))
    for number, req_tokens, hashes in entries:
        _requirement_entry(path, number, req_tokens, hashes, hash_mode, full_source, result)


_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _commit_pinned(url: str) -> bool:
    """A VCS URL pinned to a full commit id (``...@<sha>``) is as exact as a version; a URL
    to an archive is pinned by its hash instead (``--hash``)."""
    if not url.startswith(("git+", "hg+")):
        return True
    ref = url.split("#")[0].rsplit("@", 1)
    return len(ref) == 2 and bool(_COMMIT.fullmatch(ref[1]))


_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")


def _requirement_entry(
    path: str,
    number: int,
    tokens: list[str],
    hashes: list[str],
    hash_mode: bool,
    index: str,
    result: ParseResult,
) -> None:
    if tokens[0] == "-e":
        target = tokens[1]
        egg = _EGG.search(target)
        if target.startswith((".", "/")) or "://" not in target:
            return  # an editable local directory is the project's own code, not a dependency
        tail = posixpath.basename(target.split("#")[0]).removesuffix(".git")
        name = egg.group(1) if egg else tail
        kind = "git" if target.startswith("git+") else "url"
        result.packages.append(
            package(
                "PyPI",
                name,
                None,
                file=path,
                line=number,
                source=f"{kind}:{target.split('#')[0]}",
                spec=target,
                direct=True,
                hash_supported=False,
                pinning=not _commit_pinned(target),
            )
        )
        return
    text = " ".join(tokens)
    if re.match(r"^(git\+|hg\+|svn\+|bzr\+|https?://|file:)", text):
        egg = _EGG.search(text)
        if egg is None:
            result.error(path, number, f"URL requirement without #egg= name: {text[:80]}")
            return
        kind = "git" if text.startswith("git+") else ("path" if text.startswith("file:") else "url")
        result.packages.append(
            package(
                "PyPI",
                egg.group(1),
                None,
                file=path,
                line=number,
                source=f"{kind}:{text.split('#')[0]}",
                spec=text,
                direct=True,
                hashes=hashes,
                pinning=not _commit_pinned(text),
                hash_supported=kind == "url",
            )
        )
        return
    if text.startswith((".", "/")):
        return  # a local path install is the project's own code
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        result.error(path, number, f"invalid requirement: {exc}")
        return
    if req.url:
        kind = (
            "git"
            if req.url.startswith("git+")
            else ("path" if req.url.startswith("file:") else "url")
        )
        result.packages.append(
            package(
                "PyPI",
                req.name,
                None,
                file=path,
                line=number,
                source=f"{kind}:{req.url.split('#')[0]}",
                spec=str(req),
                direct=True,
                hashes=hashes,
                hash_supported=kind == "url",
                pinning=not _commit_pinned(req.url),
            )
        )
        return
    specs = list(req.specifier)
    version: str | None = None
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        version = specs[0].version
    result.packages.append(
        package(
            "PyPI",
            req.name,
            version,
            file=path,
            line=number,
            source=index,
            spec=None if version else (str(req.specifier) or "(any)"),
            direct=True,
            hashes=hashes,
            # Hashes are only expected once the file is in pip's hash-checking mode.
            hash_supported=hash_mode,
        )
    )


def _toml(path: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise LockfileError(f"invalid TOML: {exc}", int(match.group(1)) if match else 1) from exc


def _as_list(value: Any, what: str, line: int = 1) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise LockfileError(f"{what} is not a list", line)
    return value


def _as_table(value: Any, what: str, line: int = 1) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LockfileError(f"{what} is not a table", line)
    return value


def parse_poetry_lock(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    data = _toml(path, text)
    lines = table_lines(text, "package")
    legacy_files = _as_table(_as_table(data.get("metadata"), "metadata").get("files"), "files")
    for i, entry in enumerate(_as_list(data.get("package"), "package")):
        line = lines[i] if i < len(lines) else 1
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
        hashes = [
            prefixed_hash(f["hash"])
            for f in _as_list(files, "files", line)
            if isinstance(f, dict) and f.get("hash")
        ]
        src = _as_table(entry.get("source"), "source", line)
        kind = src.get("type")
        hash_supported = True
        if kind in (None, ""):
            source_str = registry_source("PyPI", None)
        elif kind == "legacy":
            source_str = registry_source("PyPI", str(src.get("url", "")))
        elif kind == "git":
            source_str = f"git:{src.get('url', '')}"
            hash_supported = False
        elif kind == "url":
            source_str = f"url:{src.get('url', '')}"
        elif kind in ("directory", "file"):
            source_str = f"path:{src.get('url', '')}"
            hash_supported = kind == "file"
        else:
            raise LockfileError(f"unknown package source type {kind!r}", line)
        deps = list(_as_table(entry.get("dependencies"), "dependencies", line))
        result.packages.append(
            package(
                "PyPI",
                name,
                version,
                file=path,
                line=line,
                source=source_str,
                hashes=hashes,
                hash_supported=hash_supported,
                depends_on=[normalize_name("PyPI", d) for d in deps],
            )
        )
    result.files.append(path)


def parse_uv_lock(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    data = _toml(path, text)
    lines = table_lines(text, "package")
    for i, entry in enumerate(_as_list(data.get("package"), "package")):
        line = lines[i] if i < len(lines) else 1
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise LockfileError("a [[package]] without a name", line)
        src = _as_table(entry.get("source"), "source", line)
        if "editable" in src or "virtual" in src:
            continue  # the workspace's own projects
        version = entry.get("version")
        if not isinstance(version, str):
            raise LockfileError(f"package {entry['name']!r} has no version", line)
        hash_supported = True
        if "registry" in src:
            source_str = registry_source("PyPI", str(src["registry"]))
        elif "git" in src:
            source_str, hash_supported = f"git:{str(src['git']).split('#')[0]}", False
        elif "url" in src:
            source_str = f"url:{src['url']}"
        elif "path" in src or "directory" in src:
            source_str = f"path:{src.get('path') or src.get('directory')}"
            hash_supported = "path" in src
        else:
            raise LockfileError(f"package {entry['name']!r} has an unknown source", line)
        hashes = []
        sdist = _as_table(entry.get("sdist"), "sdist", line)
        if sdist.get("hash"):
            hashes.append(prefixed_hash(str(sdist["hash"])))
        hashes.extend(
            prefixed_hash(str(wheel["hash"]))
            for wheel in _as_list(entry.get("wheels"), "wheels", line)
            if isinstance(wheel, dict) and wheel.get("hash")
        )
        deps = [
            d["name"]
            for d in _as_list(entry.get("dependencies"), "dependencies", line)
            if isinstance(d, dict) and isinstance(d.get("name"), str)
        ]
        result.packages.append(
            package(
                "PyPI",
                entry["name"],
                version,
                file=path,
                line=line,
                source=source_str,
                hashes=hashes,
                hash_supported=hash_supported,
                depends_on=[normalize_name("PyPI", d) for d in deps],
            )
        )
    result.files.append(path)


def parse_pipfile_lock(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    try:
        data = loads_json_strict(text)
    except ValueError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise LockfileError(f"invalid JSON: {exc}", int(match.group(1)) if match else 1) from exc
    if not isinstance(data, dict):
        raise LockfileError("Pipfile.lock is not a JSON object")
    sources = {
        s.get("name"): s.get("url")
        for s in _as_list(_as_table(data.get("_meta"), "_meta").get("sources"), "sources")
        if isinstance(s, dict)
    }
    counter = LineCounter(text)
    for section in ("default", "develop"):
        section_pos = max(text.find(f'"{section}": {{'), 0)
        section_line = counter.line_of(section_pos)
        for name, entry in sorted(_as_table(data.get(section), section).items()):
            pos = text.find(f'"{name}": {{', section_pos)
            line = counter.line_of(pos) if pos >= 0 else section_line
            if not isinstance(entry, dict):
                raise LockfileError(f"{section}.{name} is not an object", line)
            if "git" in entry:
                result.packages.append(
                    package(
                        "PyPI",
                        name,
                        None,
                        file=path,
                        line=line,
                        source=f"git:{entry['git']}",
                        spec=str(entry.get("ref", "")) or None,
                        direct=True,
                        hash_supported=False,
                        pinning=not _COMMIT.fullmatch(str(entry.get("ref", ""))),
                    )
                )
                continue
            remote = str(entry.get("file", ""))
            if "path" not in entry and "://" in remote and not remote.startswith("file:"):
                # Pipfile's ``file = "https://..."``: an archive fetched from a URL, not the
                # project's own code (it is what deps/source-changed exists for).
                result.packages.append(
                    package(
                        "PyPI",
                        name,
                        None,
                        file=path,
                        line=line,
                        source=f"url:{remote.split('#')[0]}",
                        spec=remote,
                        direct=True,
                        hashes=[
                            prefixed_hash(h) for h in _as_list(entry.get("hashes"), "hashes", line)
                        ],
                        hash_supported=True,
                        pinning=False,
                    )
                )
                continue
            if "path" in entry or "file" in entry:
                continue  # local project code
            raw = entry.get("version")
            if raw is not None and not isinstance(raw, str):
                raise LockfileError(f"{section}.{name}.version is not a string", line)
            version = raw[2:] if isinstance(raw, str) and raw.startswith("==") else None
            index = entry.get("index")
            src = registry_source("PyPI", sources.get(index) if index else None)
            result.packages.append(
                package(
                    "PyPI",
                    name,
                    version,
                    file=path,
                    line=line,
                    source=src,
                    hashes=[
                        prefixed_hash(h) for h in _as_list(entry.get("hashes"), "hashes", line)
                    ],
                    spec=None if version else str(raw or "*"),
                    hash_supported=True,
                )
            )
    result.files.append(path)


def parse_pyproject(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    """Declarations only: a manifest is checked against its lockfile, it does not pin."""
    data = _toml(path, text)
    project = _as_table(data.get("project"), "project")
    groups: list[Any] = list(_as_list(project.get("dependencies"), "project.dependencies"))
    for extra in _as_table(project.get("optional-dependencies"), "optional-dependencies").values():
        groups.extend(_as_list(extra, "optional-dependencies"))
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
    poetry = _as_table(_as_table(data.get("tool"), "tool").get("poetry"), "tool.poetry")
    tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
    tables.extend(
        group.get("dependencies")
        for group in _as_table(poetry.get("group"), "tool.poetry.group").values()
        if isinstance(group, dict)
    )
    for table in tables:
        for name, spec in _as_table(table, "tool.poetry.dependencies").items():
            if name.lower() == "python":
                continue
            if isinstance(spec, dict) and ("path" in spec or "develop" in spec):
                continue
            spec_text = (
                spec
                if isinstance(spec, str)
                else str(spec.get("version", "*") if isinstance(spec, dict) else "*")
            )
            match = re.search(rf"^\s*\"?{re.escape(name)}\"?\s*=", text, re.MULTILINE)
            line = text.count("\n", 0, match.start()) + 1 if match else 1
            result.declared.append(
                Declared(
                    ecosystem="PyPI",
                    name=normalize_name("PyPI", name),
                    spec=spec_text,
                    file=path,
                    line=line,
                    syntax="poetry",
                )
            )
    result.files.append(path)
