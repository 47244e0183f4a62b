"""The verdict: what `check`, `verify` and `pr-check` decide, and every reason why."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gatekeeper.models.base import GatekeeperModel, empty_list
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.suppression import Suppression


class Reason(GatekeeperModel):
    """One reason the verifier blocks (its output uses `code`, not `rule`)."""

    code: str = Field(pattern=r"^verify/[a-z0-9-]+$")
    message: str
    stage: str | None = None


class Verdict(GatekeeperModel):
    command: Literal["check", "verify", "pr-check"]
    verdict: Literal["pass", "block"]
    reasons: list[Reason] = Field(default_factory=empty_list)
    findings: list[Finding] = Field(default_factory=empty_list)
    block_at: Severity | None = None
    policy: str | None = None
    subjects: list[str] = Field(default_factory=empty_list)
    # Things a reader must know that are not reasons (e.g. "OSV API not consulted").
    notes: list[str] = Field(default_factory=empty_list)
    # Evidence kinds collected (check/pr-check): tells reports which rules were checked.
    kinds: list[str] = Field(default_factory=empty_list)
    # check/pr-check: the directory audited (the repository's top, unless --path-only).
    root: str | None = None
    # check/pr-check: every inline suppression found on the line of a finding, applied or not.
    suppressions: list[Suppression] = Field(default_factory=empty_list)

    @property
    def allowed(self) -> bool:
        return self.verdict == "pass"

    def blocking_findings(self) -> list[Finding]:
        if self.block_at is None:
            return []
        return [f for f in self.findings if f.blocks(self.block_at)]
