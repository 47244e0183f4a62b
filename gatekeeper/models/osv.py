"""OSV records (https://ossf.github.io/osv-schema/), as published per ecosystem and by the API.

Other tools write these, so unknown fields are kept (``OpenModel``); the fields gatekeeper
reads are typed and validated.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from gatekeeper.models.base import OpenModel, empty_list


class OsvEvent(OpenModel):
    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    limit: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> OsvEvent:
        kinds = [
            k
            for k in ("introduced", "fixed", "last_affected", "limit")
            if getattr(self, k) is not None
        ]
        if len(kinds) != 1:
            raise ValueError(
                f"an event has exactly one of introduced/fixed/last_affected/limit, not {kinds}"
            )
        return self


class OsvRange(OpenModel):
    type: str
    repo: str | None = None
    events: list[OsvEvent] = Field(default_factory=empty_list)


class OsvPackage(OpenModel):
    ecosystem: str = ""
    name: str = ""
    purl: str | None = None


class OsvSeverity(OpenModel):
    type: str
    score: str


class OsvAffected(OpenModel):
    package: OsvPackage | None = None
    severity: list[OsvSeverity] = Field(default_factory=empty_list)
    ranges: list[OsvRange] = Field(default_factory=empty_list)
    versions: list[str] = Field(default_factory=empty_list)
    database_specific: dict[str, Any] | None = None
    ecosystem_specific: dict[str, Any] | None = None


class OsvRecord(OpenModel):
    id: str = Field(min_length=1)
    modified: str | None = None
    published: str | None = None
    withdrawn: str | None = None
    aliases: list[str] = Field(default_factory=empty_list)
    related: list[str] = Field(default_factory=empty_list)
    summary: str = ""
    details: str = ""
    severity: list[OsvSeverity] = Field(default_factory=empty_list)
    affected: list[OsvAffected] = Field(default_factory=empty_list)
    database_specific: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_empty(cls, data: Any) -> Any:
        # Some databases write `"aliases": null`; the schema means "none".
        if isinstance(data, dict):
            for key in ("aliases", "related", "severity", "affected", "ranges", "versions"):
                if key in data and data[key] is None:
                    data = {**data, key: []}
        return data
