"""``gatekeeper pr-check``: audit what a pull request introduces, and report it to GitHub.

1. The range: ``--base/--head``, else the pull-request event (``GITHUB_EVENT_PATH``), else
   Jenkins' ``CHANGE_TARGET`` (``origin/<target>``). The audits run with the *merge base*
   as base, so findings already on the target branch are "existing" and do not block
   (unless the policy sets ``audits.block_existing``).
2. The working tree must be the head (or GitHub's merge commit of the head): the tree
   audits read the files as checked out, so anything else would audit the wrong change.
3. The policy, baseline and repository configuration come from the base revision, never
   from the head (``gatekeeper.github.gatefiles``); a pull request that changes them gets a
   ``source/gate-change`` finding. Inline suppressions count only when their line is in the
   base revision too.
4. When the policy requires review, or the pull request changes the gate, the pull
   request's reviews are read through the API; the source audits get them as
   ``AuditOptions.reviews`` (see ``reviews_option``), and a gate change blocks until someone
   other than the author approves the head (``judge_gate_changes``). When the policy
   requires signed commits, GitHub's verification of the pull request's commit signatures
   is read too (``AuditOptions.forge_verifications``).
5. ``report_to_github`` posts a commit status and a check run with annotations.

Without a token (a fork's pull request) nothing is posted: the verdict is printed and the
exit code still blocks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import git

from gatekeeper._git import open_repo
from gatekeeper.app import CheckConfig, run_check
from gatekeeper.app.config import Settings, resolve, with_block_at
from gatekeeper.errors import CollectionError, InvalidInput
from gatekeeper.github.event import PullRequestEvent, event_from_environment, load_event
from gatekeeper.github.gatefiles import (
    Revisions,
    TrustedGate,
    gate_change_findings,
    trusted_gate,
)
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.options import AuditOptions
from gatekeeper.models.policy import Policy
from gatekeeper.models.source import ForgeVerification, PullRequestReview
from gatekeeper.models.verdict import Verdict
from gatekeeper.policy.suppressions import SuppressionSettings
from gatekeeper.report import github, markdown
from gatekeeper.report.base import active, blocking, ranked

if TYPE_CHECKING:
    from gatekeeper._http import HttpClient
    from gatekeeper.github.api import GitHubApiError, GitHubClient

CONTEXT = "gatekeeper/pr-check"
CHECK_NAME = "gatekeeper"
MAX_ANNOTATIONS = 1000  # 20 requests of 50; the rest are in the summary text


@dataclass(frozen=True)
class PrCheckConfig:
    """What to check. ``policy_path`` and ``baseline`` inside the repository are read from the
    base revision (``gatekeeper.github.gatefiles``); ``policy`` is an already trusted policy
    object for library callers (default: the bundled policy)."""

    repo: Path
    policy: Policy | None = None
    policy_path: Path | None = None
    policy_name: str | None = None
    base: str | None = None
    head: str | None = None
    event_path: str | None = None
    kinds: list[str] | None = None
    baseline: Path | None = None
    options: AuditOptions = field(default_factory=AuditOptions)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    github_repository: str | None = None
    pr_number: int | None = None
    http: HttpClient | None = None  # injected by tests; default: a fresh client
    # The repository configuration, read from the base revision (``gatefiles``): another
    # file than .gatekeeper.yaml, or none at all.
    config_path: Path | None = None
    use_config: bool = True
    block_at: Severity | None = None  # --block-at: only stricter than the policy
    on_step: Callable[[str], None] | None = None  # told each step (a progress line)


@dataclass
class PrCheckResult:
    verdict: Verdict
    merge_base: str
    head: str  # the pull request's head commit
    number: int | None
    repository: str | None
    is_fork: bool
    reviews: list[PullRequestReview] | None = None
    policy: Policy | None = None  # the policy applied (the base revision's)


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _resolve(repo: git.Repo, ref: str, what: str) -> str:
    try:
        return str(repo.commit(ref).hexsha)
    except (git.BadName, ValueError, git.GitError) as exc:
        raise CollectionError(
            f"{what} {ref!r} is not a commit in this clone; fetch it first (e.g. "
            f"`git fetch origin {ref}`, or actions/checkout with fetch-depth: 0)"
        ) from exc


@dataclass(frozen=True)
class _Checkout:
    """What the work tree holds: the head itself, or a merge commit of the head.

    GitHub's default checkout of a pull request (``refs/pull/N/merge``) is a merge commit
    whose first parent is the target branch as GitHub merged it and whose second parent is
    the head; a CI that merges the target into the head makes the mirror image. Either way
    ``target`` is the parent that is not the head.
    """

    merge: str | None = None
    target: str | None = None


def _checkout(repo: git.Repo, head_sha: str, base_sha: str) -> _Checkout:
    """Make sure the checked-out tree is the head or a merge of it into the target branch.

    Raises:
        InvalidInput: another commit is checked out, or a merge of the head into something
            that is not on the target branch's line of history.
    """
    try:
        checked_out = repo.head.commit
    except (ValueError, git.GitError) as exc:
        raise InvalidInput("the repository has no checked-out commit") from exc
    if checked_out.hexsha == head_sha:
        return _Checkout()
    parents = [p.hexsha for p in checked_out.parents]
    if len(parents) == 2 and head_sha in parents and parents[0] != parents[1]:
        target = parents[1] if parents[0] == head_sha else parents[0]
        # SECURITY: what the target parent holds is judged "already there", so it must be
        # the target branch (the base or a commit of its line), not any commit merged in.
        base, merged = repo.commit(base_sha), repo.commit(target)
        if not (repo.is_ancestor(base, merged) or repo.is_ancestor(merged, base)):
            raise InvalidInput(
                f"the checked-out merge commit {checked_out.hexsha[:12]} merges head "
                f"{head_sha[:12]} with {target[:12]}, which is not on the target branch "
                f"(it neither contains nor is contained in the base {base_sha[:12]}): check "
                "out the head or GitHub's merge commit of it"
            )
        return _Checkout(merge=checked_out.hexsha, target=target)
    raise InvalidInput(
        f"the checked-out commit {checked_out.hexsha[:12]} is not the pull request head "
        f"{head_sha[:12]}: check out the head (actions/checkout with ref: "
        "${{ github.event.pull_request.head.sha }}) so the audit reads the change itself"
    )


@dataclass(frozen=True)
class _Audited:
    """What the audits compare: the commits ``base..head`` and the tree with ``tree_base``."""

    base: str
    head: str = "HEAD"
    tree_base: str | None = None


def _audited_range(
    repo: git.Repo, checkout: _Checkout, revisions: Revisions, notes: list[str]
) -> _Audited:
    """The pull request's own commits, and what its tree is compared with.

    On the head itself: the commits since the merge base, the tree against the merge base.
    On a merge commit: the tree against the target parent (what the target branch already
    had, including what landed there after the pull request was opened), and the commits of
    the pull request only (from the merge base of the target parent and the head), never
    the target branch's commits nor the merge commit itself.
    """
    if checkout.merge is None or checkout.target is None:
        return _Audited(base=revisions.merge_base)
    bases = repo.merge_base(checkout.target, revisions.head)
    if not bases:  # NOTE: cannot happen after _checkout's ancestry check; fail closed anyway
        raise CollectionError(f"{checkout.target} and {revisions.head} share no history")
    since = str(bases[0].hexsha)
    notes.append(
        f"audited the merge commit {checkout.merge[:12]} of head {revisions.head[:12]} into "
        f"{checkout.target[:12]}: its tree is compared with {checkout.target[:12]} (the "
        "target branch as merged), and the commits audited are the pull request's "
        f"({since[:12]}..{revisions.head[:12]})"
    )
    return _Audited(base=since, head=revisions.head, tree_base=checkout.target)


_DECISIVE = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")


def _latest_decisions(raw_reviews: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """login -> (state, commit_id) of each reviewer's latest decisive review."""
    latest: dict[str, tuple[str, str]] = {}
    for review in raw_reviews:
        user = review.get("user") or {}
        login = user.get("login") if isinstance(user, dict) else None
        state = review.get("state")
        commit = review.get("commit_id")
        if isinstance(login, str) and state in _DECISIVE:
            latest[login] = (str(state), commit if isinstance(commit, str) else "")
    return latest


def reviews_option(raw_reviews: list[dict[str, Any]], author: str) -> list[PullRequestReview]:
    """Turn the reviews API's records into ``PullRequestReview`` records for the source audits.

    A reviewer's latest decisive review counts (APPROVED, CHANGES_REQUESTED or DISMISSED;
    COMMENTED and PENDING change nothing). An approval applies to the commit it was given on
    (``commit_id``): the source audit accepts it for the range only when that commit is the
    head, so approvals of an older push do not carry over. The author's own review never
    counts (the audit also checks this).
    """
    by_commit: dict[str, set[str]] = {}
    for login, (state, commit) in _latest_decisions(raw_reviews).items():
        if state == "APPROVED" and commit and login.lower() != author.lower():
            by_commit.setdefault(commit, set()).add(login)
    return [
        PullRequestReview(head_sha=sha, author=author, approved_by=sorted(logins))
        for sha, logins in sorted(by_commit.items())
    ]


def _client(cfg: PrCheckConfig, repository: str) -> GitHubClient | None:
    token = _env(cfg.environ, "GITHUB_TOKEN")
    if token is None:
        return None
    # NOTE: requests (~85 ms to import) loads only when there is a token to report with.
    from gatekeeper.github.api import DEFAULT_API_URL, GitHubClient

    return GitHubClient(
        token,
        repository,
        api_url=_env(cfg.environ, "GITHUB_API_URL") or DEFAULT_API_URL,
        http=cfg.http,
    )


@dataclass(frozen=True)
class _PullRequest:
    """What the command line, the event and the CI environment say about the pull request."""

    event: PullRequestEvent | None
    base_ref: str
    head_ref: str
    repository: str | None
    number: int | None

    @property
    def author(self) -> str:
        return self.event.author if self.event else ""


def _base_ref(cfg: PrCheckConfig, event: PullRequestEvent | None) -> str:
    """--base, else the event's base, else Jenkins' target branch. Raises InvalidInput."""
    if cfg.base:
        return cfg.base
    if event is not None:
        return event.base_sha
    target = _env(cfg.environ, "CHANGE_TARGET")
    if target:
        return f"origin/{target}"
    raise InvalidInput(
        "pr-check needs a base: --base REF, a pull-request event in "
        "GITHUB_EVENT_PATH, or Jenkins' CHANGE_TARGET"
    )


def _number(cfg: PrCheckConfig, event: PullRequestEvent | None) -> int | None:
    """--pr, else the event's number, else Jenkins' CHANGE_ID."""
    if cfg.pr_number:
        return cfg.pr_number
    if event is not None:
        return event.number
    change_id = _env(cfg.environ, "CHANGE_ID")
    return int(change_id) if change_id and change_id.isdigit() else None


def _pull_request(cfg: PrCheckConfig) -> _PullRequest:
    """Raises InvalidInput when there is no base to compare with."""
    event = load_event(cfg.event_path) if cfg.event_path else event_from_environment(cfg.environ)
    head = cfg.head or (event.head_sha if event else None) or "HEAD"
    repository = cfg.github_repository or (event.repository if event else None)
    return _PullRequest(
        event=event,
        base_ref=_base_ref(cfg, event),
        head_ref=head,
        repository=repository or _env(cfg.environ, "GITHUB_REPOSITORY"),
        number=_number(cfg, event),
    )


def _gate(
    cfg: PrCheckConfig, pr: _PullRequest, notes: list[str]
) -> tuple[Revisions, TrustedGate, bool, _Audited]:
    """The revisions, what the pull request is judged by (read from the base), whether the
    range touches any gate path, and what the audits compare. The working tree must be the
    head (or a merge commit of it into the target branch).

    Raises:
        CollectionError: a commit is missing, or base and head share no history.
        InvalidInput: the working tree is not the head; a gate file is unreadable or invalid.
    """
    from gatekeeper.collect.git_source import path_category

    repo = open_repo(cfg.repo)
    try:
        head_sha = _resolve(repo, pr.head_ref, "head")
        base_sha = _resolve(repo, pr.base_ref, "base")
        checkout = _checkout(repo, head_sha, base_sha)
        bases = repo.merge_base(base_sha, head_sha)
        if not bases:
            raise CollectionError(
                f"{pr.base_ref} and {pr.head_ref} share no history (no merge base)"
            )
        revisions = Revisions(base=base_sha, merge_base=str(bases[0].hexsha), head=head_sha)
        gate = trusted_gate(
            repo,
            revisions,
            policy_path=cfg.policy_path,
            baseline_path=cfg.baseline,
            policy=cfg.policy,
            config_path=cfg.config_path,
            use_config=cfg.use_config,
        )
        # NOTE: names only (no content is diffed, no external diff or textconv can run).
        changed = repo.git.diff(
            "--name-only", "-z", "--no-renames", "--no-ext-diff", revisions.merge_base, head_sha
        )
        touched = bool(gate.changed) or any(
            path_category(p) == "gate" for p in changed.split("\0") if p
        )
        return revisions, gate, touched, _audited_range(repo, checkout, revisions, notes)
    finally:
        repo.close()


def _reviews(
    cfg: PrCheckConfig, pr: _PullRequest, notes: list[str], policy: Policy, gate_changed: bool
) -> tuple[list[PullRequestReview] | None, str]:
    """The pull request's reviews when the policy requires review or the pull request changes
    the gate; None when not read, with why."""
    if not policy.audits.require_review and not gate_changed:
        return None, "not needed"
    client = _client(cfg, pr.repository) if pr.repository else None
    if client is None or pr.number is None:
        why = (
            "no GITHUB_TOKEN"
            if pr.repository and client is None
            else "no repository or pull-request number"
        )
        if policy.audits.require_review:
            notes.append(
                "the policy requires review but pull-request reviews were not read "
                "(no GITHUB_TOKEN, repository or pull-request number): no review can be "
                "verified (Reviewed-by/Approved-by trailers are written by the author)"
            )
        return None, why
    raw = client.list_reviews(pr.number)
    if not pr.author:
        notes.append("pull-request author unknown (no event): API reviews not applied")
        return [], "the pull-request author is unknown (no event)"
    return reviews_option(raw, pr.author), ""


def _head_approvers(
    reviews: list[PullRequestReview] | None, head: str, author_known: bool
) -> list[str] | None:
    """Who approved the head itself (never the author); None when that cannot be known."""
    if reviews is None or not author_known:
        return None
    return sorted({a for r in reviews if r.head_sha == head for a in r.approved_by})


def judge_gate_changes(
    findings: list[Finding], approvers: list[str] | None, unread: str, head: str
) -> list[Finding]:
    """Every ``source/gate-change`` against the pull request's reviews.

    Approved at the head by someone other than the author: reported at ``info`` with the
    approvers (a policy override of the rule's severity still applies). Otherwise it keeps
    its severity and says what is missing. SECURITY: reviews that could not be read approve
    nothing (a fork's pull request without a token, no event).
    """
    from gatekeeper.audit.source_integrity import GATE_CHANGE

    out = []
    for f in findings:
        if f.rule != GATE_CHANGE.id:
            out.append(f)
        elif approvers:
            out.append(
                f.model_copy(
                    update={
                        "severity": Severity.INFO,
                        "message": f"{f.message}; approved at the head {head[:12]} by "
                        + ", ".join(approvers),
                    }
                )
            )
        else:
            missing = (
                f"the reviews could not be read ({unread})"
                if approvers is None
                else f"nobody other than the author approved the head {head[:12]}"
            )
            out.append(
                f.model_copy(
                    update={
                        "message": f"{f.message}; a change to the gate needs an approving "
                        f"review by someone other than its author, and {missing}"
                    }
                )
            )
    return out


def _before_policy(
    own: list[Finding], approvers: list[str] | None, unread: str, head: str
) -> Callable[[list[Finding]], list[Finding]]:
    """pr-check's gate-change findings replace the audits' for the same paths; then every
    gate change is judged against the reviews."""
    own_paths = {f.path for f in own}

    def adjust(findings: list[Finding]) -> list[Finding]:
        kept = [f for f in findings if not (f.rule == "source/gate-change" and f.path in own_paths)]
        return judge_gate_changes([*kept, *own], approvers, unread, head)

    return adjust


def _verifications(
    cfg: PrCheckConfig, pr: _PullRequest, notes: list[str], policy: Policy
) -> list[ForgeVerification] | None:
    """GitHub's verification of the pull request's commits when the policy requires signed
    commits; None when not read (signatures are then checked locally only)."""
    if not policy.audits.require_signed_commits:
        return None
    client = _client(cfg, pr.repository) if pr.repository else None
    if client is None or pr.number is None:
        notes.append(
            "the policy requires signed commits but GitHub's verification of the pull "
            "request's commits was not read (no GITHUB_TOKEN, repository or pull-request "
            "number): signatures are checked against the keys on this machine only"
        )
        return None
    from gatekeeper.github.api import MAX_PULL_COMMITS, commit_verifications

    raw = client.list_pull_commits(pr.number)
    if len(raw) >= MAX_PULL_COMMITS:
        notes.append(
            f"GitHub lists only the first {MAX_PULL_COMMITS} commits of a pull request: the "
            "signatures of later commits are checked against the keys on this machine only"
        )
    return commit_verifications(raw)


def run_pr_check(cfg: PrCheckConfig) -> PrCheckResult:
    """Decide on a pull request (nothing is posted; see ``report_to_github``).

    Raises:
        InvalidInput: no range to check, or the working tree is not the head.
        CollectionError: a commit is missing from the clone.
        GitHubApiError: the reviews or commit verifications the policy needs could not be
            read.
    """
    pr = _pull_request(cfg)
    notes: list[str] = []
    revisions, gate, gate_changed, audited = _gate(cfg, pr, notes)
    notes.extend(gate.notes)
    # The base revision's configuration fills in what the command line did not say.
    settings = resolve(
        Settings(kinds=cfg.kinds, options=cfg.options, block_at=cfg.block_at),
        gate.config,
        cfg.repo,
        on_disk=False,
    )
    policy = with_block_at(gate.policy, settings.block_at, settings.block_at_source)
    merge_base, head_sha = audited.base, revisions.head
    reviews, unread = _reviews(cfg, pr, notes, policy, gate_changed)
    verifications = _verifications(cfg, pr, notes, policy)
    options = settings.options
    if reviews is not None and policy.audits.require_review:
        options = options.model_copy(update={"reviews": tuple(reviews)})
    if verifications is not None:
        options = options.model_copy(update={"forge_verifications": tuple(verifications)})
    approvers = _head_approvers(reviews, head_sha, bool(pr.author))
    result = run_check(
        CheckConfig(
            repo=cfg.repo,
            policy=policy,
            base=audited.base,
            head=audited.head,
            tree_base=audited.tree_base,
            kinds=settings.kinds,
            baseline_fingerprints=gate.baseline,
            policy_name=cfg.policy_name or policy.name,
            options=options,
            # SECURITY: a suppression counts only when its line is already in the base
            # revision: a pull request cannot excuse its own findings (unless the base's
            # configuration says so). On a merge checkout, the target parent is the base.
            suppressions=SuppressionSettings(
                inline=settings.suppressions.inline,
                trusted_revision=None
                if settings.honour_pull_request_suppressions
                else (audited.tree_base or revisions.base),
            ),
            root=str(cfg.repo),
            on_step=cfg.on_step,
            command="pr-check",
            before_policy=_before_policy(
                gate_change_findings(gate, revisions), approvers, unread, head_sha
            ),
        )
    )
    verdict = result.verdict.model_copy(
        update={
            "notes": notes + list(result.verdict.notes),
            "subjects": [f"#{pr.number}"] if pr.number else [head_sha[:12]],
        }
    )
    return PrCheckResult(
        verdict=verdict,
        merge_base=merge_base,
        head=head_sha,
        number=pr.number,
        repository=pr.repository,
        is_fork=bool(pr.event and pr.event.is_fork),
        reviews=reviews,
        policy=policy,
    )


def _annotation(finding: Finding, blocks: bool) -> dict[str, Any]:
    # The check-runs API says "failure" where a workflow command says "error".
    level = "failure" if blocks else github.level(finding, blocks)
    line = finding.line or 1
    return {
        "path": finding.path,
        "start_line": line,
        "end_line": line,
        "annotation_level": level,
        "title": finding.rule,
        "message": f"{finding.message} ({finding.severity.value})",
    }


def annotations_for(verdict: Verdict) -> list[dict[str, Any]]:
    """Check-run annotations for new findings with a path, blocking ones first."""
    with_path = [(f, blocks) for f, blocks in ranked(verdict) if f.path]
    return [_annotation(f, blocks) for f, blocks in with_path[:MAX_ANNOTATIONS]]


def _run_url(environ: Mapping[str, str]) -> str | None:
    server, repo, run = (
        _env(environ, n) for n in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if server and repo and run:
        return f"{server}/{repo}/actions/runs/{run}"
    return _env(environ, "BUILD_URL")


def _description(verdict: Verdict) -> str:
    if verdict.allowed:
        return "no blocking findings"
    at = verdict.block_at.value if verdict.block_at else "-"
    return f"{len(blocking(verdict))} blocking finding(s) at or above {at}"


def _check_run_text(verdict: Verdict, annotations: list[dict[str, Any]]) -> tuple[str, str]:
    """(summary, text) of the check run: the Markdown report, and what is not annotated."""
    headline, _, rest = markdown.render(verdict).partition("\n")
    text = rest.strip()
    missing = len(active(verdict)) - len(annotations)
    if missing > 0:
        text += f"\n\n{missing} finding(s) are not annotated (no file, or over the limit)."
    return headline.lstrip("# ").strip(), text


def _not_reported(result: PrCheckResult, client: GitHubClient | None) -> str | None:
    if result.repository is None:
        return "not reported to GitHub: no repository (GITHUB_REPOSITORY or the event)"
    if client is None:
        return "not reported to GitHub: GITHUB_TOKEN is not set"
    if result.is_fork:
        # NOTE: a fork's pull request gets a read-only token; writes would fail with 403.
        return "not reported to GitHub: the pull request comes from a fork (read-only token)"
    return None


def _refused_check_run(exc: GitHubApiError) -> str:
    """The one line that says why there is no check run (GitHub's own words included)."""
    return (
        f"no check run: GitHub refused to create one ({exc.api_message or 'HTTP 403'}); only "
        "a GitHub App's token, or a workflow's GITHUB_TOKEN with `checks: write`, may create "
        "check runs (a personal access token never can)"
    )


def report_to_github(result: PrCheckResult, cfg: PrCheckConfig) -> list[str]:
    """Post the check run and the commit status; returns what was done (for the log).

    A token that may not create check runs (GitHub answers 403: a personal access token, as
    on Jenkins, or a workflow token without ``checks: write``) gets the commit status only,
    and the returned line says so once.

    Raises:
        GitHubApiError: the API refused a write (a pass must not look reported when it is not).
    """
    from gatekeeper.github.api import GitHubApiError

    client = _client(cfg, result.repository) if result.repository is not None else None
    skipped = _not_reported(result, client)
    if skipped is not None or client is None:
        return [skipped or "not reported to GitHub"]
    verdict = result.verdict
    passed = verdict.allowed
    description = _description(verdict)
    url = _run_url(cfg.environ)
    check_run = ""
    try:
        run_id: int | None = client.create_check_run(
            name=CHECK_NAME,
            head_sha=result.head,
            details_url=url,
            external_id=str(result.number) if result.number else None,
        )
    except GitHubApiError as exc:
        if exc.status != 403:
            raise
        run_id, check_run = None, _refused_check_run(exc)
    if run_id is not None:
        notes = annotations_for(verdict)
        summary, text = _check_run_text(verdict, notes)
        patches = client.complete_check_run(
            run_id,
            conclusion="success" if passed else "failure",
            title=("gatekeeper: pass" if passed else f"gatekeeper: block ({description})"),
            summary=summary,
            text=text,
            annotations=notes,
        )
        check_run = f"check run {run_id} ({len(notes)} annotation(s) in {patches} request(s))"
    # NOTE: the status goes last, so a "success" is never posted when an earlier write failed.
    state = "success" if passed else "failure"
    client.create_status(
        result.head,
        state=state,
        description=description,
        context=CONTEXT,
        target_url=url,
    )
    return [f"reported to GitHub: status {CONTEXT} {state} on {result.head[:12]}, {check_run}"]


__all__ = [
    "PrCheckConfig",
    "PrCheckResult",
    "annotations_for",
    "judge_gate_changes",
    "report_to_github",
    "reviews_option",
    "run_pr_check",
]
