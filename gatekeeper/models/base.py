"""The base model every gatekeeper format derives from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class GatekeeperModel(BaseModel):
    """Frozen, strict about unknown fields: a typo must fail, not be ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


class OpenModel(BaseModel):
    """For formats other tools write (in-toto links, OSV records): unknown fields are kept."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True, defer_build=True)
