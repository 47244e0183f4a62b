"""The base model every gatekeeper format derives from."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


def empty_list() -> list[Any]:
    """``default_factory`` for an empty list field.

    pydantic reads a factory's signature when it builds a model; the builtin ``list`` has
    only a text signature, which ``inspect`` parses with ``ast`` (about 0.2 ms a field,
    tens of milliseconds of every ``check``), where a function's is read directly.
    """
    return []


class GatekeeperModel(BaseModel):
    """Frozen, strict about unknown fields: a typo must fail, not be ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


class OpenModel(BaseModel):
    """For formats other tools write (in-toto links, OSV records): unknown fields are kept."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True, defer_build=True)
