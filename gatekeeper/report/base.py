"""Shared helpers for renderers: ordering, counting and rule records, no I/O."""

from __future__ import annotations

import functools
from collections import Counter
from typing import TYPE_CHECKING

from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.verdict import Verdict

if TYPE_CHECKING:
    from gatekeeper.audit.rule import Rule


def active(verdict: Verdict) -> list[Finding]:
    """Findings not excepted, baselined or existing on the base."""
    return [f for f in verdict.findings if f.status is None]


def blocking(verdict: Verdict) -> list[Finding]:
    return verdict.blocking_findings()


def ranked(verdict: Verdict) -> list[tuple[Finding, bool]]:
    """Active findings with whether each blocks: blocking first, then most severe first."""
    blocks = {f.fingerprint for f in blocking(verdict)}
    ordered = sorted(
        active(verdict), key=lambda f: (f.fingerprint not in blocks, -f.severity.rank, f.sort_key())
    )
    return [(f, f.fingerprint in blocks) for f in ordered]


def severity_counts(findings: list[Finding]) -> dict[Severity, int]:
    counts = Counter(f.severity for f in findings)
    return {sev: counts[sev] for sev in sorted(Severity, key=lambda s: -s.rank) if counts[sev]}


def location(finding: Finding) -> str:
    if finding.path is None:
        return "-"
    return f"{finding.path}:{finding.line}" if finding.line else finding.path


@functools.cache
def _rule_index() -> dict[str, Rule]:
    # NOTE: imported on first use: rendering a verdict should not load every audit module.
    from gatekeeper.audit import all_rule_records
    from gatekeeper.verify.codes import REASON_CODES

    return {**all_rule_records(), **{code.id: code for code in REASON_CODES}}


def rule_records() -> dict[str, Rule]:
    """Every audit rule and verifier reason code of this build, by id."""
    return dict(_rule_index())


def rule_record(rule_id: str) -> Rule | None:
    """The record of an audit rule or a verifier reason code; None for an id this build lacks."""
    return _rule_index().get(rule_id)


def rule_summary(rule_id: str) -> str:
    """The "fires when" (or, for a verifier reason, "blocks when") text of a rule id."""
    record = rule_record(rule_id)
    return record.summary if record is not None else f"gatekeeper rule {rule_id}"
