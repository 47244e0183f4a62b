"""A line-aware YAML loader: plain Python values that remember where each key and item sits.

Documents are composed into nodes by the limited safe loader of ``gatekeeper._fileio``
(alias and depth caps stay in force), then converted into :class:`LMap` / :class:`LList`
containers that carry 1-based line numbers for every key and list item.

Mapping keys keep their source text: YAML 1.1 turns a bare ``on`` into ``True``, which
would make a workflow's triggers disappear; here ``on`` stays ``"on"``. Scalar values are
resolved as the safe loader resolves them (``false`` is ``False``, ``3`` is ``3``).
"""

from __future__ import annotations

from typing import Any

import yaml

from gatekeeper._fileio import LimitedSafeLoader, check_expansion
from gatekeeper.collect._parse_error import FileParseError

# SECURITY: aliases are expanded during conversion (so audits can walk the result freely);
# the expanded size is capped so that a handful of nested aliases cannot blow up memory.
# The node graph is measured first, without expanding anything, so a bomb is refused in
# milliseconds; a document under the cap converts in about 1.5 s at worst. Real CI files are
# far below it (docs/limits.md: the largest measured expands to about 50,000 nodes).
MAX_EXPANDED_NODES = 500_000


class YamlLinesError(FileParseError):
    """The text is not YAML or breaks a limit; ``line`` is 1-based when known."""


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
    def __init__(self, loader: LimitedSafeLoader) -> None:
        self.loader = loader
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
        self.loader.flatten_mapping(node)  # resolves `<<` merge keys
        out = LMap()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        out.value_lines = {}
        out.literal_values = set()
        for key_node, value_node in node.value:
            key = self._key(key_node)
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

    def _convert_scalar(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode) and not str(node.tag).startswith("tag:yaml.org,2002:"):
            # NOTE: application tags (GitLab's `!reference`) are kept as their text, never
            # constructed: the safe loader has no constructor for them and we need none.
            return str(node.value)
        try:
            return self.loader.construct_object(node, deep=True)  # type: ignore[no-untyped-call,unused-ignore]
        except yaml.YAMLError as exc:
            raise YamlLinesError(str(exc).splitlines()[0], node.start_mark.line + 1) from exc

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


def load_with_lines_all(text: str) -> list[Any]:
    """Every document of ``text`` as line-aware values (empty documents are skipped).

    Raises:
        YamlLinesError: the text is not YAML, breaks the alias/depth caps, or expands too far.
    """
    try:
        loader = LimitedSafeLoader(text)
    except yaml.YAMLError as exc:  # the reader refuses control characters up front
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlLinesError(str(problem), _mark_line(exc)) from exc
    docs: list[Any] = []
    try:
        converter = _Converter(loader)
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


def load_with_lines(text: str) -> Any:
    """One YAML document as line-aware values; None for an empty document.

    Raises:
        YamlLinesError: as :func:`load_with_lines_all`, or the stream holds several documents.
    """
    docs = load_with_lines_all(text)
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
