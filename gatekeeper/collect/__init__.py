"""Collectors, one per kind of evidence, in an explicit registry.

Usage::

    from gatekeeper.collect import collect_all, CollectContext
    evidence = collect_all(CollectContext(repo=Path(".")), kinds=["source", "pipeline"])

Modules are imported lazily so that ``gatekeeper --version`` starts fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gatekeeper.collect.base import CollectContext, Collector, walk_files
from gatekeeper.errors import InvalidInput

if TYPE_CHECKING:
    from gatekeeper.models.base import GatekeeperModel

# kind -> "module:Class". Each collector owns its module; add one line per collector.
_REGISTRY: dict[str, str] = {
    "container": "gatekeeper.collect.container:ContainerCollector",
    "deps": "gatekeeper.collect.deps:DepsCollector",
    "env": "gatekeeper.collect.env:EnvCollector",
    "pipeline": "gatekeeper.collect.pipeline:PipelineCollector",
    "source": "gatekeeper.collect.git_source:GitSourceCollector",
    "secrets": "gatekeeper.collect.secrets:SecretsCollector",
}

__all__ = [
    "CollectContext",
    "Collector",
    "collect_all",
    "collector_for",
    "kinds",
    "walk_files",
]


def kinds() -> list[str]:
    return list(_REGISTRY)


def collector_for(kind: str) -> Collector:
    """Raises InvalidInput for an unknown kind."""
    try:
        target = _REGISTRY[kind]
    except KeyError:
        raise InvalidInput(
            f"unknown evidence kind {kind!r} (one of: {', '.join(_REGISTRY)})"
        ) from None
    module_name, _, cls_name = target.partition(":")
    cls: Any = getattr(importlib.import_module(module_name), cls_name)
    collector: Collector = cls()
    return collector


def collect_all(
    ctx: CollectContext, kinds: Iterable[str] | None = None
) -> dict[str, GatekeeperModel]:
    """Run the collectors named by ``kinds`` (default: all) and return kind -> evidence."""
    selected = list(_REGISTRY) if kinds is None else list(kinds)
    return {kind: collector_for(kind).collect(ctx) for kind in selected}
