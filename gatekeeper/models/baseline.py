"""The baseline file: fingerprints of findings a team has accepted for now."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gatekeeper.models.base import GatekeeperModel, empty_list


class BaselineEntry(GatekeeperModel):
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")
    rule: str
    path: str | None = None


class Baseline(GatekeeperModel):
    version: Literal[1] = 1
    findings: list[BaselineEntry] = Field(default_factory=empty_list)
