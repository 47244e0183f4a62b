"""A line-aware YAML loader: plain Python values that remember where each key and item sits.

Documents are composed into nodes by the limited safe loader of ``gatekeeper._yaml``
(alias and depth caps stay in force), then converted into :class:`LMap` / :class:`LList`
containers that carry 1-based line numbers for every key and list item.

Mapping keys keep their source text: YAML 1.1 turns a bare ``on`` into ``True``, which
would make a workflow's triggers disappear; here ``on`` stays ``"on"``.

Two schemas for scalar values:

- ``"1.1"`` (the default; GitLab CI reads YAML 1.1): values are resolved as the safe loader
  resolves them (``false`` is ``False``, ``3`` is ``3``, ``yes`` is ``True``). A scalar that
  the loader would construct as a value it cannot represent (``2024-02-30`` as a date) is
  kept as its text instead of crashing the run.
- ``"1.2"`` (GitHub Actions reads YAML 1.2's core schema): only ``true``/``false`` are
  booleans, only ``null``/``~``/empty is null, numbers are decimal, ``0o`` octal or ``0x``
  hex, and everything else is a string: ``yes``, ``on``, ``y`` and ``2024-02-30`` included.
  Duplicate keys and merge keys (``<<``) are errors, as they are for GitHub.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any, Literal

import yaml

from gatekeeper._yaml import _YAML_CAPS, LimitedSafeLoader, check_expansion
from gatekeeper.collect._parse_error import FileParseError

# SECURITY: aliases are expanded during conversion (so audits can walk the result freely);
# the expanded size is capped so that a handful of nested aliases cannot blow up memory.
# The node graph is measured first, without expanding anything, so a bomb is refused in
# milliseconds; a document under the cap converts in about 1.5 s at worst. Real CI files are
# far below it (docs/limits.md: the largest measured expands to about 50,000 nodes).
MAX_EXPANDED_NODES = 500_000


Schema = Literal["1.1", "1.2"]


class YamlLinesError(FileParseError):
    """The text is not YAML or breaks a limit; ``line`` is 1-based when known."""


def _construct_int12(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


def _construct_float12(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    text = str(loader.construct_scalar(node)).lower()  # type: ignore[arg-type]
    if text.endswith(".inf"):
        return -math.inf if text.startswith("-") else math.inf
    if text == ".nan":
        return math.nan
    return float(text)


class Yaml12Loader(LimitedSafeLoader):
    """The limited safe loader with YAML 1.2's core schema for plain scalars (GitHub's).

    An alias is composed as a shallow copy of its anchor's node that starts where the alias
    is written, so a step written as ``- *checkout`` is reported at its own line.
    """

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 - PyYAML's class-level table

    def compose_node(self, parent: Any, index: Any) -> Any:
        alias = self.peek_event() if self.check_event(yaml.events.AliasEvent) else None  # type: ignore[no-untyped-call]
        node = super().compose_node(parent, index)
        if alias is not None and node is not None:
            node = copy.copy(node)
            node.start_mark = alias.start_mark
        return node


# NOTE: the resolvers of YAML 1.2's core schema (yaml.org/spec/1.2.2, 10.3.2); PyYAML
# implements 1.1 only. Quoted scalars are never resolved: "true" stays a string.
for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
):
    Yaml12Loader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first)
    )
Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int12)
Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _construct_float12)

_CLoader: Any = None
try:
    from yaml import cyaml as _cyaml
except ImportError:  # NOTE: PyYAML built without libyaml: the Python composer does it all
    _CParser: Any = None
else:
    _CParser = getattr(_cyaml, "CParser", None)
_Safe = yaml.constructor.SafeConstructor
_Resolver = yaml.resolver.Resolver
if _CParser is not None:

    class _Yaml12CLoader(_CParser, _Safe, _Resolver):  # type: ignore[misc]
        """libyaml's parser and composer (C) with the YAML 1.2 resolvers above.

        SECURITY: the caps the Python loader checks while composing (aliases, depth, lone
        surrogates) are checked on the composed graph by ``_check_graph``; libyaml itself
        refuses nesting deeper than 1000 levels.
        """

        yaml_implicit_resolvers = Yaml12Loader.yaml_implicit_resolvers
        yaml_constructors = Yaml12Loader.yaml_constructors

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _CLoader = _Yaml12CLoader


class _HasAliases(Exception):
    """The document uses aliases: it is composed again by the Python composer, which
    reports an aliased node at the alias's own line."""


def _check_graph(root: yaml.Node) -> int:
    """Aliases, depth and scalar text of a composed document, as the Python loader checks
    them while composing (each node visited once, iteratively). Returns the alias count."""
    max_aliases, max_depth = _YAML_CAPS.get()
    seen: set[int] = set()
    aliases = 0
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise YamlLinesError(
                f"nesting deeper than {max_depth} levels (limits.yaml_max_depth)",
                node.start_mark.line + 1,
            )
        if id(node) in seen:
            aliases += 1
            if aliases > max_aliases:
                raise YamlLinesError(
                    f"more than {max_aliases} aliases (alias bomb?; limits.yaml_max_aliases)",
                    node.start_mark.line + 1,
                )
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            value = str(node.value)
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise YamlLinesError(
                        "a \\u escape encodes a lone surrogate (not Unicode text)",
                        node.start_mark.line + 1,
                    ) from exc
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
    return aliases


class LMap(dict[str, Any]):
    """A mapping with the line of the mapping itself and of each key."""

    line: int
    key_lines: dict[str, int]
    # Line of the first character of each scalar value (for block scalars `|`/`>`: the first
    # content line) and whether the value is a literal block, whose newlines map to lines.
    value_lines: dict[str, int]
    literal_values: set[str]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    def value_line(self, key: str) -> int:
        return self.value_lines.get(key, self.line_of(key))

    def line_in_value(self, key: str, offset: int) -> int:
        """The line of character ``offset`` of the string value at ``key``."""
        value = self.get(key)
        start = self.value_line(key)
        if key in self.literal_values and isinstance(value, str):
            return start + value.count("\n", 0, max(0, offset))
        return start


class LList(list[Any]):
    """A sequence with the line of the sequence itself and of each item."""

    line: int
    item_lines: list[int]  # for a block scalar item: its first content line
    literal_items: set[int]  # indexes of `|` block items (newlines map to lines)

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


class _Converter:
    def __init__(self, loader: LimitedSafeLoader, strict_keys: bool = False) -> None:
        self.loader = loader
        self.strict_keys = strict_keys  # YAML 1.2 as GitHub reads it: no duplicates, no `<<`
        self.budget = MAX_EXPANDED_NODES
        self.active: set[int] = set()  # nodes being converted (the path from the root)

    def _spend(self, node: yaml.Node) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise YamlLinesError(
                f"document expands to more than {MAX_EXPANDED_NODES} nodes (alias bomb?)",
                node.start_mark.line + 1,
            )

    def convert(self, node: yaml.Node) -> Any:
        self._spend(node)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if id(node) in self.active:
                raise YamlLinesError(
                    "an alias refers to a node that contains it (recursive YAML)",
                    node.start_mark.line + 1,
                )
            self.active.add(id(node))
            try:
                return self._convert_collection(node)
            finally:
                self.active.discard(id(node))
        return self._convert_scalar(node)

    def _convert_collection(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._convert_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return self._convert_sequence(node)
        raise YamlLinesError("unexpected YAML node", node.start_mark.line + 1)

    def _convert_mapping(self, node: yaml.MappingNode) -> LMap:
        if not self.strict_keys:
            self.loader.flatten_mapping(node)  # resolves `<<` merge keys (YAML 1.1)
        out = LMap()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        out.value_lines = {}
        out.literal_values = set()
        for key_node, value_node in node.value:
            key = self._key(key_node)
            if self.strict_keys:
                self._check_key(out, key, key_node)
            out[key] = self.convert(value_node)
            out.key_lines[key] = key_node.start_mark.line + 1
            out.value_lines[key], is_literal = _content_line(value_node)
            if is_literal:
                out.literal_values.add(key)
        return out

    def _convert_sequence(self, node: yaml.SequenceNode) -> LList:
        seq = LList()
        seq.line = node.start_mark.line + 1
        seq.item_lines = []
        seq.literal_items = set()
        for index, item in enumerate(node.value):
            seq.append(self.convert(item))
            item_line, is_literal = _content_line(item)
            seq.item_lines.append(item_line)
            if is_literal:
                seq.literal_items.add(index)
        return seq

    @staticmethod
    def _check_key(out: LMap, key: str, key_node: yaml.Node) -> None:
        line = key_node.start_mark.line + 1
        if key == "<<" and not getattr(key_node, "style", None):
            # NOTE: YAML 1.2 has no merge keys; GitHub rejects `<<:` rather than merging.
            raise YamlLinesError("merge keys (`<<`) are not supported by GitHub Actions", line)
        if key in out:
            # SECURITY: a reader that keeps the last duplicate audits another file than the
            # one a human reviews; GitHub itself refuses the file.
            raise YamlLinesError(
                f"duplicate key `{key}` (first at line {out.line_of(key)}); GitHub rejects "
                "the file",
                line,
            )

    def _convert_scalar(self, node: yaml.Node) -> Any:
        if node.tag == "tag:yaml.org,2002:str" and isinstance(node, yaml.ScalarNode):
            return str(node.value)  # NOTE: most scalars; construct_object would return the same
        if isinstance(node, yaml.ScalarNode) and not str(node.tag).startswith("tag:yaml.org,2002:"):
            # NOTE: application tags (GitLab's `!reference`) are kept as their text, never
            # constructed: the safe loader has no constructor for them and we need none.
            return str(node.value)
        try:
            return self.loader.construct_object(node, deep=True)  # type: ignore[no-untyped-call,unused-ignore]
        except yaml.YAMLError as exc:
            if node.tag == "tag:yaml.org,2002:timestamp":
                return str(node.value)  # no such date: the text it is (see below)
            raise YamlLinesError(str(exc).splitlines()[0], node.start_mark.line + 1) from exc
        except (ValueError, OverflowError):
            # NOTE: a scalar that matches a resolver but is no value (`2024-02-30` under
            # YAML 1.1's timestamp rule) is the text it is, not a crash.
            return str(node.value)

    def _key(self, node: yaml.Node) -> str:
        self._spend(node)
        if isinstance(node, yaml.ScalarNode):
            # NOTE: the source text, not the YAML 1.1 value: `on` must not become True.
            return str(node.value)
        raise YamlLinesError("a mapping key is not a plain value", node.start_mark.line + 1)


def _content_line(node: yaml.Node) -> tuple[int, bool]:
    """The 1-based line where a value's content starts, and whether it is a literal block.

    A block scalar (``|`` or ``>``) starts below its indicator; only in a literal block
    (``|``) do the value's newlines map to lines of the file.
    """
    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        return line + 1, node.style == "|"
    return line, False


def _mark_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return int(mark.line) + 1
    return None


def _check_size(node: yaml.Node, budget: int) -> None:
    """Refuse a document that would expand past the budget, before converting any of it."""
    try:
        check_expansion(node, budget)
    except yaml.YAMLError as exc:
        if "recursive" in str(exc):
            return  # the conversion stops at the recursive node, with its line
        raise YamlLinesError(
            f"document expands to more than {MAX_EXPANDED_NODES} nodes (alias bomb?)",
            node.start_mark.line + 1,
        ) from exc


def _load_fast(text: str) -> list[Any]:
    """YAML 1.2 through libyaml: composed in C, checked, then converted as below."""
    try:
        loader = _CLoader(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlLinesError(str(problem), _mark_line(exc)) from exc
    docs: list[Any] = []
    try:
        converter = _Converter(loader, strict_keys=True)
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                if _check_graph(node):
                    raise _HasAliases
                docs.append(converter.convert(node))
    except YamlLinesError:
        raise
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlLinesError(str(problem), _mark_line(exc)) from exc
    except RecursionError as exc:
        raise YamlLinesError("nesting too deep", None) from exc
    finally:
        loader.dispose()
    return docs


def load_with_lines_all(text: str, schema: Schema = "1.1") -> list[Any]:
    """Every document of ``text`` as line-aware values (empty documents are skipped).

    Raises:
        YamlLinesError: the text is not YAML, breaks the alias/depth caps, or expands too far
            (with ``schema="1.2"`` also: a duplicate key or a merge key).
    """
    if schema == "1.2" and _CLoader is not None:
        try:
            return _load_fast(text)
        except (_HasAliases, YamlLinesError):
            # NOTE: aliases are rare in workflows, and the Python composer keeps each alias's
            # line; a file libyaml refuses is read again so that every refusal is worded the
            # same way whichever composer ran.
            pass
    try:
        loader = Yaml12Loader(text) if schema == "1.2" else LimitedSafeLoader(text)
    except yaml.YAMLError as exc:  # the reader refuses control characters up front
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlLinesError(str(problem), _mark_line(exc)) from exc
    docs: list[Any] = []
    try:
        converter = _Converter(loader, strict_keys=schema == "1.2")
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                _check_size(node, converter.budget)
                docs.append(converter.convert(node))
    except YamlLinesError:
        raise
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlLinesError(str(problem), _mark_line(exc)) from exc
    except RecursionError as exc:
        raise YamlLinesError("nesting too deep", None) from exc
    finally:
        loader.dispose()  # type: ignore[no-untyped-call,unused-ignore]
    return docs


def load_with_lines(text: str, schema: Schema = "1.1") -> Any:
    """One YAML document as line-aware values; None for an empty document.

    Raises:
        YamlLinesError: as :func:`load_with_lines_all`, or the stream holds several documents.
    """
    docs = load_with_lines_all(text, schema)
    if len(docs) > 1:
        raise YamlLinesError("expected one YAML document, found several", None)
    return docs[0] if docs else None


def line_of(container: Any, key: Any, default: int) -> int:
    """The line of ``key`` in an LMap / LList, or ``default`` for anything else."""
    if isinstance(container, LMap) and isinstance(key, str):
        return container.line_of(key)
    if isinstance(container, LList) and isinstance(key, int):
        return container.line_of(key)
    return default


def own_line(value: Any, default: int) -> int:
    """The line where a container starts, or ``default`` for a scalar."""
    if isinstance(value, (LMap, LList)):
        return value.line
    return default
