"""Strict YAML: the safe loader under limits on aliases, depth and expansion.

SECURITY: every file gatekeeper reads may be crafted. YAML is loaded with PyYAML's safe
loader only (no tags that build objects), under caps on aliases, nesting and the expanded
size (alias bombs); policies also refuse duplicate keys. A module of its own so that the
commands that read no YAML (``attest`` without a policy) do not import PyYAML.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import yaml

# The defaults sit an order of magnitude above large real CI configurations (measured in
# docs/limits.md: GitLab's own rules file has about 1,300 aliases in one document, the
# deepest Kubernetes prow job nests 11 levels); the expansion cap is what stops alias bombs.
YAML_MAX_ALIASES = 20_000
YAML_MAX_DEPTH = 200
YAML_MAX_EXPANDED_NODES = 1_000_000

# (max aliases, max depth) for every YAML load in this context; set from the policy's
# ``limits:`` by ``check`` (see ``yaml_caps``).
_YAML_CAPS: ContextVar[tuple[int, int]] = ContextVar(
    "gatekeeper_yaml_caps", default=(YAML_MAX_ALIASES, YAML_MAX_DEPTH)
)


@contextlib.contextmanager
def yaml_caps(max_aliases: int, max_depth: int) -> Iterator[None]:
    """Apply these alias and depth caps to every YAML load inside the ``with`` block."""
    token = _YAML_CAPS.set((max_aliases, max_depth))
    try:
        yield
    finally:
        _YAML_CAPS.reset(token)


class LimitedSafeLoader(yaml.SafeLoader):
    """The safe loader with caps on alias expansion and nesting depth (alias bombs)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._max_aliases, self._max_depth = _YAML_CAPS.get()

    def construct_document(self, node: Any) -> Any:
        if self._aliases:
            check_expansion(node)
        return super().construct_document(node)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.events.AliasEvent):
            self._aliases += 1
            if self._aliases > self._max_aliases:
                raise yaml.YAMLError(
                    f"more than {self._max_aliases} aliases (alias bomb?; limits.yaml_max_aliases)"
                )
        depth = getattr(self, "_depth", 0) + 1
        if depth > self._max_depth:
            raise yaml.YAMLError(
                f"nesting deeper than {self._max_depth} levels (limits.yaml_max_depth)"
            )
        self._depth = depth
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth = depth - 1
        if isinstance(node, yaml.ScalarNode) and not node.value.isascii():
            try:
                node.value.encode("utf-8")
            except UnicodeEncodeError as exc:
                # SECURITY: "\ud800" in a double-quoted scalar is not Unicode text; a value
                # built from it would crash every report writer downstream.
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    "a \\u escape encodes a lone surrogate (not Unicode text)",
                    node.start_mark,
                ) from exc
        return node


def _construct_timestamp(loader: LimitedSafeLoader, node: Any) -> Any:
    """A YAML 1.1 timestamp, or a YAML error naming it when the date does not exist."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError) as exc:
        # `2024-02-30` matches the timestamp pattern but is no date: a parse error with its
        # line, never an internal error of whichever command read the file.
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a valid date or time ({exc})", node.start_mark
        ) from exc


LimitedSafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _node_children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def check_expansion(root: Any, cap: int = YAML_MAX_EXPANDED_NODES) -> None:
    """Refuse a document whose aliases expand to more than ``cap`` nodes, or that is recursive.

    SECURITY: 9 levels of 9 aliases ("billion laughs") stay under any sane alias cap, and
    PyYAML shares the aliased objects, so loading is cheap; but every consumer that walks
    the result (validation, serialisation, a rule visiting every value) would visit 10^9
    nodes. The expanded size is counted over the node graph (each node once), without
    expanding anything.
    """
    size: dict[int, int] = {}
    in_progress: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            in_progress.discard(key)
            size[key] = min(cap + 1, 1 + sum(size[id(c)] for c in _node_children(node)))
            continue
        if key in size:
            continue
        in_progress.add(key)
        stack.append((node, True))
        for child in _node_children(node):
            if id(child) in in_progress:
                raise yaml.YAMLError("a recursive alias (a node that contains itself)")
            if id(child) not in size:
                stack.append((child, False))
    if size[id(root)] > cap:
        raise yaml.YAMLError(f"document expands to more than {cap} nodes (alias bomb?)")


def _construct_mapping_no_dupes(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:
            duplicate = False
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        with contextlib.suppress(TypeError):
            seen.add(key)
    return loader.construct_mapping(node, deep=True)


class _StrictLoader(LimitedSafeLoader):
    """Limited safe loader that also rejects duplicate mapping keys (policies)."""


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_no_dupes
)


def load_yaml(text: str | bytes, *, strict_keys: bool = False) -> Any:
    """Safe-load one YAML document under alias and depth limits.

    Raises:
        yaml.YAMLError: the text is not YAML or breaks a limit (the error carries the mark).
    """
    loader_cls = _StrictLoader if strict_keys else LimitedSafeLoader
    loader = loader_cls(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def load_yaml_all(text: str | bytes) -> list[Any]:
    """Safe-load every document of a multi-document YAML stream under the same limits."""
    loader = LimitedSafeLoader(text)
    docs = []
    try:
        while loader.check_data():  # type: ignore[no-untyped-call]
            docs.append(loader.get_data())
    finally:
        loader.dispose()
    return docs
