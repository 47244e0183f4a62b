"""Maven: ``pom.xml`` dependencies with literal versions and ``${properties}``.

SECURITY: the XML is parsed with expat directly and any DOCTYPE or entity declaration is
refused before it can be expanded (no external entities, no billion laughs); a pom never
needs either.
"""

from __future__ import annotations

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


def _properties(root: _Node) -> dict[str, str]:
    """The properties a version may name: the project's coordinates and ``<properties>``."""
    props: dict[str, str] = {}
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
    properties = root.child("properties")
    for prop in properties.children if properties is not None else []:
        props[prop.tag] = prop.text.strip()
    return props


def _managed(root: _Node, props: dict[str, str]) -> dict[str, str]:
    """``group:artifact`` -> version from ``<dependencyManagement>``."""
    management = root.child("dependencyManagement")
    deps = management.child("dependencies") if management is not None else None
    managed: dict[str, str] = {}
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


def parse_pom(path: str, text: str, result: ParseResult, source: FileSource) -> None:
    root = parse_xml(text)
    if root.tag != "project":
        raise LockfileError(f"root element is <{root.tag}>, not <project>", root.line)
    props = _properties(root)
    managed = _managed(root, props)
    direct_deps = root.child("dependencies")
    for dep in direct_deps.children if direct_deps is not None else []:
        if dep.tag == "dependency":
            _dependency(path, dep, props, managed, result)
    result.files.append(path)
