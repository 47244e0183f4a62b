"""Maven: ``pom.xml`` dependencies with literal versions and ``${properties}``.

What Maven's effective POM would give, as far as the repository holds it: the project's
``<dependencies>`` and those of profiles active by default (``<activeByDefault>true``),
versions from ``<properties>`` and ``<dependencyManagement>`` of the pom, those profiles and
its parent when the parent is in the repository (``<relativePath>``, by default
``../pom.xml``, and the same coordinates). A parent's own ``<dependencies>`` are recorded
once, at the parent pom that declares them. A dependency whose version is managed outside
the repository is recorded without a version (and named in the notes).

SECURITY: the XML is parsed with expat directly and any DOCTYPE or entity declaration is
refused before it can be expanded (no external entities, no billion laughs); a pom never
needs either.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from xml.parsers import expat

from gatekeeper.deps.common import package
from gatekeeper.deps.parsing import FileSource, LockfileError, ParseResult

_PROPERTY = re.compile(r"\$\{([^}]+)\}")


@dataclass
class _Node:
    tag: str
    line: int
    text: str = ""
    children: list[_Node] = field(default_factory=list)

    def child(self, tag: str) -> _Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def value(self, tag: str) -> str | None:
        node = self.child(tag)
        return node.text.strip() if node is not None else None


class _Refused(Exception):
    pass


def parse_xml(text: str) -> _Node:
    """A small element tree with line numbers; namespaces are stripped from tags.

    Raises:
        LockfileError: not well-formed, or it declares a DOCTYPE or entities.
    """
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[_Node] = []
    root: list[_Node] = []

    def refuse(*_args: object) -> None:
        raise _Refused("DOCTYPE and entity declarations are not allowed in a pom")

    def start(tag: str, _attrs: dict[str, str]) -> None:
        node = _Node(tag.rsplit("}", 1)[-1].split(":")[-1], parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(_tag: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(text.encode("utf-8"), True)
    except _Refused as exc:
        raise LockfileError(str(exc), parser.CurrentLineNumber) from exc
    except expat.ExpatError as exc:
        raise LockfileError(f"invalid XML: {expat.ErrorString(exc.code)}", exc.lineno) from exc
    if not root:
        raise LockfileError("empty XML document")
    return root[0]


def _substitute(value: str, props: dict[str, str]) -> str:
    for _ in range(10):  # properties may refer to properties; bounded
        new = _PROPERTY.sub(lambda m: props.get(m.group(1), m.group(0)), value)
        if new == value:
            break
        value = new
    return value


def _is_exact(version: str) -> bool:
    # Ranges use brackets or commas; LATEST/RELEASE float.
    return not (set(version) & set("[](),")) and version.upper() not in ("LATEST", "RELEASE")


def _inherited(root: _Node, parent: _Node | None, tag: str) -> str | None:
    """A coordinate of the project, or of its parent when the project inherits it."""
    return root.value(tag) or (parent.value(tag) if parent is not None else None)


def _active_profiles(root: _Node) -> list[_Node]:
    """The profiles Maven activates when no other is asked for (``activeByDefault``)."""
    profiles = root.child("profiles")
    active = []
    for profile in profiles.children if profiles is not None else []:
        activation = profile.child("activation")
        flag = activation.value("activeByDefault") if activation is not None else None
        if profile.tag == "profile" and (flag or "").lower() == "true":
            active.append(profile)
    return active


def _properties(root: _Node, inherited: dict[str, str]) -> dict[str, str]:
    """The properties a version may name: the parent's, the project's coordinates and
    ``<properties>`` (the project's, then its active profiles')."""
    props: dict[str, str] = dict(inherited)
    parent = root.child("parent")
    version = _inherited(root, parent, "version")
    group = _inherited(root, parent, "groupId")
    if version:
        props.update({"project.version": version, "version": version, "pom.version": version})
    if group:
        props.update({"project.groupId": group, "groupId": group})
    parent_version = parent.value("version") if parent is not None else None
    if parent_version:
        props["project.parent.version"] = parent_version
    for holder in (root, *_active_profiles(root)):
        properties = holder.child("properties")
        for prop in properties.children if properties is not None else []:
            props[prop.tag] = prop.text.strip()
    return props


def _managed(root: _Node, props: dict[str, str], inherited: dict[str, str]) -> dict[str, str]:
    """``group:artifact`` -> version from ``<dependencyManagement>`` (the parent's, then the
    project's and its active profiles')."""
    managed: dict[str, str] = dict(inherited)
    for holder in (root, *_active_profiles(root)):
        management = holder.child("dependencyManagement")
        deps = management.child("dependencies") if management is not None else None
        for dep in deps.children if deps is not None else []:
            gid, aid, ver = dep.value("groupId"), dep.value("artifactId"), dep.value("version")
            if gid and aid and ver:
                managed[f"{_substitute(gid, props)}:{_substitute(aid, props)}"] = ver
    return managed


def _dependency(
    path: str, dep: _Node, props: dict[str, str], managed: dict[str, str], result: ParseResult
) -> None:
    gid, aid = dep.value("groupId"), dep.value("artifactId")
    if not gid or not aid:
        raise LockfileError("a <dependency> without groupId and artifactId", dep.line)
    name = f"{_substitute(gid, props)}:{_substitute(aid, props)}"
    raw = dep.value("version") or managed.get(name)
    if raw is None:
        result.notes.append(
            f"{path}:{dep.line}: {name} has no version here "
            "(managed by a parent pom not in this repository)"
        )
        result.packages.append(
            package(
                "Maven",
                name,
                None,
                file=path,
                line=dep.line,
                spec="(managed outside the repository)",
                direct=True,
                pinning=False,
            )
        )
        return
    ver = _substitute(raw, props)
    if _PROPERTY.search(ver):
        result.notes.append(
            f"{path}:{dep.line}: {name} version {raw} names a property not defined in this pom"
        )
        result.packages.append(
            package(
                "Maven", name, None, file=path, line=dep.line, spec=raw, direct=True, pinning=False
            )
        )
        return
    exact = _is_exact(ver)
    result.packages.append(
        package(
            "Maven",
            name,
            ver if exact else None,
            file=path,
            line=dep.line,
            spec=None if exact else ver,
            direct=True,
        )
    )


def _parent_in_repository(path: str, root: _Node, tree: FileSource) -> tuple[str, _Node] | None:
    """(path, pom) of the parent when the repository holds it where ``<relativePath>`` says
    (by default ``../pom.xml``) with the coordinates ``<parent>`` names; else None (Maven
    would fetch it from a repository)."""
    parent = root.child("parent")
    if parent is None:
        return None
    relative = parent.value("relativePath")
    if relative == "":
        return None  # <relativePath/>: look the parent up in repositories only
    target = posixpath.normpath(posixpath.join(posixpath.dirname(path), relative or ".."))
    if not target.endswith(".xml"):
        target = posixpath.join(target, "pom.xml")
    if target.startswith("../") or target == path:
        return None
    try:
        data = tree.read(target)
        found = parse_xml(data.decode("utf-8")) if data is not None else None
    except (LockfileError, UnicodeDecodeError):
        return None  # its own parse error is reported when it is read as a pom
    if found is None or found.tag != "project":
        return None
    same = all(
        (parent.value(tag) or "") == (_inherited(found, found.child("parent"), tag) or "")
        for tag in ("groupId", "artifactId", "version")
    )
    return (target, found) if same else None


def _inheritance(path: str, root: _Node, tree: FileSource) -> tuple[dict[str, str], dict[str, str]]:
    """(properties, managed versions) a pom inherits from its ancestors in the repository
    (at most ten levels; a cycle ends the chain)."""
    chain: list[_Node] = []
    seen = {path}
    current: tuple[str, _Node] | None = (path, root)
    while current is not None and len(chain) < 10:
        current = _parent_in_repository(current[0], current[1], tree)
        if current is None or current[0] in seen:
            break
        seen.add(current[0])
        chain.append(current[1])
    props: dict[str, str] = {}
    managed: dict[str, str] = {}
    for ancestor in reversed(chain):
        props = _properties(ancestor, props)
        managed = _managed(ancestor, props, managed)
    return props, managed


def parse_pom(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    root = parse_xml(text)
    if root.tag != "project":
        raise LockfileError(f"root element is <{root.tag}>, not <project>", root.line)
    inherited_props, inherited_managed = _inheritance(path, root, source)
    props = _properties(root, inherited_props)
    managed = _managed(root, props, inherited_managed)
    for holder in (root, *_active_profiles(root)):
        direct_deps = holder.child("dependencies")
        for dep in direct_deps.children if direct_deps is not None else []:
            if dep.tag == "dependency":
                with result.entry(path, dep.line):
                    _dependency(path, dep, props, managed, result)
    result.files.append(path)
