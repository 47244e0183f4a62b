"""`gatekeeper check`: collect evidence, run the audits, apply the policy, decide.

Policy application is shared with the verifier (``apply_policy``): per-rule overrides,
exceptions by rule and path glob with expiry, and a baseline of accepted fingerprints.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gatekeeper._fileio import (
    atomic_write,
    dumps_json,
    loads_json_strict,
    read_bounded,
    yaml_caps,
)
from gatekeeper._glob import match_path
from gatekeeper.audit import AuditContext, all_rules, run_audits
from gatekeeper.collect import CollectContext, collect_all
from gatekeeper.collect import kinds as collector_kinds
from gatekeeper.errors import CollectionError, InvalidInput
from gatekeeper.models.baseline import Baseline, BaselineEntry
from gatekeeper.models.finding import Finding
from gatekeeper.models.options import AuditOptions
from gatekeeper.models.policy import ExceptionPolicy, Policy
from gatekeeper.models.verdict import Verdict

# Evidence kinds whose findings are about the tree as it is (compared against the base).
_TREE_KINDS = ("pipeline", "secrets", "deps", "container")


@dataclass(frozen=True)
class CheckConfig:
    repo: Path
    policy: Policy
    base: str | None = None
    kinds: list[str] | None = None
    baseline: Path | None = None
    staged: bool = False
    policy_name: str | None = None
    options: AuditOptions = field(default_factory=AuditOptions)
    now: datetime | None = None


@dataclass
class CheckResult:
    verdict: Verdict
    evidence: dict[str, Any]
    findings: list[Finding]  # after policy


def _exceptions_for(finding: Finding, policy: Policy) -> Iterator[ExceptionPolicy]:
    """The policy's exceptions whose rule glob, path glob and fingerprint cover ``finding``."""
    for exc in policy.exceptions:
        if (
            match_path(exc.rule, finding.rule)
            and match_path(exc.path, finding.path or "")
            and (not exc.fingerprint or exc.fingerprint == finding.fingerprint)
        ):
            yield exc


def apply_policy(
    findings: Iterable[Finding],
    policy: Policy,
    *,
    now: datetime,
    baseline: set[str] | None = None,
    existing: set[str] | None = None,
) -> tuple[list[Finding], list[str]]:
    """Apply rule overrides, exceptions, the baseline and base-existing marks.

    Returns the findings (with severity and status set) and notes for the report.
    Expired exceptions excuse nothing and are named in the notes.
    """
    out: list[Finding] = []
    notes: list[str] = []
    for finding in findings:
        override = policy.audits.rules.get(finding.rule)
        if override is not None and not override.enabled:
            continue
        if override is not None and override.severity is not None:
            finding = finding.model_copy(update={"severity": override.severity})
        status = finding.status
        for exc in _exceptions_for(finding, policy):
            if exc.expires <= now:
                notes.append(
                    f"exception for {exc.rule} on {exc.path} expired {exc.expires:%Y-%m-%d}: "
                    f"{finding.rule} at {finding.path or '-'} is not excused"
                )
                continue
            status = "excepted"
            break
        if status is None and baseline and finding.fingerprint in baseline:
            status = "baseline"
        if status is None and existing and finding.fingerprint in existing:
            status = "existing"
        if status != finding.status:
            finding = finding.model_copy(update={"status": status})
        out.append(finding)
    out.sort(key=Finding.sort_key)
    return out, sorted(set(notes))


def expired_exception_findings(
    findings: Iterable[Finding], policy: Policy, now: datetime
) -> list[Finding]:
    """Findings that block and that an expired exception would have excused."""
    hits = []
    for finding in findings:
        if not finding.blocks(policy.audits.block_at):
            continue
        if any(exc.expires <= now for exc in _exceptions_for(finding, policy)):
            hits.append(finding)
    return hits


def load_baseline(path: Path) -> set[str]:
    """Raises InvalidInput when the baseline file is unreadable or not a baseline."""
    try:
        model = Baseline.model_validate(loads_json_strict(read_bounded(path)))
    except (ValueError, ValidationError) as exc:
        raise InvalidInput(f"{path}: not a gatekeeper baseline file: {exc}") from exc
    return {entry.fingerprint for entry in model.findings}


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    entries = {
        f.fingerprint: BaselineEntry(fingerprint=f.fingerprint, rule=f.rule, path=f.path)
        for f in findings
    }
    model = Baseline(findings=[entries[k] for k in sorted(entries)])
    atomic_write(path, dumps_json(model.model_dump(mode="json")).encode())
    return len(entries)


def _tree_kinds(selected: list[str]) -> list[str]:
    return [k for k in selected if k in _TREE_KINDS]


def _base_fingerprints(cfg: CheckConfig, selected: list[str], ctx: AuditContext) -> set[str]:
    """Fingerprints of findings already present on the base tree (read from git objects)."""
    from gatekeeper._git import materialize_tree, open_repo

    tree_kinds = _tree_kinds(selected)
    if not tree_kinds or cfg.base is None:
        return set()
    repo = open_repo(cfg.repo)
    try:
        with tempfile.TemporaryDirectory(prefix="gatekeeper-base-") as tmp:
            materialize_tree(repo, cfg.base, Path(tmp), max_bytes=cfg.policy.limits.max_file_bytes)
            limits = cfg.policy.limits
            base_ctx = CollectContext(
                repo=Path(tmp), base=None, limits=limits, options=cfg.options.for_base_tree()
            )
            with yaml_caps(limits.yaml_max_aliases, limits.yaml_max_depth):
                evidence = collect_all(base_ctx, tree_kinds)
            base_audit_ctx = AuditContext(
                policy=ctx.policy, repo=Path(tmp), evidence=evidence, options=ctx.options
            )
            return {f.fingerprint for f in run_audits(evidence, base_audit_ctx)}
    finally:
        repo.close()


def run_check(cfg: CheckConfig) -> CheckResult:
    """Collect, audit, apply the policy, and decide.

    Raises:
        CollectionError / InvalidInput: evidence could not be collected (a block, exit 2).
    """
    if not cfg.repo.is_dir():
        raise InvalidInput(f"{cfg.repo}: no such directory")
    now = cfg.now or datetime.now(UTC)
    selected = cfg.kinds if cfg.kinds is not None else collector_kinds()
    limits = cfg.policy.limits
    ctx = CollectContext(
        repo=cfg.repo, base=cfg.base, staged=cfg.staged, limits=limits, options=cfg.options
    )
    with yaml_caps(limits.yaml_max_aliases, limits.yaml_max_depth):
        evidence = collect_all(ctx, selected)
    audit_ctx = AuditContext(
        policy=cfg.policy.audits,
        repo=cfg.repo,
        base=cfg.base,
        evidence=evidence,
        options=cfg.options,
    )
    raw = run_audits(evidence, audit_ctx)
    unknown = sorted({f.rule for f in raw} - set(all_rules()))
    if unknown:
        raise CollectionError(f"internal: audits produced unregistered rule ids {unknown}")
    existing: set[str] = set()
    if cfg.base is not None and not cfg.policy.audits.block_existing:
        existing = _base_fingerprints(cfg, selected, audit_ctx)
    baseline = load_baseline(cfg.baseline) if cfg.baseline else None
    findings, notes = apply_policy(raw, cfg.policy, now=now, baseline=baseline, existing=existing)
    # Collectors may carry notes a reader must see (e.g. "OSV API not consulted").
    for model in evidence.values():
        notes.extend(getattr(model, "notes", None) or [])
    verdict = decide_findings(
        "check",
        findings,
        cfg.policy,
        notes=notes,
        policy_name=cfg.policy_name,
        kinds=sorted(evidence),
    )
    return CheckResult(verdict=verdict, evidence=evidence, findings=findings)


def decide_findings(
    command: str,
    findings: list[Finding],
    policy: Policy,
    *,
    notes: list[str] | None = None,
    policy_name: str | None = None,
    extra_notes: Mapping[str, str] | None = None,
    kinds: list[str] | None = None,
) -> Verdict:
    block_at = policy.audits.block_at
    blocking = [f for f in findings if f.blocks(block_at)]
    all_notes = list(notes or [])
    if extra_notes:
        all_notes.extend(extra_notes.values())
    return Verdict(
        command=command,
        verdict="block" if blocking else "pass",
        findings=findings,
        block_at=block_at,
        policy=policy_name or policy.name,
        notes=all_notes,
        kinds=list(kinds or []),
    )
