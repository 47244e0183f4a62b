"""The one collect -> audit -> policy sequence of ``check``, ``pr-check`` and ``attest --audit``.

``gather`` collects the evidence and runs the audits (``attest --audit`` signs what it
returns: the audits' findings at their default severities, for the verifier's policy to
judge). ``assess`` goes on: it re-audits the base tree for findings that were already
there, and applies the policy (overrides, exceptions, baseline, existing-on-base).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from gatekeeper._yaml import yaml_caps
from gatekeeper.audit import AuditContext, rules_for, run_audits
from gatekeeper.collect import CollectContext, collect_all
from gatekeeper.collect import kinds as collector_kinds
from gatekeeper.errors import CollectionError, InvalidInput
from gatekeeper.models.base import GatekeeperModel
from gatekeeper.models.finding import Finding
from gatekeeper.models.options import AuditOptions
from gatekeeper.models.policy import Policy
from gatekeeper.models.suppression import Suppression
from gatekeeper.policy import apply_policy
from gatekeeper.policy.suppressions import (
    RevisionLines,
    Suppressions,
    SuppressionSettings,
    find_suppressions,
    work_tree_lines,
)

# Evidence kinds whose findings are about the tree as it is (compared against the base).
TREE_KINDS = ("pipeline", "secrets", "deps", "container")
# The tree kinds whose collectors read the git index themselves under ``--staged``; the
# other tree kinds read a copy of the index written to a temporary directory.
INDEX_KINDS = ("pipeline", "secrets")


@dataclass(frozen=True)
class AuditRequest:
    """What to examine and how: the repository, the policy, the range and the options."""

    repo: Path
    policy: Policy
    base: str | None = None  # the range base..head: its commits and what it changed
    staged: bool = False  # audit what is staged in the index (pre-commit)
    kinds: list[str] | None = None  # evidence kinds to collect; None: every collector
    options: AuditOptions = field(default_factory=AuditOptions)
    # check/pr-check: whether inline suppressions count, and the revision they must come from.
    suppressions: SuppressionSettings = field(default_factory=SuppressionSettings)
    # Told the name of each step as it starts (a progress line on a terminal); never decides.
    on_step: Callable[[str], None] | None = field(default=None, compare=False)
    head: str = "HEAD"  # the range's head commit
    # What the tree is compared with (findings already there, lockfile changes) when that is
    # not ``base``: pr-check on a merge checkout compares the merge with its first parent
    # while the range is the pull request's own commits (``github/prcheck.py``).
    tree_base: str | None = None

    def selected_kinds(self) -> list[str]:
        return list(self.kinds) if self.kinds is not None else collector_kinds()

    def compared_with(self) -> str | None:
        """The commit whose tree holds the findings that are already there, if any.

        ``--staged`` judges what the staged change introduces, so HEAD's findings are the
        existing ones (none in a repository without a commit yet).
        """
        if self.tree_base is not None:
            return self.tree_base
        if self.base is not None:
            return self.base
        if self.staged:
            from gatekeeper._git import head_commit

            return head_commit(self.repo)
        return None


@dataclass(frozen=True)
class Audited:
    """The evidence collected and the findings the audits yielded (before any policy)."""

    evidence: dict[str, GatekeeperModel]
    findings: list[Finding]

    @property
    def kinds(self) -> list[str]:
        return sorted(self.evidence)

    def collector_notes(self) -> list[str]:
        """Notes a reader must see (e.g. "OSV API not consulted"), in collection order."""
        notes: list[str] = []
        for model in self.evidence.values():
            notes.extend(getattr(model, "notes", None) or [])
        return notes


@dataclass(frozen=True)
class Assessment:
    """An audit with the policy applied."""

    audited: Audited
    findings: list[Finding]  # after policy: severities and statuses set
    notes: list[str]  # the policy's notes, then the collectors'
    suppressions: list[Suppression] = field(default_factory=list)  # found on findings' lines


def collect_evidence(request: AuditRequest) -> dict[str, GatekeeperModel]:
    """Run the selected collectors under the policy's limits.

    Raises:
        InvalidInput: no such repository, or an unknown kind.
        CollectionError: evidence could not be collected.
    """
    if not request.repo.is_dir():
        raise InvalidInput(f"{request.repo}: no such directory")
    limits = request.policy.limits
    ctx = CollectContext(
        repo=request.repo,
        base=request.base,
        head=request.head,
        tree_base=request.tree_base,
        staged=request.staged,
        limits=limits,
        options=request.options,
    )
    kinds = request.selected_kinds()
    copied = [k for k in kinds if k in TREE_KINDS and k not in INDEX_KINDS] if ctx.staged else []
    with yaml_caps(limits.yaml_max_aliases, limits.yaml_max_depth):
        evidence = _collect_each(ctx, [k for k in kinds if k not in copied], request.on_step)
        if copied:
            evidence.update(_collect_from_index(ctx, copied, request.on_step))
    return {kind: evidence[kind] for kind in kinds}


def _collect_each(
    ctx: CollectContext, kinds: list[str], on_step: Callable[[str], None] | None, what: str = ""
) -> dict[str, GatekeeperModel]:
    """``collect_all``, saying each kind to ``on_step`` (with ``what`` after it) first."""
    evidence: dict[str, GatekeeperModel] = {}
    for kind in kinds:
        if on_step is not None:
            on_step(f"collecting {kind}{what}")
        evidence.update(collect_all(ctx, [kind]))
    return evidence


def _collect_from_index(
    ctx: CollectContext, kinds: list[str], on_step: Callable[[str], None] | None
) -> dict[str, GatekeeperModel]:
    """``kinds`` collected from what is staged: the index below ``ctx.repo`` written to a
    temporary directory (``materialize_index``: no checkout, no filter), so that
    ``--staged`` judges the staged content for every tree kind, not the work tree."""
    from gatekeeper._git import materialize_index

    with tempfile.TemporaryDirectory(prefix="gatekeeper-index-") as tmp:
        materialize_index(
            ctx.repo, Path(tmp), ctx.limits.max_file_bytes, max_files=ctx.limits.max_files
        )
        copy = replace(ctx, repo=Path(tmp), staged=False)
        return _collect_each(copy, kinds, on_step, " (the staged files)")


def audit_evidence(request: AuditRequest, evidence: dict[str, GatekeeperModel]) -> list[Finding]:
    """Run every audit over the evidence.

    Raises:
        CollectionError: an audit produced a rule id that is not registered (an internal error).
    """
    ctx = AuditContext(
        policy=request.policy.audits,
        repo=request.repo,
        base=request.base,
        staged=request.staged,
        evidence=dict(evidence),
        options=request.options,
    )
    findings = run_audits(evidence, ctx)
    unknown = sorted({f.rule for f in findings} - rules_for(evidence))
    if unknown:
        raise CollectionError(f"internal: audits produced unregistered rule ids {unknown}")
    return findings


def gather(request: AuditRequest) -> Audited:
    """Collect the evidence and run the audits. Raises what ``collect_evidence`` raises."""
    evidence = collect_evidence(request)
    if request.on_step is not None:
        request.on_step("auditing")
    return Audited(evidence=evidence, findings=audit_evidence(request, evidence))


def existing_on_base(request: AuditRequest, findings: Sequence[Finding] | None = None) -> set[str]:
    """Fingerprints of the tree findings already present on the base (read from git objects).

    The base tree (``request.compared_with()``) is written to a temporary directory and
    audited with the same sequence (tree kinds only, the image left out: see
    ``AuditOptions.for_base_tree``). With ``--staged`` and the ``findings`` of the staged
    audit, only what can hold the same findings is read from HEAD (see ``_staged_passes``).
    """
    tree_kinds = [k for k in request.selected_kinds() if k in TREE_KINDS]
    passes: list[tuple[list[str], set[str] | None]] = [(tree_kinds, None)] if tree_kinds else []
    if request.staged and findings is not None:
        passes = _staged_passes(tree_kinds, findings)
    compared = request.compared_with() if passes else None  # (a git call with --staged)
    if compared is None:
        return set()
    if request.on_step is not None:
        request.on_step("auditing the base")
    existing: set[str] = set()
    for kinds, paths in passes:
        existing.update(_fingerprints_on(request, compared, kinds, paths))
    return existing


def _fingerprints_on(
    request: AuditRequest, commit: str, kinds: list[str], paths: set[str] | None
) -> set[str]:
    """The fingerprints of what ``kinds`` find in ``commit``'s tree (only ``paths`` of it when
    given), written to a temporary directory and audited as a tree."""
    from gatekeeper._git import materialize_tree

    with tempfile.TemporaryDirectory(prefix="gatekeeper-base-") as tmp:
        limit = request.policy.limits.max_file_bytes
        materialize_tree(request.repo, commit, Path(tmp), max_bytes=limit, paths=paths)
        on_base = replace(
            request,
            repo=Path(tmp),
            base=None,
            head="HEAD",
            tree_base=None,
            staged=False,
            kinds=kinds,
            options=request.options.for_base_tree(),
            on_step=None,
        )
        return {f.fingerprint for f in gather(on_base).findings}


def _staged_passes(
    tree_kinds: list[str], findings: Sequence[Finding]
) -> list[tuple[list[str], set[str] | None]]:
    """What of HEAD a staged audit must read to tell its existing findings from new ones.

    Only the kinds that found something (nothing found: nothing to tell apart, which keeps
    the commit hook fast). The staged secrets scan reads the staged change only, file by
    file, and a secret's fingerprint is its rule, path and value: HEAD's versions of the
    files with a finding are all that can hold the same ones. The other kinds read HEAD's
    whole tree, since their findings may depend on other files (a missing local action).
    """
    rules = {f.rule for f in findings}
    wanted = [k for k in tree_kinds if rules & rules_for([k])]
    passes: list[tuple[list[str], set[str] | None]] = []
    if "secrets" in wanted:
        secrets_rules = rules_for(["secrets"])
        hits = [f for f in findings if f.rule in secrets_rules]
        paths = {f.path for f in hits if f.path is not None}
        whole = any(f.path is None for f in hits)
        passes.append((["secrets"], None if whole else paths))
    others = [k for k in wanted if k != "secrets"]
    if others:
        passes.append((others, None))
    return passes


def assess(
    request: AuditRequest,
    *,
    now: datetime,
    baseline: set[str] | None = None,
    before_policy: Callable[[list[Finding]], list[Finding]] | None = None,
) -> Assessment:
    """Gather, mark what the base already had (unless the policy blocks it), apply the policy.

    ``before_policy`` (pr-check) may add findings and adjust them before the policy applies.
    """
    audited = gather(request)
    raw = list(audited.findings)
    if before_policy is not None:
        raw = before_policy(raw)
        audited = Audited(evidence=audited.evidence, findings=raw)
    existing: set[str] = set()
    if not request.policy.audits.block_existing:
        existing = existing_on_base(request, raw)
    inline = inline_suppressions(request, raw, now)
    findings, notes = apply_policy(
        raw,
        request.policy,
        now=now,
        baseline=baseline,
        existing=existing,
        suppressed=inline.excused,
    )
    return Assessment(
        audited=audited,
        findings=findings,
        notes=[*notes, *audited.collector_notes()],
        suppressions=inline.records,
    )


def inline_suppressions(
    request: AuditRequest, findings: list[Finding], now: datetime
) -> Suppressions:
    """The inline suppressions on the lines of ``findings`` (``policy.suppressions``), read
    from the audited tree (the index with ``--staged``), trusted only from
    ``request.suppressions.trusted_revision`` when one is set (pr-check's base)."""
    limit = request.policy.limits.max_file_bytes
    settings = request.suppressions
    staged = RevisionLines(request.repo, ":", limit) if request.staged else None
    trusted = (
        RevisionLines(request.repo, settings.trusted_revision, limit)
        if settings.trusted_revision
        else None
    )
    try:
        return find_suppressions(
            findings,
            staged if staged is not None else work_tree_lines(request.repo, limit),
            now=now,
            settings=settings,
            trusted=trusted,
        )
    finally:
        for reader in (staged, trusted):
            if reader is not None:
                reader.close()
