"""Audits of the promoted git range: every ``source/`` rule of RULES.md.

Reads ``SourceEvidence`` (``gatekeeper.collect.git_source``). Per-commit rules key their
fingerprint on the commit sha, per-path rules on the path (and blob or target), so a
finding keeps its fingerprint however the range around it moves.

Review approvals come from three places: ``Reviewed-by:`` / ``Approved-by:`` trailers of a
commit, the trailers of a merge commit (or an approval record of its pull request) that
brought the commit in, and ``PullRequestReview`` records that ``pr-check`` feeds through
``ctx.options.reviews`` (collected into the evidence, see ``docs/source.md``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator
from typing import ClassVar

from gatekeeper.audit.base import AuditContext
from gatekeeper.collect.git_source import is_outside, path_category
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.source import Commit, PullRequestReview, SourceEvidence

_APPROVAL_TRAILERS = frozenset({"reviewed-by", "approved-by"})
_EMAIL = re.compile(r"<([^<>\s]+@[^<>\s]+)>|([^<>\s]+@[^<>\s]+)")
_GOOD = frozenset({"G", "U"})
_STATUS_TEXT = {
    "B": "is bad (does not verify)",
    "X": "has expired",
    "Y": "was made by an expired key",
    "R": "was made by a revoked key",
    "E": "cannot be checked (key unknown to gpg, or no gpg.ssh.allowedSignersFile for SSH)",
}


def _identity_tokens(value: str) -> set[str]:
    """Lower-cased e-mail addresses and the bare name of a trailer value or identity."""
    tokens = {m.group(1) or m.group(2) for m in _EMAIL.finditer(value)}
    name = _EMAIL.sub("", value).strip().strip('"').strip()
    if name:
        tokens.add(name)
    return {t.lower() for t in tokens if t}


def _author_tokens(commit: Commit) -> set[str]:
    return {commit.author.email.lower(), commit.author.name.lower()} - {""}


def _approvers(commit: Commit, evidence: SourceEvidence) -> list[set[str]]:
    # SECURITY: a trailer is written by the commit's author. Offline it is the only record of
    # a review there is; when the forge's reviews were read (pr-check), they alone count.
    if evidence.reviews_consulted:
        return []
    return [
        _identity_tokens(t.value)
        for t in commit.trailers
        if t.key.lower() in _APPROVAL_TRAILERS and t.value.strip()
    ]


def _approved_by_other(approvers: Iterable[set[str]], author: set[str]) -> bool:
    # An approval counts only when it names someone other than the author.
    return any(tokens and not (tokens & author) for tokens in approvers)


def _review_approves(review: PullRequestReview) -> bool:
    author = review.author.lower()
    return any(a.strip() and a.lower() != author for a in review.approved_by)


def approved_commits(evidence: SourceEvidence) -> set[str]:
    """The shas of range commits that someone other than their author approved."""
    approved: set[str] = set()
    reviews = [r for r in evidence.reviews if _review_approves(r)]
    by_number = {r.number for r in reviews if r.number is not None}
    head_approved = any(r.head_sha and r.head_sha == evidence.head for r in reviews)
    by_sha = {c.sha: c for c in evidence.commits}
    for commit in evidence.commits:
        author = _author_tokens(commit)
        if head_approved or _approved_by_other(_approvers(commit, evidence), author):
            approved.add(commit.sha)
        elif commit.pull_request is not None and commit.pull_request in by_number:
            approved.add(commit.sha)  # a squash merge of an approved pull request
        if not commit.is_merge:
            continue
        merge_approvals = _approvers(commit, evidence)
        pr_approved = commit.pull_request is not None and commit.pull_request in by_number
        for sha in commit.merged_commits:
            merged = by_sha.get(sha)
            if merged is None:
                continue
            if pr_approved or _approved_by_other(merge_approvals, _author_tokens(merged)):
                approved.add(sha)
    return approved


def _trusted(commit: Commit, trusted_keys: list[str]) -> bool:
    sig = commit.signature
    have = [
        v.lower().removeprefix("sha256:")
        for v in (sig.key, sig.fingerprint, sig.primary_fingerprint)
        if v
    ]
    for want in trusted_keys:
        w = want.strip().lower().replace(" ", "").removeprefix("sha256:")
        # A GPG key id is the tail of its fingerprint; accept either form.
        if w and any(
            h == w or (len(w) >= 16 and h.endswith(w)) or (len(h) >= 16 and w.endswith(h))
            for h in have
        ):
            return True
    return False


def _identity_allowed(email: str, patterns: list[str]) -> bool:
    email = email.lower()
    return any(fnmatch.fnmatchcase(email, p.strip().lower()) for p in patterns)


def _codeowners_regex(pattern: str) -> re.Pattern[str]:
    """gitignore-style CODEOWNERS pattern semantics (GitHub / GitLab)."""
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    body = pattern.strip("/") if pattern != "/" else ""
    is_dir = pattern.endswith("/")
    out: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("/**", i) and i + 3 == len(body):
            out.append("/.*")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        elif body[i] == "\\" and i + 1 < len(body):
            out.append(re.escape(body[i + 1]))
            i += 2
        else:
            out.append(re.escape(body[i]))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    # A pattern matching a directory owns everything below it. GitHub: `docs/*` covers the
    # files directly in docs/ but not deeper ones, so a trailing wildcard segment stops there.
    last = body.rsplit("/", 1)[-1]
    if is_dir:
        suffix = "/.*"
    elif "*" in last and not last.startswith("**"):
        suffix = ""
    else:
        suffix = "(?:/.*)?"
    return re.compile(f"^{prefix}{''.join(out)}{suffix}$")


def codeowners_rules(text: str) -> list[tuple[re.Pattern[str], bool]]:
    """(pattern, has_owners) per rule line, in file order (the last match wins)."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("["):
            continue  # comments and GitLab section headers
        parts = line.split()
        pattern = parts[0]
        owners = [p for p in parts[1:] if not p.startswith("#")]
        rules.append((_codeowners_regex(pattern), bool(owners)))
    return rules


def owned(path: str, rules: list[tuple[re.Pattern[str], bool]]) -> bool:
    result = False
    for regex, has_owners in rules:
        if regex.match(path):
            result = has_owners
    return result


class SourceIntegrityAudit:
    evidence_kind: ClassVar[str] = "source"
    summary: ClassVar[str] = "what changed in the promoted git range"
    rules: ClassVar[dict[str, Severity]] = {
        "source/history-rewrite": Severity.HIGH,
        "source/unsigned-commit": Severity.INFO,
        "source/bad-signature": Severity.HIGH,
        "source/unknown-identity": Severity.HIGH,
        "source/pipeline-change": Severity.MEDIUM,
        "source/gate-change": Severity.HIGH,
        "source/unreviewed-change": Severity.HIGH,
        "source/codeowners-gap": Severity.LOW,
        "source/binary-added": Severity.MEDIUM,
        "source/executable-added": Severity.LOW,
        "source/submodule-change": Severity.MEDIUM,
        "source/symlink-escape": Severity.HIGH,
        "source/large-file": Severity.LOW,
    }

    def run(self, evidence: SourceEvidence, ctx: AuditContext) -> Iterator[Finding]:
        yield from self._symlinks(evidence)
        yield from self._codeowners(evidence)
        if evidence.base is None:
            return
        if evidence.base_is_ancestor is False:
            yield Finding.make(
                "source/history-rewrite",
                Severity.HIGH,
                f"base {evidence.base} ({(evidence.base_commit or '')[:12]}) is not an ancestor "
                f"of the head {(evidence.head or '')[:12]}: history was rewritten or force-pushed",
                key=f"{evidence.base_commit}..{evidence.head}",
            )
        yield from self._commits(evidence, ctx)
        yield from self._paths(evidence)
        yield from self._blobs(evidence, ctx)

    def _commits(self, evidence: SourceEvidence, ctx: AuditContext) -> Iterator[Finding]:
        policy = ctx.policy
        unsigned_severity = Severity.HIGH if policy.require_signed_commits else Severity.INFO
        approved = approved_commits(evidence) if policy.require_review else set()
        for commit in evidence.commits:
            short = commit.sha[:12]
            sig = commit.signature
            if not sig.present:
                yield Finding.make(
                    "source/unsigned-commit",
                    unsigned_severity,
                    f"commit {short} by {commit.author.email} is not signed",
                    key=commit.sha,
                )
            elif sig.status not in _GOOD:
                yield Finding.make(
                    "source/bad-signature",
                    Severity.HIGH,
                    f"commit {short}: signature {_STATUS_TEXT.get(sig.status, 'does not verify')}"
                    f" (key {sig.key or 'unknown'})",
                    key=commit.sha,
                )
            elif policy.trusted_commit_keys and not _trusted(commit, policy.trusted_commit_keys):
                yield Finding.make(
                    "source/bad-signature",
                    Severity.HIGH,
                    f"commit {short} is signed by key {sig.fingerprint or sig.key or 'unknown'}"
                    f" ({sig.signer or 'unknown signer'}), which the policy does not trust",
                    key=commit.sha,
                )
            if policy.allowed_identities:
                for role, ident in (("author", commit.author), ("committer", commit.committer)):
                    if not _identity_allowed(ident.email, policy.allowed_identities):
                        yield Finding.make(
                            "source/unknown-identity",
                            Severity.HIGH,
                            f"commit {short}: {role} {ident.email or '(no e-mail)'} is not among "
                            "the identities the policy allows",
                            key=f"{commit.sha}:{role}",
                        )
            if policy.require_review and not commit.is_merge and commit.sha not in approved:
                yield Finding.make(
                    "source/unreviewed-change",
                    Severity.HIGH,
                    f"commit {short} by {commit.author.email} has no approval by anyone other "
                    "than its author (no Reviewed-by/Approved-by trailer, reviewed merge or "
                    "pull-request review)",
                    key=commit.sha,
                )

    def _paths(self, evidence: SourceEvidence) -> Iterator[Finding]:
        touched: dict[str, str] = {}
        for commit in evidence.commits:
            for change in commit.files:
                touched.setdefault(change.path, commit.sha)
                if change.old_path:
                    touched.setdefault(change.old_path, commit.sha)
        for change in evidence.changes:
            touched.setdefault(change.path, evidence.head or "")
            if change.old_path:
                touched.setdefault(change.old_path, evidence.head or "")
        for path in sorted(touched):
            category = path_category(path)
            if category == "gate":
                yield Finding.make(
                    "source/gate-change",
                    Severity.HIGH,
                    f"the range changes the gate's own configuration: {path} "
                    f"(first in {touched[path][:12]})",
                    path=path,
                    key=path,
                )
            elif category == "pipeline":
                yield Finding.make(
                    "source/pipeline-change",
                    Severity.MEDIUM,
                    f"the range changes a build-controller file: {path} "
                    f"(first in {touched[path][:12]})",
                    path=path,
                    key=path,
                )

    def _blobs(self, evidence: SourceEvidence, ctx: AuditContext) -> Iterator[Finding]:
        changes = {c.path: c for c in evidence.changes}
        limit = ctx.policy.max_file_size
        for blob in evidence.blobs:
            change = changes.get(blob.path)
            if change is None:
                continue
            if blob.submodule_commit is not None:
                was = change.old_blob if change.old_mode == "160000" else None
                action = f"moves from {was[:12]} to" if was else "is added at"
                yield Finding.make(
                    "source/submodule-change",
                    Severity.MEDIUM,
                    f"submodule {blob.path} {action} {blob.submodule_commit[:12]}",
                    path=blob.path,
                    key=blob.submodule_commit,
                )
                continue
            if blob.symlink_target is not None:
                continue  # symlinks are audited on the head tree
            if blob.is_binary:
                yield Finding.make(
                    "source/binary-added",
                    Severity.MEDIUM,
                    f"binary content ({blob.binary_reason}) is "
                    f"{'added' if change.change == 'A' else 'changed'}: {blob.path}",
                    path=blob.path,
                    key=change.new_blob or "",
                )
            if blob.mode == "100755" and change.old_mode != "100755":
                yield Finding.make(
                    "source/executable-added",
                    Severity.LOW,
                    f"{blob.path} {'is added' if change.change == 'A' else 'gains'} "
                    "the executable bit",
                    path=blob.path,
                    key=blob.path,
                )
            if blob.size > limit:
                yield Finding.make(
                    "source/large-file",
                    Severity.LOW,
                    f"{blob.path} is {blob.size} bytes, over the policy's {limit}-byte limit",
                    path=blob.path,
                    key=change.new_blob or "",
                )

    def _symlinks(self, evidence: SourceEvidence) -> Iterator[Finding]:
        links = {s.path: s.target for s in evidence.symlinks}
        for blob in evidence.blobs:
            if blob.symlink_target is not None:
                links.setdefault(blob.path, blob.symlink_target)
        for path in sorted(links):
            if is_outside(path, links[path]):
                yield Finding.make(
                    "source/symlink-escape",
                    Severity.HIGH,
                    f"symlink {path} points outside the repository ({links[path]!r})",
                    path=path,
                    key=links[path],
                )

    def _codeowners(self, evidence: SourceEvidence) -> Iterator[Finding]:
        if evidence.codeowners is None:
            return
        rules = codeowners_rules(evidence.codeowners)
        for path in evidence.sensitive_paths:
            if not owned(path, rules):
                yield Finding.make(
                    "source/codeowners-gap",
                    Severity.LOW,
                    f"{path} ({path_category(path)} file) is not covered by any rule in "
                    f"{evidence.codeowners_path}",
                    path=path,
                    key=path,
                )


AUDITS = (SourceIntegrityAudit,)
