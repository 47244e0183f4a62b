"""``gatekeeper check`` as a function: assess a repository and decide."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gatekeeper.app.assess import AuditRequest, assess
from gatekeeper.models.base import GatekeeperModel
from gatekeeper.models.finding import Finding
from gatekeeper.models.verdict import Verdict
from gatekeeper.policy import decide_findings, load_baseline


@dataclass(frozen=True)
class CheckConfig(AuditRequest):
    """An audit request plus what only a check has: a baseline, the policy's shown name."""

    baseline: Path | None = None
    # A baseline already read (pr-check reads it from the base revision); wins over the path.
    baseline_fingerprints: frozenset[str] | None = None
    policy_name: str | None = None
    # The directory the report names as audited (the repository's top, or --path-only's path).
    root: str | None = None
    # Notes the caller adds before the run's own (e.g. which configuration was read).
    notes: tuple[str, ...] = ()
    now: datetime | None = None
    command: str = "check"
    # pr-check's word on the audits' findings before the policy applies: it adds its own
    # gate-change findings and judges every gate change against the pull request's reviews.
    before_policy: Callable[[list[Finding]], list[Finding]] | None = None


@dataclass(frozen=True)
class CheckResult:
    verdict: Verdict
    evidence: dict[str, GatekeeperModel]
    findings: list[Finding]  # after policy

    @property
    def unexcused(self) -> list[Finding]:
        """The findings no exception, baseline or base excuses (what a new baseline accepts)."""
        return [f for f in self.findings if f.status is None]


def run_check(cfg: CheckConfig) -> CheckResult:
    """Collect, audit, apply the policy, and decide.

    Raises:
        CollectionError / InvalidInput: evidence could not be collected (a block, exit 2).
    """
    baseline: set[str] | None = None
    if cfg.baseline_fingerprints is not None:
        baseline = set(cfg.baseline_fingerprints)
    elif cfg.baseline:
        baseline = load_baseline(cfg.baseline)
    assessment = assess(
        cfg, now=cfg.now or datetime.now(UTC), baseline=baseline, before_policy=cfg.before_policy
    )
    verdict = decide_findings(
        cfg.command,
        assessment.findings,
        cfg.policy,
        notes=[*cfg.notes, *assessment.notes],
        policy_name=cfg.policy_name,
        kinds=assessment.audited.kinds,
        suppressions=assessment.suppressions,
    )
    if cfg.root is not None:
        verdict = verdict.model_copy(update={"root": cfg.root})
    return CheckResult(
        verdict=verdict, evidence=assessment.audited.evidence, findings=assessment.findings
    )
