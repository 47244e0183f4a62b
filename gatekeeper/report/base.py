"""Shared helpers for renderers: ordering and counting, no I/O."""

from __future__ import annotations

from collections import Counter

from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.verdict import Verdict


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
