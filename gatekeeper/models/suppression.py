"""Inline suppressions: ``# gatekeeper: ignore[rule-id] reason until=YYYY-MM-DD`` on a line.

What a report says about each suppression comment found on the line of a finding (the
reading and the decision are in ``gatekeeper.policy.suppressions``). Only an ``active``
suppression excuses anything; the others are listed so that nobody believes a finding is
excused when it is not.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from gatekeeper.models.base import GatekeeperModel, empty_list

# active: it excuses the findings it names on its line. expired: its `until` date has passed.
# invalid: no reason, no or a malformed `until=`, or a malformed rule id. untrusted: pr-check
# and the pull request itself added it (not in the base revision). disabled: the repository
# configuration turns inline suppressions off. unmatched: no finding of the rules it names is on
# its line (a typo in a rule id, or the finding is gone).
SuppressionStatus = Literal["active", "expired", "invalid", "untrusted", "disabled", "unmatched"]


class Suppression(GatekeeperModel):
    path: str
    line: int = Field(ge=1)
    rules: list[str] = Field(default_factory=empty_list)
    reason: str = ""
    until: date | None = None
    status: SuppressionStatus
    # Why it does not apply (every status but active).
    problem: str | None = None
    # Fingerprints of the findings on its line that it names (excused only when active).
    findings: list[str] = Field(default_factory=empty_list)


__all__ = ["Suppression", "SuppressionStatus"]
