"""Applying a policy to findings, and the block decision: one place for check, pr-check and verify.

In order, for each finding: the policy's per-rule override (``off``, or another severity);
an exception whose rule glob, path glob and fingerprint cover it (an expired exception
excuses nothing and is named in the notes); an active inline suppression on its line
(``suppressed``, see ``policy.suppressions``); the baseline of accepted fingerprints; and the
fingerprints already present on the base tree (``existing``). A finding with a status does
not block; any other finding at or above ``audits.block_at`` does.

The verifier judges attested findings with the same function (``judge_attested``), after
dropping every status the attester set: a check-time convenience excuses nothing there.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from gatekeeper._glob import match_path
from gatekeeper.models.finding import Finding
from gatekeeper.models.policy import ExceptionPolicy, Policy
from gatekeeper.models.suppression import Suppression
from gatekeeper.models.verdict import Verdict


def exceptions_for(finding: Finding, policy: Policy) -> Iterator[ExceptionPolicy]:
    """The policy's exceptions whose rule glob, path glob and fingerprint cover ``finding``."""
    for exc in policy.exceptions:
        if (
            match_path(exc.rule, finding.rule)
            and match_path(exc.path, finding.path or "")
            and (not exc.fingerprint or exc.fingerprint == finding.fingerprint)
        ):
            yield exc


def _overridden(finding: Finding, policy: Policy) -> Finding | None:
    """The finding at the severity the policy sets for its rule; None when the rule is off."""
    override = policy.audits.rules.get(finding.rule)
    if override is None:
        return finding
    if not override.enabled:
        return None
    if override.severity is not None:
        return finding.model_copy(update={"severity": override.severity})
    return finding


def _excepted(finding: Finding, policy: Policy, now: datetime, notes: list[str]) -> bool:
    """Whether a current exception covers ``finding``; expired ones are noted, not applied."""
    for exc in exceptions_for(finding, policy):
        if exc.expires > now:
            return True
        notes.append(
            f"exception for {exc.rule} on {exc.path} expired {exc.expires:%Y-%m-%d}: "
            f"{finding.rule} at {finding.path or '-'} is not excused"
        )
    return False


def _status(
    finding: Finding,
    policy: Policy,
    now: datetime,
    accepted: tuple[set[str] | None, set[str] | None, Collection[str] | None],
    notes: list[str],
) -> str | None:
    if _excepted(finding, policy, now, notes):
        return "excepted"
    if finding.status is not None:
        return finding.status
    baseline, existing, suppressed = accepted
    if suppressed and finding.fingerprint in suppressed:
        return "suppressed"
    if baseline and finding.fingerprint in baseline:
        return "baseline"
    if existing and finding.fingerprint in existing:
        return "existing"
    return None


def apply_policy(
    findings: Iterable[Finding],
    policy: Policy,
    *,
    now: datetime,
    baseline: set[str] | None = None,
    existing: set[str] | None = None,
    suppressed: Collection[str] | None = None,
) -> tuple[list[Finding], list[str]]:
    """Apply rule overrides, exceptions, inline suppressions, the baseline and base-existing
    marks (``suppressed``: the fingerprints an active inline suppression excuses).

    Returns the findings (with severity and status set, sorted) and notes for the report.
    Expired exceptions excuse nothing and are named in the notes.
    """
    out: list[Finding] = []
    notes: list[str] = []
    for raw in findings:
        finding = _overridden(raw, policy)
        if finding is None:
            continue
        status = _status(finding, policy, now, (baseline, existing, suppressed), notes)
        if status != finding.status:
            finding = finding.model_copy(update={"status": status})
        out.append(finding)
    out.sort(key=Finding.sort_key)
    return out, sorted(set(notes))


def expired_exception_findings(
    findings: Iterable[Finding], policy: Policy, now: datetime
) -> list[Finding]:
    """Findings that block and that an expired exception would have excused."""
    return [
        finding
        for finding in findings
        if finding.blocks(policy.audits.block_at)
        and any(exc.expires <= now for exc in exceptions_for(finding, policy))
    ]


@dataclass(frozen=True)
class AttestedJudgement:
    """The attested findings that block under the verifier's policy."""

    blocking: list[Finding]
    expired: frozenset[str]  # fingerprints of blocking findings whose exception has expired


def judge_attested(findings: Iterable[Finding], policy: Policy, now: datetime) -> AttestedJudgement:
    """Apply ``policy`` to findings read from an attestation.

    SECURITY: the verifier's policy decides; a status the attester set (baseline, existing,
    excepted) is a check-time convenience and excuses nothing here.
    """
    fresh = [f.model_copy(update={"status": None}) for f in findings]
    applied, _ = apply_policy(fresh, policy, now=now)
    blocking = [f for f in applied if f.blocks(policy.audits.block_at)]
    expired = frozenset(f.fingerprint for f in expired_exception_findings(blocking, policy, now))
    return AttestedJudgement(blocking=blocking, expired=expired)


def decide_findings(
    command: str,
    findings: list[Finding],
    policy: Policy,
    *,
    notes: list[str] | None = None,
    policy_name: str | None = None,
    kinds: list[str] | None = None,
    suppressions: list[Suppression] | None = None,
) -> Verdict:
    """The verdict on findings the policy was applied to: block when any of them blocks."""
    block_at = policy.audits.block_at
    blocking = any(f.blocks(block_at) for f in findings)
    return Verdict(
        command=command,
        verdict="block" if blocking else "pass",
        findings=findings,
        block_at=block_at,
        policy=policy_name or policy.name,
        notes=list(notes or []),
        kinds=list(kinds or []),
        suppressions=list(suppressions or []),
    )
