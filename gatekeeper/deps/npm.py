"""npm: ``package.json`` (declarations), ``package-lock.json`` v1/v2/v3, ``yarn.lock`` v1 and
berry, ``pnpm-lock.yaml`` v5 to v9.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

import yaml

from gatekeeper._fileio import loads_json_strict
from gatekeeper._yaml import load_yaml
from gatekeeper.deps.common import (
    find_line,
    git_source,
    hex_hash,
    line_index,
    package,
    redact_credentials,
    registry_source,
    sri_to_hashes,
    use_of,
)
from gatekeeper.deps.install import npm_script_hooks
from gatekeeper.deps.parsing import FileSource, LockfileError, ParseResult
from gatekeeper.models.deps import Declared, Package, Project

_DEP_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")


def _json(text: str) -> Any:
    try:
        return loads_json_strict(text)
    except ValueError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise LockfileError(f"invalid JSON: {exc}", int(match.group(1)) if match else 1) from exc


def npm_source(name: str, resolved: str | None) -> tuple[str, bool]:
    """The source of a resolved URL and whether an integrity hash is expected for it."""
    if not resolved:
        return registry_source("npm", None), True
    if (
        resolved.startswith(("git+", "git:", "github:", "gitlab:", "bitbucket:"))
        or "codeload.github.com" in resolved
    ):
        return git_source(resolved), False
    if resolved.startswith(("file:", "link:", "workspace:")):
        return f"path:{resolved.split(':', 1)[1]}", False
    marker = f"/{name}/-/"
    if marker in resolved:
        return registry_source("npm", resolved.split(marker)[0]), True
    return f"url:{resolved}", True


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _integrity(value: Any, line: int) -> list[str]:
    """The hashes of an SRI ``integrity`` value (none when absent), errors at ``line``."""
    try:
        return sri_to_hashes(value) if isinstance(value, str) else []
    except LockfileError as exc:
        raise LockfileError(str(exc), line) from exc


def _lock_declaration(path: str, name: str, spec: Any, line: int) -> Declared:
    """A dependency of the project as a lockfile recorded it."""
    return Declared(
        ecosystem="npm",
        name=name,
        spec=redact_credentials(str(spec)),
        file=path,
        line=line,
        role="lock",
        syntax="npm",
    )


def _name_from_path(key: str) -> str:
    return key.rsplit("node_modules/", 1)[-1]


def parse_package_json(path: str, text: str, result: ParseResult, tree: FileSource) -> None:
    data = _json(text)
    if not isinstance(data, dict):
        raise LockfileError("package.json is not a JSON object")
    for field in _DEP_FIELDS[:3]:
        deps = data.get(field) or {}
        if not isinstance(deps, dict):
            raise LockfileError(f"{field} is not an object", find_line(text, [f'"{field}"']))
        field_line = find_line(text, [f'"{field}"'])
        for name, spec in sorted(deps.items()):
            if not isinstance(spec, str):
                raise LockfileError(f"{field}.{name} is not a string", field_line)
            rest = text[text.find(f'"{field}"') :] if field_line > 1 else text
            line = field_line + find_line(rest, [f'"{name}"'], 1) - 1
            result.declared.append(
                Declared(
                    ecosystem="npm",
                    name=name,
                    spec=redact_credentials(spec),
                    file=path,
                    line=line,
                    syntax="npm",
                )
            )
    npm_script_hooks(path, text, data, tree, result)
    result.files.append(path)


_LOCK_KEY = re.compile(r'^    "((?:[^"\\]|\\.)*)": \{', re.MULTILINE)

# What an installed package's dependencies are (devDependencies are not installed with it).
_INSTALLED_FIELDS = ("dependencies", "optionalDependencies", "peerDependencies")
# What a project of the repository (the root, a workspace member) depends on.
_PROJECT_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")


def _dep_names(entry: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    names: list[str] = []
    for field in fields:
        value = entry.get(field)
        if isinstance(value, dict):
            names.extend(str(name) for name in value)
    return names


def node_resolve(installed: dict[str, Any], directory: str, name: str) -> str | None:
    """The install path of ``name`` as Node resolves it from the package at ``directory``
    (``""`` for the root): ``directory/node_modules/name``, then each parent's, up to the
    root's ``node_modules/name``; None when none of them is installed."""
    parts = directory.split("/") if directory else []
    for end in range(len(parts), -1, -1):
        if end and parts[end - 1] == "node_modules":
            continue  # Node never looks in node_modules/node_modules
        prefix = "/".join(parts[:end])
        candidate = f"{prefix}/node_modules/{name}" if prefix else f"node_modules/{name}"
        if candidate in installed:
            return candidate
    return None


class _InstallTree:
    """A lockfile's install paths (``node_modules/a/node_modules/b``) and what is at each:
    who gets which version is Node's resolution over these paths."""

    def __init__(self) -> None:
        self.at: dict[str, tuple[str, str] | None] = {}  # path -> (name, version); None: a link

    def uses(self, directory: str, names: list[str]) -> list[str]:
        """``name@version`` each of ``names`` resolves to from ``directory`` (sorted)."""
        out = set()
        for name in names:
            found = node_resolve(self.at, directory, name)
            target = self.at.get(found) if found is not None else None
            if target is not None:  # a link resolves to a workspace member: the project's code
                out.add(use_of(*target))
        return sorted(out)


def parse_package_lock(path: str, text: str, result: ParseResult, tree: FileSource) -> None:
    data = _json(text)
    if not isinstance(data, dict):
        raise LockfileError("package-lock.json is not a JSON object")
    version = data.get("lockfileVersion")
    if version not in (1, 2, 3):
        raise LockfileError(
            f"unsupported lockfileVersion {version!r}", find_line(text, ['"lockfileVersion"'])
        )
    packages = data.get("packages")
    if version == 1 or not isinstance(packages, dict):
        _parse_lock_v1(path, text, data, result, tree)
        result.files.append(path)
        return
    lines = line_index(text, _LOCK_KEY)
    direct = _lock_root(path, packages.get("") or {}, lines.get("", 1), result)
    # First what is installed where (who gets which version is Node's resolution over the
    # install paths), then each entry with the versions it gets. An entry that cannot be
    # read is its own parse error; the others are still read.
    installed = _InstallTree()
    readable: dict[str, dict[str, Any]] = {}
    for key, entry in packages.items():
        if key == "" or "node_modules/" not in key:
            continue  # the root project and workspace members are the project's own code
        with result.entry(path, lines.get(key, 1)):
            installed.at[key] = _installed_at(key, entry, lines.get(key, 1))
            readable[key] = entry
    members = _workspace_globs(packages.get(""))
    local_names = _file_dependencies(packages.get(""))
    for key, entry in packages.items():
        line = lines.get(key, 1)
        if key == "" or "node_modules/" not in key:
            if isinstance(entry, dict):
                uses = installed.uses(key, _dep_names(entry, _PROJECT_FIELDS))
                result.projects.append(Project(file=path, name=key or ".", line=line, uses=uses))
            if key and not any(fnmatch.fnmatchcase(key, glob) for glob in members):
                with result.entry(path, line):
                    result.packages.append(_local_folder(path, key, entry, local_names, line))
        elif key in readable and entry.get("link"):
            continue  # its folder's own entry is the package (or a workspace member)
        elif key in readable:
            uses = installed.uses(key, _dep_names(entry, _INSTALLED_FIELDS))
            with result.entry(path, line):
                result.packages.append(_lock_entry(path, key, entry, line, direct, uses))
    result.files.append(path)


def _workspace_globs(root: Any) -> list[str]:
    """The root project's ``workspaces`` patterns (a list, or ``{"packages": [...]}``)."""
    spaces = root.get("workspaces") if isinstance(root, dict) else None
    if isinstance(spaces, dict):
        spaces = spaces.get("packages")
    return [str(p).rstrip("/") for p in spaces] if isinstance(spaces, list) else []


def _file_dependencies(root: Any) -> dict[str, str]:
    """Folder -> name of the root's ``file:`` dependencies (``"etag": "file:./deps/etag"``)."""
    out: dict[str, str] = {}
    if not isinstance(root, dict):
        return out
    for field in _DEP_FIELDS:
        deps = root.get(field)
        for name, spec in deps.items() if isinstance(deps, dict) else []:
            if isinstance(spec, str) and spec.startswith("file:"):
                out[posixpath.normpath(spec.removeprefix("file:"))] = str(name)
    return out


def _local_folder(path: str, key: str, entry: Any, names: dict[str, str], line: int) -> Package:
    """A folder of the repository that is no workspace member: the target of a ``file:``
    dependency, a local package recorded from its path with the version its entry gives."""
    if not isinstance(entry, dict):
        raise LockfileError(f"packages[{key!r}] is not an object", line)
    return package(
        "npm",
        _text(entry.get("name")) or names.get(key) or posixpath.basename(key),
        _text(entry.get("version")),
        file=path,
        line=line,
        source=f"path:{key}",
        pinning=False,
        depends_on=_dep_names(entry, _INSTALLED_FIELDS),
    )


def _git_resolved(resolved: Any) -> bool:
    return isinstance(resolved, str) and npm_source("", resolved)[0].startswith("git:")


def _installed_at(key: str, entry: Any, line: int) -> tuple[str, str] | None:
    """(name, version) installed at a ``packages`` key (v2/v3); None for a link to a
    workspace member, or a git dependency the lock records without a version."""
    if not isinstance(entry, dict):
        raise LockfileError(f"packages[{key!r}] is not an object", line)
    if entry.get("link"):
        return None
    ver = entry.get("version")
    if ver is None and _git_resolved(entry.get("resolved")):
        return None  # npm may leave a git dependency's version out: its commit pins it
    if not isinstance(ver, str):
        raise LockfileError(f"packages[{key!r}] has no version", line)
    return entry.get("name") or _name_from_path(key), ver


def _lock_root(path: str, root: Any, line: int, result: ParseResult) -> set[str]:
    """The project's own declarations as the lock recorded them; returns their names."""
    direct: set[str] = set()
    if not isinstance(root, dict):
        return direct
    for field in _DEP_FIELDS[:3]:
        for name, spec in sorted((root.get(field) or {}).items()):
            direct.add(name)
            result.declared.append(_lock_declaration(path, name, spec, line))
    return direct


_COMMIT_PIN = re.compile(r"#[0-9a-f]{40}$")
_DEFAULT = registry_source("npm", None)


def _lock_entry(
    path: str, key: str, entry: dict[str, Any], line: int, direct: set[str], uses: list[str]
) -> Package:
    """One installed ``packages`` entry (v2/v3), with the versions its dependencies get."""
    name = entry.get("name") or _name_from_path(key)
    resolved = _text(entry.get("resolved"))
    source, hash_supported = npm_source(name, resolved)
    hashes = _integrity(entry.get("integrity"), line)
    version = entry.get("version")
    return package(
        "npm",
        name,
        version,
        file=path,
        line=line,
        source=source,
        hashes=hashes,
        spec=None if version is not None else resolved,
        direct=key == f"node_modules/{name}" and name in direct,
        hash_supported=hash_supported and not entry.get("inBundle"),
        # A git dependency pinned to a full commit is as exact as a version.
        pinning=version is not None or not (resolved and _COMMIT_PIN.search(resolved)),
        depends_on=list(entry.get("dependencies") or {}),
        uses=uses,
        install_script=bool(entry.get("hasInstallScript")),
        registry_implied=resolved is None and isinstance(version, str) and source == _DEFAULT,
    )


# An .npmrc setting that chooses a registry: `registry` or `@scope:registry`.
_NPMRC_REGISTRY = re.compile(r"^\s*((?:@[^\s=:]+:)?registry)\s*=\s*(.*?)\s*$")


def parse_npmrc(path: str, text: str, result: ParseResult, tree: FileSource) -> None:
    """An .npmrc's registry settings (``registry``, ``@scope:registry``): where npm fetches
    the entries a package-lock records without a ``resolved`` URL. Nothing else is kept
    (the file often holds tokens)."""
    for number, line in enumerate(text.splitlines(), 1):
        found = _NPMRC_REGISTRY.match(line)
        if found:
            value = redact_credentials(found.group(2).strip("'\"")[:300])
            result.registry_config.append(f"{path}:{number}: {found.group(1)}={value}")


# A key opening an object, at the start of a line (npm pretty-prints its locks).
_V1_KEY = re.compile(r'^[ \t]*"((?:[^"\\]|\\.)*)": \{', re.MULTILINE)


def _manifest_beside(path: str, tree: FileSource) -> dict[str, Any] | None:
    """The package.json beside a lockfile (None: none, or unreadable: its own problems are
    reported when it is parsed as a manifest)."""
    try:
        data = tree.read(posixpath.join(posixpath.dirname(path), "package.json"))
        manifest = loads_json_strict(data.decode("utf-8-sig")) if data is not None else None
    except (LockfileError, UnicodeDecodeError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _v1_alias(name: str, version: str) -> tuple[str, str]:
    """(package, version) of a v1 entry: an alias (``"string-width-cjs": {"version":
    "npm:string-width@4.2.3"}``) installs the package named after ``npm:``; the alias is
    only the folder it lands in."""
    if version.startswith("npm:") and "@" in version[5:]:
        real, _, real_version = version.removeprefix("npm:").rpartition("@")
        return real, real_version
    return name, version


def _parse_lock_v1(
    path: str, text: str, data: dict[str, Any], result: ParseResult, tree: FileSource
) -> None:
    # NOTE: one pass for every key's first line; a text.find per dependency was quadratic
    # (28 s for 20,000 entries).
    lines = line_index(text, _V1_KEY)
    installed = _InstallTree()
    # (install path, name, entry, line, depth) of every entry of the nested tree
    rows: list[tuple[str, str, dict[str, Any], int, int]] = []

    def walk(deps: Any, parent: str, depth: int) -> None:
        if not isinstance(deps, dict):
            raise LockfileError("dependencies is not an object")
        for folder, entry in deps.items():
            line = lines.get(folder, 1)
            key = f"{parent}/node_modules/{folder}" if parent else f"node_modules/{folder}"
            if not isinstance(entry, dict) or not isinstance(entry.get("version"), str):
                result.error(path, line, f"dependency {folder!r} has no version")
                continue
            ver = entry["version"]
            if ver.startswith(("file:", "link:")):
                installed.at[key] = None
                if ver.startswith("file:"):  # a local package (a folder or a tarball)
                    rows.append((key, folder, entry, line, depth))
                continue
            name, ver = _v1_alias(folder, ver)
            # git or URL dependency: the version field holds the spec, no version
            installed.at[key] = None if ":" in ver else (name, ver)
            rows.append((key, name, entry, line, depth))
            if entry.get("dependencies"):
                with result.entry(path, line):
                    walk(entry["dependencies"], key, depth + 1)

    walk(data.get("dependencies") or {}, "", 0)
    for key, name, entry, line, depth in rows:
        uses = installed.uses(key, list(entry.get("requires") or {}))
        with result.entry(path, line):
            result.packages.append(_v1_entry(path, name, entry, line, depth, uses))
    # v1 does not record the project's own dependencies: the package.json beside it does.
    manifest = _manifest_beside(path, tree)
    if manifest is not None:
        uses = installed.uses("", _dep_names(manifest, _PROJECT_FIELDS))
        result.projects.append(Project(file=path, name=".", line=1, uses=uses))


def _v1_entry(
    path: str, name: str, entry: dict[str, Any], line: int, depth: int, uses: list[str]
) -> Package:
    ver = _v1_alias(name, entry["version"])[1]
    if ver.startswith("file:"):
        return package(
            "npm",
            name,
            None,
            file=path,
            line=line,
            source=f"path:{ver.removeprefix('file:')}",
            spec=ver,
            direct=depth == 0,
            pinning=False,
            depends_on=list(entry.get("requires") or {}),
            uses=uses,
        )
    resolved = entry.get("resolved")
    source, hash_supported = npm_source(
        name, resolved if isinstance(resolved, str) else (ver if ":" in ver else None)
    )
    ver_out = None if ":" in ver else ver  # git or URL: the version field holds the spec
    integrity = entry.get("integrity")
    return package(
        "npm",
        name,
        ver_out,
        file=path,
        line=line,
        source=source,
        hashes=_integrity(integrity, line),
        direct=depth == 0,
        spec=None if ver_out else ver,
        hash_supported=hash_supported,
        pinning=ver_out is not None or not _COMMIT_PIN.search(ver),
        depends_on=list(entry.get("requires") or {}),
        uses=uses,
    )


# ------------------------------------------------------------------ yarn.lock (v1 and berry)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


# One member of an entry header: a quoted string (v1 quotes each descriptor, berry the whole
# header) or an unquoted run up to the next comma.
_HEADER_PART = re.compile(r'"((?:[^"\\]|\\.)*)"|([^,"]+)')


def _header_descriptors(header: str) -> list[str]:
    """The descriptors of an entry header (without its final colon): ``a@^1, a@^1.2`` (v1
    unquoted), ``"a@^1", "a@^1.2"`` (v1 quoted), ``"a@npm:^1, a@npm:^1.2"`` (berry)."""
    out: list[str] = []
    for quoted, bare in _HEADER_PART.findall(header):
        text = quoted.replace('\\"', '"') if quoted else bare
        out.extend(part.strip() for part in text.split(",") if part.strip())
    return out


def _split_descriptor(descriptor: str, bare: bool = False) -> tuple[str, str]:
    """``@scope/name@^1.0`` -> (``@scope/name``, ``^1.0``); with ``bare``, a name alone
    (an entry header without a range, ``balanced-match:``) is that name with range ``""``."""
    at = descriptor.find("@", 1)
    if at < 0:
        if bare and descriptor and " " not in descriptor:
            return descriptor, ""
        raise LockfileError(f"not a yarn descriptor: {descriptor!r}")
    return descriptor[:at], descriptor[at + 1 :]


class _YarnEntries:
    """The structure of a yarn.lock, v1 or berry: both are indentation-based, an entry
    header at column 0 and its fields indented (one level of sub-fields: dependencies)."""

    def __init__(self, berry: bool) -> None:
        self.berry = berry
        self.separator = ": " if berry else " "
        self.entries: list[tuple[int, list[str], dict[str, Any]]] = []
        self.current: dict[str, Any] | None = None
        self.sub: dict[str, str] | None = None

    def feed(self, number: int, raw: str) -> None:
        if not raw.strip() or raw.lstrip().startswith("#"):
            return
        indent = len(raw) - len(raw.lstrip(" "))
        line = raw.strip()
        if indent == 0:
            self._header(number, line)
        elif self.current is None:
            raise LockfileError("indented line outside an entry", number)
        elif indent == 2:
            self._field(number, line, self.current)
        elif indent >= 4 and self.sub is not None:
            key, _, value = line.partition(self.separator)
            self.sub[_unquote(key)] = _unquote(value)
        else:
            raise LockfileError(f"unexpected indentation {indent}", number)

    def _header(self, number: int, line: str) -> None:
        if not line.endswith(":"):
            raise LockfileError(f"expected an entry header, got {line[:60]!r}", number)
        self.current, self.sub = {}, None
        descriptors = _header_descriptors(line[:-1])
        if not descriptors:
            raise LockfileError(f"an entry header without descriptors: {line[:60]!r}", number)
        self.entries.append((number, descriptors, self.current))

    def _field(self, number: int, line: str, current: dict[str, Any]) -> None:
        self.sub = None
        if line.endswith(":"):
            self.sub = {}
            current[line[:-1].strip().strip('"')] = self.sub
            return
        key, sep, value = line.partition(self.separator)
        if not sep:
            expected = "'key: value'" if self.berry else "'key value'"
            raise LockfileError(f"expected {expected}, got {line[:60]!r}", number)
        current[_unquote(key)] = _unquote(value)


# The sub-fields of a yarn entry that name what it installs (peer dependencies are the
# dependent's to provide, so they are resolved from the dependent, not recorded here).
_YARN_DEP_FIELDS = ("dependencies", "optionalDependencies")


def _yarn_deps(fields: dict[str, Any]) -> list[str]:
    """The descriptors (``name@range``) of an entry's dependencies."""
    out: list[str] = []
    for field in _YARN_DEP_FIELDS:
        value = fields.get(field)
        if isinstance(value, dict):
            out.extend(f"{name}@{spec}" for name, spec in value.items())
    return out


def parse_yarn_lock(path: str, text: str, result: ParseResult, tree: FileSource) -> None:
    berry = "__metadata:" in text
    reader = _YarnEntries(berry)
    for number, raw in enumerate(text.splitlines(), start=1):
        reader.feed(number, raw)
    # Every descriptor (name@range) resolves to one entry: that is who gets which version.
    resolves: dict[str, tuple[str, str] | None] = {}
    found: list[tuple[int, dict[str, Any], _YarnTarget]] = []
    members: list[tuple[int, str, dict[str, Any]]] = []
    for number, keys, fields in reader.entries:
        if keys == ["__metadata"]:
            continue
        read = False
        with result.entry(path, number):
            target = _yarn_target(path, number, keys, fields, berry, result)
            read = True
        if not read:
            continue  # that entry's parse error is recorded; the others are still read
        for key in keys:
            resolves[key] = (target.name, target.version) if target is not None else None
        if target is not None:
            found.append((number, fields, target))
        elif berry and "@workspace:" in str(fields.get("resolution", "")):
            workspace = str(fields["resolution"]).split("@workspace:", 1)[1]
            members.append((number, workspace, fields))

    def uses(descriptors: list[str]) -> list[str]:
        return sorted({use_of(*r) for d in descriptors if (r := resolves.get(d)) is not None})

    for number, fields, target in found:
        result.packages.append(target.package(path, number, fields, uses(_yarn_deps(fields))))
    for number, workspace, fields in members:
        result.projects.append(
            Project(file=path, name=workspace, line=number, uses=uses(_yarn_deps(fields)))
        )
    if not berry:
        referenced = {d for _, fields, _ in found for d in _yarn_deps(fields)}
        _yarn_v1_projects(path, tree, resolves, referenced, result)
    result.files.append(path)


def _yarn_v1_projects(
    path: str,
    tree: FileSource,
    resolves: dict[str, tuple[str, str] | None],
    referenced: set[str],
    result: ParseResult,
) -> None:
    """yarn v1 does not record the projects: the root's dependencies are the package.json
    beside the lock; a descriptor nothing else asks for belongs to a workspace member the
    lock does not name, and is its own dependent (``range:name@range``)."""
    root: set[str] = set()
    manifest = _manifest_beside(path, tree)
    if manifest is not None:
        for field in _PROJECT_FIELDS:
            deps = manifest.get(field)
            if isinstance(deps, dict):
                root.update(f"{name}@{spec}" for name, spec in deps.items())
        result.projects.append(
            Project(
                file=path,
                name=".",
                line=1,
                uses=sorted({use_of(*r) for d in root if (r := resolves.get(d)) is not None}),
            )
        )
    for descriptor, target in sorted(resolves.items()):
        if target is not None and descriptor not in referenced and descriptor not in root:
            result.projects.append(
                Project(file=path, name=f"range:{descriptor}", line=1, uses=[use_of(*target)])
            )


@dataclass(frozen=True)
class _YarnTarget:
    """What one yarn entry resolves to: the package and where it comes from."""

    name: str
    version: str
    source: str
    hash_supported: bool
    hashes: list[str]

    def package(self, path: str, line: int, fields: dict[str, Any], uses: list[str]) -> Package:
        return package(
            "npm",
            self.name,
            self.version,
            file=path,
            line=line,
            source=self.source,
            hashes=self.hashes,
            hash_supported=self.hash_supported,
            depends_on=list(fields.get("dependencies") or {}),
            uses=uses,
        )


def _yarn_target(
    path: str,
    number: int,
    keys: list[str],
    fields: dict[str, Any],
    berry: bool,
    result: ParseResult,
) -> _YarnTarget | None:
    """One entry: its descriptors are declarations, its resolution a package (None for the
    project's own workspaces and local paths)."""
    name, spec = _split_descriptor(keys[0], bare=True)
    if spec.startswith("npm:") and "@" in spec[5:]:
        # An alias (``string-width-cjs@npm:string-width@^4.2.0``): the package installed
        # is the one named after ``npm:``; the alias is only the folder it lands in.
        name = _split_descriptor(spec.removeprefix("npm:"))[0]
    version = fields.get("version")
    if not isinstance(version, str):
        raise LockfileError(f"entry {keys[0]!r} has no version", number)
    for key in keys:
        declared_name, spec = _split_descriptor(key, bare=True)
        result.declared.append(
            _lock_declaration(path, declared_name, spec.removeprefix("npm:"), number)
        )
    located = _berry_source(fields) if berry else _classic_source(name, fields)
    if located is None:
        return None
    return _YarnTarget(name, version, *located)


def _berry_source(fields: dict[str, Any]) -> tuple[str, bool, list[str]] | None:
    """(source, hash supported, hashes) of a berry entry's resolution."""
    resolution = str(fields.get("resolution", ""))
    _, res = _split_descriptor(resolution) if resolution else ("", "npm:")
    if res.startswith("patch:"):
        # A builtin or local patch of another locator, e.g.
        # "patch:resolve@npm%3A1.22.1#~builtin<compat/resolve>": judge the locator.
        inner = urllib.parse.unquote(res.removeprefix("patch:").split("#")[0])
        _, res = _split_descriptor(inner)
    if res.startswith(("workspace:", "link:")):
        return None  # the project's own workspaces and linked folders
    if res.startswith(("portal:", "file:")):
        # A local package: recorded from its path; its checksum follows the folder's
        # content, so no hash (a local edit is no re-hash).
        return f"path:{res.split(':', 1)[1].split('#')[0].split('::')[0]}", False, []
    if res.startswith("npm:"):
        source = registry_source("npm", None)
    elif "git" in res.split(":")[0] or res.startswith(("github:", "https://github.com")):
        source = git_source(res)
    else:
        source = f"url:{res}"
    checksum = fields.get("checksum")
    # berry: "<cacheKey>/<sha512 hex>" (cache key absent in older versions)
    hashes = (
        [hex_hash("sha512", checksum.rsplit("/", 1)[-1])]
        if isinstance(checksum, str) and checksum
        else []
    )
    return source, True, hashes


def _classic_source(name: str, fields: dict[str, Any]) -> tuple[str, bool, list[str]] | None:
    """(source, hash supported, hashes) of a yarn v1 entry."""
    resolved = fields.get("resolved")
    if isinstance(resolved, str) and resolved.startswith(("file:", "link:")):
        if resolved.startswith("link:"):
            return None  # a linked folder: the project's own code
        return f"path:{resolved.removeprefix('file:').split('#')[0]}", False, []
    source, supported = npm_source(name, resolved if isinstance(resolved, str) else None)
    integrity = fields.get("integrity")
    hashes: list[str] = []
    if isinstance(integrity, str):
        hashes = sri_to_hashes(integrity)
    elif isinstance(resolved, str) and "#" in resolved and source.startswith("registry:"):
        # NOTE: old yarn v1 lockfiles carry only the tarball's sha1 in the URL fragment.
        hashes = [hex_hash("sha1", resolved.rsplit("#", 1)[1])]
    return source, supported, hashes


# ------------------------------------------------------------------ pnpm-lock.yaml


_PNPM_VERSION = re.compile(r"^v?\d")


def _pnpm_key(key: str, lock_version: float) -> tuple[str, str]:
    """``/name/1.0.0`` (v5; ``registry.host/name/1.0.0`` from another registry), ``/name@
    1.0.0(peer@1)`` (v6) or ``name@1.0.0`` (v9).

    Raises:
        LockfileError: the key names no version (``/name``, ``name``).
    """
    key = key.split("(")[0]
    if lock_version < 6:
        body = key[1:] if key.startswith("/") else key.partition("/")[2]
        if body.startswith("@"):
            scope, name, version = [*body.split("/", 2), "", ""][:3]
            name = f"{scope}/{name}"
        else:
            name, _, version = body.partition("/")
        version = version.split("_")[0]
    else:
        body = key.lstrip("/")
        at = body.find("@", 1)
        name, version = (body[:at], body[at + 1 :]) if at > 0 else (body, "")
    if not name or not _PNPM_VERSION.match(version):
        raise LockfileError(f"package key without a version: {key!r}")
    return name, version


_PNPM_KEY = re.compile(r"^  '?(/?[^'\s:][^'\n]*?)'?:\s*$", re.MULTILINE)


def _mapping(value: object, what: str, line: int) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise LockfileError(f"{what} is not a mapping", line)
    return value


def _pnpm_data(text: str) -> tuple[dict[Any, Any], float]:
    """The parsed lockfile and its version (5 or later)."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise LockfileError(f"invalid YAML: {exc}", mark.line + 1 if mark else 1) from exc
    if not isinstance(data, dict):
        raise LockfileError("pnpm-lock.yaml is not a mapping")
    try:
        lock_version = float(str(data.get("lockfileVersion", "0")))
    except ValueError as exc:
        raise LockfileError("lockfileVersion is not a number") from exc
    if lock_version < 5:
        raise LockfileError(f"unsupported lockfileVersion {data.get('lockfileVersion')!r}")
    return data, lock_version


def _pnpm_key_lines(text: str) -> dict[str, int]:
    """Key lines only within the packages: section."""
    start = text.find("\npackages:")
    section = text[start:] if start >= 0 else ""
    base_line = text.count("\n", 0, start) + 1 if start >= 0 else 1
    return {k: base_line + v - 1 for k, v in line_index(section, _PNPM_KEY).items()}


def _pnpm_importers(data: dict[Any, Any]) -> Any:
    """Every importer (project) of the lock (a v5 lock of one project keeps it at the top)."""
    return data.get("importers") or {
        ".": {
            "dependencies": data.get("dependencies") or {},
            "devDependencies": data.get("devDependencies") or {},
            "optionalDependencies": data.get("optionalDependencies") or {},
            "specifiers": data.get("specifiers") or {},
        }
    }


def _pnpm_root(data: dict[Any, Any]) -> Any:
    """The root project's importer."""
    importers = _pnpm_importers(data)
    return (importers.get(".") if isinstance(importers, dict) else None) or {}


def _pnpm_target(name: Any, value: Any, lock_version: float) -> tuple[str, str] | None:
    """(name, version) a dependency's value in the lock resolves to (``2.1.3``,
    ``4.3.4(supports-color@8.1.1)``, v5 ``1.0.0_react@17.0.2``, an alias ``/x/1.0.0`` or
    ``x@1.0.0``; an importer's ``{specifier, version}``); None for a local one or a URL."""
    if isinstance(value, dict):
        value = value.get("version")
    if not isinstance(name, str) or not isinstance(value, str):
        return None
    text = value.split("(")[0].strip()
    if not text or text.startswith(("link:", "file:", "workspace:")) or "://" in text:
        return None
    try:
        if text.startswith("/"):
            return _pnpm_key(text, lock_version)
        if "@" in text[1:]:
            return _pnpm_key(text, 9)
    except LockfileError:
        return None
    return name, text.split("_")[0] if lock_version < 6 else text


def _pnpm_uses(sources: list[Any], fields: tuple[str, ...], lock_version: float) -> list[str]:
    """``name@version`` of the dependencies listed in ``fields`` of each mapping in
    ``sources`` (a package entry, its v9 snapshots, or an importer)."""
    out: set[str] = set()
    for source in sources:
        if not isinstance(source, dict):
            continue
        for field in fields:
            deps = source.get(field)
            if not isinstance(deps, dict):
                continue
            for name, value in deps.items():
                target = _pnpm_target(name, value, lock_version)
                if target is not None:
                    out.add(use_of(*target))
    return sorted(out)


def _pnpm_snapshots(data: dict[Any, Any]) -> dict[str, list[Any]]:
    """v9 keeps each package's dependencies in ``snapshots``, one per peer context
    (``name@1.0.0(peer@2.0.0)``): by package key (``name@1.0.0``)."""
    out: dict[str, list[Any]] = {}
    snapshots = data.get("snapshots")
    if isinstance(snapshots, dict):
        for key, entry in snapshots.items():
            out.setdefault(str(key).split("(")[0], []).append(entry)
    return out


def _pnpm_importer(path: str, text: str, data: dict[Any, Any], result: ParseResult) -> set[str]:
    """The root project's declarations as the lock recorded them; returns their names."""
    direct: set[str] = set()
    line = find_line(text, ["\nimporters:", "\ndependencies:"]) + 1
    # SECURITY: hostile input: every level is type-checked; a wrong shape is a parse error.
    importer = _mapping(_pnpm_root(data), "importers['.']", line)
    specifiers = _mapping(importer.get("specifiers") or {}, "specifiers", line)
    for field in _DEP_FIELDS[:3]:
        deps = _mapping(importer.get(field) or {}, field, line)
        for name, value in sorted(deps.items(), key=lambda kv: str(kv[0])):
            direct.add(name)
            spec = value.get("specifier") if isinstance(value, dict) else specifiers.get(name)
            if spec is not None:
                result.declared.append(_lock_declaration(path, name, spec, line))
    return direct


def parse_pnpm_lock(path: str, text: str, result: ParseResult, tree: FileSource) -> None:
    data, lock_version = _pnpm_data(text)
    lines = _pnpm_key_lines(text)
    direct = _pnpm_importer(path, text, data, result)
    snapshots = _pnpm_snapshots(data)
    for key, entry in _mapping(data.get("packages") or {}, "packages", 1).items():
        sources = snapshots.get(str(key).split("(")[0]) or [entry]
        uses = _pnpm_uses(sources, _INSTALLED_FIELDS[:2], lock_version)
        line = lines.get(key, 1)
        with result.entry(path, line):
            found = _pnpm_entry(path, key, entry, line, lock_version, direct, uses)
            if found is not None:
                result.packages.append(found)
    importers = _pnpm_importers(data)
    line = find_line(text, ["\nimporters:", "\ndependencies:"]) + 1
    for name, importer in sorted(
        _mapping(importers, "importers", line).items(), key=lambda kv: str(kv[0])
    ):
        uses = _pnpm_uses([importer], _PROJECT_FIELDS[:3], lock_version)
        result.projects.append(Project(file=path, name=str(name), line=line, uses=uses))
    result.files.append(path)


def _pnpm_resolution(key: Any, entry: Any, line: int) -> dict[Any, Any]:
    """The entry's ``resolution`` after checking the entry's shape."""
    if not isinstance(key, str):
        raise LockfileError(f"packages key {key!r} is not a string", line)
    if not isinstance(entry, dict):
        raise LockfileError(f"packages[{key!r}] is not a mapping", line)
    resolution = entry.get("resolution") or {}
    if not isinstance(resolution, dict):
        raise LockfileError(f"packages[{key!r}].resolution is not a mapping", line)
    return resolution


def _pnpm_git(
    path: str,
    key: str,
    entry: dict[Any, Any],
    resolution: dict[Any, Any],
    line: int,
    lock_version: float,
    uses: list[str],
) -> Package:
    version = entry.get("version")
    return package(
        "npm",
        entry.get("name") or _pnpm_key(key, lock_version)[0],
        version,
        file=path,
        line=line,
        source=git_source(str(resolution.get("repo"))),
        hash_supported=False,
        spec=None if version else str(resolution.get("commit")),
        uses=uses,
    )


def _pnpm_directory(
    path: str, entry: dict[Any, Any], resolution: dict[Any, Any], line: int, uses: list[str]
) -> Package | None:
    """A local directory package (``file:../lib``): recorded from its path when the lock
    names it; no hash (its content is the folder's)."""
    name, version = _text(entry.get("name")), _text(entry.get("version"))
    if name is None:
        return None
    return package(
        "npm",
        name,
        version,
        file=path,
        line=line,
        source=f"path:{resolution.get('directory')}",
        pinning=False,
        depends_on=list(entry.get("dependencies") or {}),
        uses=uses,
    )


def _pnpm_entry(
    path: str,
    key: Any,
    entry: Any,
    line: int,
    lock_version: float,
    direct: set[str],
    uses: list[str],
) -> Package | None:
    """One ``packages`` entry, with the versions its dependencies get; None for a local
    directory."""
    if entry is None:
        entry = {}  # ``key:`` with nothing under it: an entry that records nothing more
    resolution = _pnpm_resolution(key, entry, line)
    if resolution.get("type") == "directory":
        return _pnpm_directory(path, entry, resolution, line, uses)
    if resolution.get("type") == "git" or "repo" in resolution:
        return _pnpm_git(path, key, entry, resolution, line, lock_version, uses)
    name, version = _text(entry.get("name")), _text(entry.get("version"))
    if name is None and version is not None and lock_version >= 6:
        # ``name@https://…`` (a tarball): the key names the package, the entry its version.
        body = str(key).lstrip("/").split("(")[0]
        name = body[: body.find("@", 1)] if body.find("@", 1) > 0 else None
    if name is None or version is None:
        # The key names the package (a tarball or git-hosted entry names itself instead).
        try:
            key_name, key_version = _pnpm_key(key, lock_version)
        except LockfileError as exc:
            raise LockfileError(str(exc), line) from exc
        name, version = name or key_name, version or key_version
    source, supported = npm_source(name, _text(resolution.get("tarball")))
    integrity = _text(resolution.get("integrity"))
    return package(
        "npm",
        name,
        version,
        file=path,
        line=line,
        source=source,
        hashes=sri_to_hashes(integrity) if integrity else [],
        direct=name in direct,
        hash_supported=supported,
        depends_on=list(entry.get("dependencies") or {}),
        uses=uses,
        install_script=bool(entry.get("requiresBuild")),
    )


def mark_yarn_direct(result: ParseResult) -> None:
    """yarn.lock does not say which entries are direct; the package.json beside it does."""
    declared: dict[str, set[str]] = {}
    for decl in result.declared:
        if decl.role == "manifest" and posixpath.basename(decl.file) == "package.json":
            declared.setdefault(posixpath.dirname(decl.file), set()).add(decl.name)
    for i, pkg in enumerate(result.packages):
        if (
            posixpath.basename(pkg.file) == "yarn.lock"
            and not pkg.direct
            and pkg.name in declared.get(posixpath.dirname(pkg.file), ())
        ):
            result.packages[i] = pkg.model_copy(update={"direct": True})
