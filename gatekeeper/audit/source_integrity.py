"""Audits of the promoted git range: every ``source/`` rule of RULES.md.

Reads ``SourceEvidence`` (``gatekeeper.collect.git_source``). Per-commit rules key their
fingerprint on the commit sha, per-path rules on the path (and blob or target), so a
finding keeps its fingerprint however the range around it moves.

Signatures: ``signature_state`` turns what git verified (and, in ``pr-check``, what the
forge verified) into one of five states (unsigned, bad, unverified, untrusted, trusted)
under the policy; each state has its rule (docs/source.md, "Signature states").

Reviews: only the forge's review records count (``PullRequestReview``, which ``pr-check``
reads through the API and feeds through ``ctx.options.reviews``). A ``Reviewed-by:`` or
``Approved-by:`` trailer is text the commit's author wrote, so it is never a review; without
the forge's records no review can be verified and ``require_review`` blocks, saying so.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal

from gatekeeper._glob import Glob, compile_codeowners
from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.rule import Rule, RuleSet
from gatekeeper.collect.build_files import BuildFiles
from gatekeeper.collect.forge_keys import forge_key_for, forge_keys
from gatekeeper.collect.git_source import is_outside, path_category
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.pipeline import PipelineEvidence
from gatekeeper.models.policy import AuditsPolicy
from gatekeeper.models.source import (
    BlobInfo,
    Commit,
    FileChange,
    ForgeVerification,
    PullRequestReview,
    Signature,
    SourceEvidence,
)

_FORGE_KEY_NAMES = {"github": "GitHub's web-flow key", "gitlab": "GitLab's web-commit key"}
# GitHub's ``verification.reason`` values that say the signature itself is bad.
_FORGE_BAD = {
    "invalid": "GitHub could not verify it with the key it names",
    "malformed_signature": "GitHub could not parse it",
    "ocsp_revoked": "its certificate was revoked",
}


def _review_approves(review: PullRequestReview) -> bool:
    author = review.author.lower()
    return any(a.strip() and a.lower() != author for a in review.approved_by)


def _pr_approved(commit: Commit, approved_numbers: set[int]) -> bool:
    return commit.pull_request is not None and commit.pull_request in approved_numbers


def _review_approvals(evidence: SourceEvidence) -> tuple[set[int], bool]:
    """Pull requests approved by a forge review, and whether one approved the head itself."""
    reviews = [r for r in evidence.reviews if _review_approves(r)]
    numbers = {r.number for r in reviews if r.number is not None}
    return numbers, any(r.head_sha and r.head_sha == evidence.head for r in reviews)


def approved_commits(evidence: SourceEvidence) -> set[str]:
    """The shas of range commits that a forge review by someone other than their author
    approved: a review of the range's head, or of the pull request a commit (a squash
    merge) or a merge commit that brought it in belongs to.

    SECURITY: trailers are not read. ``Reviewed-by: Rita`` is whatever the author typed.
    """
    approved_numbers, head_approved = _review_approvals(evidence)
    in_range = {c.sha for c in evidence.commits}
    approved: set[str] = set()
    for commit in evidence.commits:
        if head_approved or _pr_approved(commit, approved_numbers):
            approved.add(commit.sha)
            if commit.is_merge:
                approved.update(sha for sha in commit.merged_commits if sha in in_range)
    return approved


def _key_matches(have: str, want: str) -> bool:
    # A GPG key id is the tail of its fingerprint; accept either form.
    return (
        have == want
        or (len(want) >= 16 and have.endswith(want))
        or (len(have) >= 16 and want.endswith(have))
    )


def _trusted(commit: Commit, trusted_keys: list[str]) -> bool:
    sig = commit.signature
    have = [
        v.lower().removeprefix("sha256:")
        for v in (sig.key, sig.fingerprint, sig.primary_fingerprint)
        if v
    ]
    wanted = (w.strip().lower().replace(" ", "").removeprefix("sha256:") for w in trusted_keys)
    return any(w and any(_key_matches(h, w) for h in have) for w in wanted)


SignatureVerdict = Literal["unsigned", "bad", "unverified", "untrusted", "trusted"]


@dataclass(frozen=True)
class SignatureState:
    """What the gate concludes about one commit's signature, and why (a message fragment).

    ``listed``: an untrusted signature whose key falls outside an explicit list of allowed
    keys (``trusted_commit_keys``, an allowed-signers file), so it is reported whatever
    else the policy says.
    """

    verdict: SignatureVerdict
    why: str
    listed: bool = False


def _key_text(sig: Signature) -> str:
    key = sig.primary_fingerprint or sig.fingerprint or sig.key or "of unknown id"
    return f"{key} ({sig.signer})" if sig.signer else key


def _forge_name(sig: Signature) -> str:
    key = forge_key_for((sig.fingerprint, sig.primary_fingerprint), forge_keys())
    if key is not None:
        return key.name
    return _FORGE_KEY_NAMES.get(sig.forge or "", "a forge key")


def _unknown_key(sig: Signature) -> str:
    key = sig.key or "of unknown id"
    if sig.format == "ssh":
        return "is an SSH signature that could not be checked here (no ssh-keygen)"
    if sig.format == "x509":
        return f"is an X.509 signature (S/MIME, gitsign) gpgsm could not check here (key {key})"
    return f"was made by OpenPGP key {key}, whose public key is not in the keyring here"


def _expired(sig: Signature) -> str:
    if sig.forge is not None:
        key = forge_key_for((sig.fingerprint, sig.primary_fingerprint), forge_keys())
        retired = f", retired on {key.retired}" if key is not None and key.retired else ""
        return f"verifies under {_forge_name(sig)}, which has expired{retired}"
    what = "the signature itself has expired" if sig.status == "X" else "the key has expired"
    return (
        f"verifies under key {_key_text(sig)}, but {what}; refresh the key if its owner extended it"
    )


def _forge_state(commit: Commit, evidence: SourceEvidence, policy: AuditsPolicy) -> SignatureState:
    """A signature that verifies under a forge's own key (the forge made the commit)."""
    sig = commit.signature
    name = _forge_name(sig)
    # An allowed-signers file names the SSH keys allowed, the forge's too (GitLab's docs
    # say to add it there).
    listed = sig.format == "ssh" and sig.status == "U" and evidence.allowed_signers is not None
    if sig.forge in policy.trusted_forge_merges:
        if commit.is_merge:
            return SignatureState("trusted", f"is a merge signed by {name} (trusted_forge_merges)")
        why = f"is signed by {name}, which the policy trusts on merge commits only, and this "
        return SignatureState("untrusted", why + "commit is not a merge", listed=listed)
    if listed:
        why = f"is signed by {name}, which is not in the allowed-signers file"
        return SignatureState("untrusted", why + " (nor trusted by trusted_forge_merges)", True)
    return SignatureState(
        "untrusted",
        f"is signed by {name}, which the policy does not trust (trusted_forge_merges, "
        "trusted_commit_keys)",
    )


def _verified_state(
    commit: Commit, evidence: SourceEvidence, policy: AuditsPolicy
) -> SignatureState:
    """A signature that verifies under the key it names (git's G or U)."""
    sig = commit.signature
    keys = policy.trusted_commit_keys
    if keys and _trusted(commit, keys):
        return SignatureState("trusted", f"is signed by key {_key_text(sig)}, which is trusted")
    if sig.forge is not None:
        return _forge_state(commit, evidence, policy)
    if sig.format == "ssh" and sig.status == "U":
        # SECURITY: an SSH signature carries its own public key, so "it verifies" alone
        # proves only that someone holds some key; the allowed-signers file says whose.
        if evidence.allowed_signers is None:
            return SignatureState(
                "unverified",
                f"is made with SSH key {_key_text(sig)}, which no allowed-signers file lists "
                "here (--allowed-signers)",
            )
        return SignatureState(
            "untrusted",
            f"is made with SSH key {_key_text(sig)}, which is not in the allowed-signers file",
            listed=True,
        )
    if keys:
        return SignatureState(
            "untrusted",
            f"is signed by key {_key_text(sig)}, which is not among the policy's "
            "trusted_commit_keys",
            listed=True,
        )
    return SignatureState("trusted", f"verifies under key {_key_text(sig)}, known here")


def _forge_vouched_state(commit: Commit, policy: AuditsPolicy) -> SignatureState:
    """Not verified here, but the forge verified it with the committer's registered key."""
    sig = commit.signature
    if not policy.trusted_commit_keys:
        return SignatureState(
            "trusted", "was verified by GitHub with a key registered to the committer's account"
        )
    if _trusted(commit, policy.trusted_commit_keys):
        # SECURITY: GitHub names no fingerprint, and a key id is short; a listed key must
        # verify here.
        return SignatureState(
            "unverified",
            f"was verified by GitHub, and key {_key_text(sig)} is among trusted_commit_keys, "
            "but its public key is not here to verify it: import it",
        )
    return SignatureState(
        "untrusted",
        f"was verified by GitHub, but key {_key_text(sig)} is not among the policy's "
        "trusted_commit_keys",
        listed=True,
    )


def signature_state(
    commit: Commit, evidence: SourceEvidence, policy: AuditsPolicy
) -> SignatureState:
    """The state of one commit's signature under the policy (docs/source.md).

    Bad wins over everything (git's ``B`` or ``R``, or the forge calling it invalid); then
    a signature that verifies here; then the forge's verification (``pr-check``); what is
    left could not be checked.
    """
    sig = commit.signature
    if not sig.present:
        return SignatureState("unsigned", "is not signed")
    forge: ForgeVerification | None = next(
        (v for v in evidence.forge_verifications if v.sha == commit.sha), None
    )
    if sig.status == "B":
        return SignatureState(
            "bad",
            "does not verify: the commit was changed after it was signed, or the signature "
            f"is forged or corrupt (key {sig.key or 'of unknown id'})",
        )
    if sig.status == "R":
        return SignatureState(
            "bad",
            f"was made by key {_key_text(sig)}, which its owner revoked; a revoked key's "
            "signature proves no more than a forged one",
        )
    if forge is not None and forge.reason in _FORGE_BAD:
        return SignatureState("bad", f"does not verify: {_FORGE_BAD[forge.reason]}")
    if sig.verifies:
        return _verified_state(commit, evidence, policy)
    if forge is not None and forge.vouches:
        return _forge_vouched_state(commit, policy)
    at_forge = f" (GitHub: {forge.reason})" if forge is not None else ""
    if sig.status in ("X", "Y"):
        return SignatureState("unverified", _expired(sig) + at_forge)
    return SignatureState("unverified", _unknown_key(sig) + at_forge)


def _identity_allowed(email: str, patterns: list[str]) -> bool:
    email = email.lower()
    return any(fnmatch.fnmatchcase(email, p.strip().lower()) for p in patterns)


def codeowners_rules(text: str) -> list[tuple[Glob, bool]]:
    """(pattern, has_owners) per rule line, in file order (the last match wins)."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("["):
            continue  # comments and GitLab section headers
        parts = line.split()
        pattern = parts[0]
        owners = [p for p in parts[1:] if not p.startswith("#")]
        rules.append((compile_codeowners(pattern), bool(owners)))
    return rules


def owned(path: str, rules: list[tuple[Glob, bool]]) -> bool:
    result = False
    for glob, has_owners in rules:
        if glob.match(path):
            result = has_owners
    return result


HISTORY_REWRITE = Rule(
    "source/history-rewrite",
    Severity.HIGH,
    summary="the base is not an ancestor of the head (force-push, rewritten history)",
    help="A rewritten history can drop reviewed commits or slip unreviewed ones in under the "
    "same branch name, and what was recorded about the old range no longer describes what is "
    "promoted. Find out who rewrote the branch and why (compare the two heads with "
    "`git range-diff`), then run the gate again against a base that is an ancestor of the head.",
)
UNSIGNED_COMMIT = Rule(
    "source/unsigned-commit",
    Severity.INFO,
    summary="a commit in the range carries no signature (rule is `info` unless the policy "
    "requires signed commits, then `high`)",
    help="Without a signature nothing ties a commit to its author: anyone who can push can "
    "commit under any name. Sign commits (`git config commit.gpgsign true` with a GPG or SSH "
    "key) and register the keys with the forge; `require_signed_commits: true` in the policy "
    "makes an unsigned commit block.",
)
BAD_SIGNATURE = Rule(
    "source/bad-signature",
    Severity.HIGH,
    summary="a commit signature is present but does not verify (the commit was altered after "
    "signing, or the signature is forged or corrupt)",
    help="A signature that does not verify means the commit changed after it was signed, or "
    "the signature is not what it claims to be; a signature by a revoked key counts the same. "
    "Find out who made the commit and how it got into the range (compare it with the "
    "author's own copy), and replace it with a commit that verifies. A signature that merely "
    "cannot be checked here is `source/unverified-signature`, not this.",
)
UNVERIFIED_SIGNATURE = Rule(
    "source/unverified-signature",
    Severity.INFO,
    summary="a commit is signed but the key is unknown here (no public key, no allowed-signers "
    "entry, not a known forge key such as GitHub's web-flow key): nothing can be said either "
    "way",
    help="The commit carries a signature that cannot be checked on this machine: its OpenPGP "
    "key is not in the keyring, its SSH key is in no allowed-signers file, or the key has "
    "expired. That is neither a forgery nor a proof of who signed it. When the policy "
    "requires signed commits (`require_signed_commits: true`) it blocks: give the gate the "
    "keys it should trust (import them into the keyring, pass `--allowed-signers`, list them "
    "in `trusted_commit_keys`), or, in `pr-check`, let it read the forge's own verification "
    "with a token.",
    default_label="info; high only when the policy requires commits signed by trusted keys",
)
UNKNOWN_IDENTITY = Rule(
    "source/unknown-identity",
    Severity.HIGH,
    summary="author, committer or the key that signed a commit (its signature verifies) is "
    "outside the identities and keys the policy allows (only when the policy lists them)",
    help="The policy names who may author and commit what is promoted, and which keys may "
    "sign it (`allowed_identities`, `trusted_commit_keys`, `trusted_forge_merges`, the "
    "`--allowed-signers` file); an identity or a key outside them is someone the release "
    "owners did not expect. Check who made the commit; add the identity or key to the policy "
    "if it belongs there, or take the commit out of the range.",
)
PIPELINE_CHANGE = Rule(
    "source/pipeline-change",
    Severity.MEDIUM,
    summary="the range touches a build-controller file: CI workflows, Jenkinsfile, GitLab CI, "
    "Dockerfile, Makefile, build scripts, and the build files of Gradle, Maven, sbt, Ant, Bazel "
    "and Nix",
    help="A change to the build controller changes what the pipeline does with its secrets and "
    "what ends up in the artifact; it is the first change an attacker with commit access "
    "makes. Have an owner of the pipeline review it (CODEOWNERS on these paths), and approve "
    "the new digests in `approved_pipeline_digests` when the policy pins them. The files that "
    "count are listed in docs/source.md.",
)
GATE_CHANGE = Rule(
    "source/gate-change",
    Severity.HIGH,
    summary="the range touches gatekeeper's own policy files, CODEOWNERS or branch-protection "
    "config",
    help="Whoever changes the gate's policy, CODEOWNERS or branch protection changes what every "
    "other check accepts. Have the owners of the release process review the change; in pull "
    "requests the policy is read from the base, so a change takes effect only once merged.",
)
UNREVIEWED_CHANGE = Rule(
    "source/unreviewed-change",
    Severity.HIGH,
    summary="the policy requires review and a change has no approval by someone other than its "
    "author (pull-request reviews read through the GitHub API in `pr-check`; without them, "
    "no review can be verified: `Reviewed-by:` / `Approved-by:` trailers are written by the "
    "author and never count)",
    help="A change nobody else looked at is the easiest way to put code into a release. Get an "
    "approving pull-request review from someone other than the author and run `pr-check` with "
    "a token that can read it. A trailer in the commit message is not a review: the author "
    "wrote it.",
)
CODEOWNERS_GAP = Rule(
    "source/codeowners-gap",
    Severity.LOW,
    summary="a build-controller or policy path is not covered by any CODEOWNERS rule (only "
    "when a CODEOWNERS file exists)",
    help="A build-controller or gate path without an owner can change without a review by the "
    "people responsible for the pipeline. Add a CODEOWNERS rule that covers it, for example "
    "`/.github/workflows/ @org/release`.",
)
BINARY_ADDED = Rule(
    "source/binary-added",
    Severity.MEDIUM,
    summary="a binary or compiled file (by content, not just extension) is added or changed",
    help="Binary content cannot be reviewed line by line: a compiled tool, a library or an "
    "archive can carry anything, and a build that uses it runs it. Build it from source in the "
    "pipeline, or fetch a pinned release and check its digest; when it is data (an image, a "
    "test fixture), add an exception for its path with the reason.",
)
EXECUTABLE_ADDED = Rule(
    "source/executable-added",
    Severity.LOW,
    summary="a file gains the executable bit",
    help="A file that becomes executable is something a build or a developer may now run. "
    "Check that it is meant to be run and was reviewed as code; otherwise drop the bit "
    "(`git update-index --chmod=-x`).",
)
SUBMODULE_CHANGE = Rule(
    "source/submodule-change",
    Severity.MEDIUM,
    summary="a submodule is added or its pinned commit changes",
    help="A submodule pointer brings in another repository's code at a commit this change "
    "does not show. Review what changed between the old and new commits "
    "(`git diff --submodule=log`), and point only at repositories you trust.",
)
SYMLINK_ESCAPE = Rule(
    "source/symlink-escape",
    Severity.HIGH,
    summary="a symlink points outside the repository",
    help="A link out of the repository makes a build or a tool read or overwrite files on the "
    "machine it runs on (credentials, other checkouts, system files). Replace it with a file "
    "in the repository or a link to a path inside it.",
)
LARGE_FILE = Rule(
    "source/large-file",
    Severity.LOW,
    summary="a file over the policy's size limit is added",
    help="An oversized file escapes review and is often a build output, a dataset or an "
    "archive committed by mistake. Keep it out of the repository (a release asset, Git LFS), "
    "or raise `max_file_size` in the policy when it belongs there.",
)


class SourceIntegrityAudit:
    evidence_kind: ClassVar[str] = "source"
    summary: ClassVar[str] = "what changed in the promoted git range"
    rules: ClassVar[RuleSet] = RuleSet(
        HISTORY_REWRITE,
        UNSIGNED_COMMIT,
        BAD_SIGNATURE,
        UNVERIFIED_SIGNATURE,
        UNKNOWN_IDENTITY,
        PIPELINE_CHANGE,
        GATE_CHANGE,
        UNREVIEWED_CHANGE,
        CODEOWNERS_GAP,
        BINARY_ADDED,
        EXECUTABLE_ADDED,
        SUBMODULE_CHANGE,
        SYMLINK_ESCAPE,
        LARGE_FILE,
    )

    def run(self, evidence: SourceEvidence, ctx: AuditContext) -> Iterator[Finding]:
        yield from self._symlinks(evidence)
        yield from self._codeowners(evidence)
        if evidence.base is None:
            return
        if evidence.base_is_ancestor is False:
            yield HISTORY_REWRITE.finding(
                f"base {evidence.base} ({(evidence.base_commit or '')[:12]}) is not an ancestor "
                f"of the head {(evidence.head or '')[:12]}: history was rewritten or force-pushed",
                key=f"{evidence.base_commit}..{evidence.head}",
            )
        yield from self._commits(evidence, ctx)
        yield from self._paths(evidence, ctx)
        yield from self._blobs(evidence, ctx)

    def _commits(self, evidence: SourceEvidence, ctx: AuditContext) -> Iterator[Finding]:
        policy = ctx.policy
        approved = approved_commits(evidence) if policy.require_review else set()
        for commit in evidence.commits:
            yield from _signature(commit, evidence, policy)
            yield from _identities(commit, policy)
            if policy.require_review and not commit.is_merge and commit.sha not in approved:
                yield _unreviewed(commit, evidence)

    def _paths(self, evidence: SourceEvidence, ctx: AuditContext) -> Iterator[Finding]:
        touched = _touched_paths(evidence)
        # The head tree's build-controller paths tell where a Jenkins shared library lives.
        build_files = BuildFiles(evidence.sensitive_paths)
        included = _recorded_pipeline_files(ctx)
        for path in sorted(touched):
            category = path_category(path, build_files)
            if category is None and path in included:
                category = "pipeline"  # e.g. a GitLab CI file included from a non-standard path
            if category is None:
                continue
            rule, what = _CATEGORY_RULES[category]
            yield rule.finding(
                f"the range changes {what}: {path} (first in {touched[path][:12]})",
                path=path,
                key=path,
            )

    def _blobs(self, evidence: SourceEvidence, ctx: AuditContext) -> Iterator[Finding]:
        changes = {c.path: c for c in evidence.changes}
        for blob in evidence.blobs:
            change = changes.get(blob.path)
            if change is None:
                continue
            if blob.submodule_commit is not None:
                yield _submodule(blob, blob.submodule_commit, change)
            elif blob.symlink_target is None:  # symlinks are audited on the head tree
                yield from _file_blob(blob, change, ctx.policy.max_file_size)

    def _symlinks(self, evidence: SourceEvidence) -> Iterator[Finding]:
        links = {s.path: s.target for s in evidence.symlinks}
        for blob in evidence.blobs:
            if blob.symlink_target is not None:
                links.setdefault(blob.path, blob.symlink_target)
        for path in sorted(links):
            if is_outside(path, links[path]):
                yield SYMLINK_ESCAPE.finding(
                    f"symlink {path} points outside the repository ({links[path]!r})",
                    path=path,
                    key=links[path],
                )

    def _codeowners(self, evidence: SourceEvidence) -> Iterator[Finding]:
        if evidence.codeowners is None:
            return
        rules = codeowners_rules(evidence.codeowners)
        build_files = BuildFiles(evidence.sensitive_paths)
        for path in evidence.sensitive_paths:
            if not owned(path, rules):
                category = path_category(path, build_files)
                yield CODEOWNERS_GAP.finding(
                    f"{path} ({category} file) is not covered by any rule in "
                    f"{evidence.codeowners_path}",
                    path=path,
                    key=path,
                )


_CATEGORY_RULES = {
    "gate": (GATE_CHANGE, "the gate's own configuration"),
    "pipeline": (PIPELINE_CHANGE, "a build-controller file"),
}


def _signature(commit: Commit, evidence: SourceEvidence, policy: AuditsPolicy) -> Iterator[Finding]:
    """The finding for one commit's signature state, if any (docs/source.md)."""
    state = signature_state(commit, evidence, policy)
    short = commit.sha[:12]
    required = policy.require_signed_commits
    if state.verdict == "unsigned":
        yield UNSIGNED_COMMIT.finding(
            f"commit {short} by {commit.author.email} is not signed",
            severity=Severity.HIGH if required else Severity.INFO,
            key=commit.sha,
        )
    elif state.verdict == "bad":
        yield BAD_SIGNATURE.finding(
            f"commit {short} by {commit.author.email}: the signature {state.why}", key=commit.sha
        )
    elif state.verdict == "unverified":
        tail = (
            "; the policy requires commits signed by trusted keys"
            if required
            else "; nothing can be said either way"
        )
        yield UNVERIFIED_SIGNATURE.finding(
            f"commit {short} by {commit.author.email}: the signature {state.why}{tail}",
            severity=Severity.HIGH if required else Severity.INFO,
            key=commit.sha,
        )
    elif state.verdict == "untrusted" and (state.listed or policy.trusted_commit_keys or required):
        yield UNKNOWN_IDENTITY.finding(
            f"commit {short} by {commit.author.email}: the signature {state.why}",
            key=f"{commit.sha}:signer",
        )


def _unreviewed(commit: Commit, evidence: SourceEvidence) -> Finding:
    who = f"commit {commit.sha[:12]} by {commit.author.email}"
    if evidence.reviews_consulted:
        why = "has no approving pull-request review by anyone other than its author"
    else:
        why = (
            "has no review the gate can verify: the pull request's reviews could not be read "
            "(run `gatekeeper pr-check` with a GITHUB_TOKEN that can read them), and a "
            "Reviewed-by/Approved-by trailer is written by the commit's author, so it is no "
            "review"
        )
    return UNREVIEWED_CHANGE.finding(f"{who} {why}", key=commit.sha)


def _identities(commit: Commit, policy: AuditsPolicy) -> Iterator[Finding]:
    if not policy.allowed_identities:
        return
    for role, ident in (("author", commit.author), ("committer", commit.committer)):
        if not _identity_allowed(ident.email, policy.allowed_identities):
            yield UNKNOWN_IDENTITY.finding(
                f"commit {commit.sha[:12]}: {role} {ident.email or '(no e-mail)'} is not among "
                "the identities the policy allows",
                key=f"{commit.sha}:{role}",
            )


def _recorded_pipeline_files(ctx: AuditContext) -> set[str]:
    """Paths the pipeline collector recorded in this run (with the local files GitLab CI
    includes, wherever they are); empty when it did not run."""
    pipeline = ctx.evidence.get("pipeline")
    if not isinstance(pipeline, PipelineEvidence):
        return set()
    return {f.path for f in pipeline.files}


def _touched_paths(evidence: SourceEvidence) -> dict[str, str]:
    """Every path the range touches (old names of renames too) -> the first commit touching it."""
    touched: dict[str, str] = {}
    for commit in evidence.commits:
        for change in commit.files:
            touched.setdefault(change.path, commit.sha)
            if change.old_path:
                touched.setdefault(change.old_path, commit.sha)
    for net in evidence.changes:
        touched.setdefault(net.path, evidence.head or "")
        if net.old_path:
            touched.setdefault(net.old_path, evidence.head or "")
    return touched


def _submodule(blob: BlobInfo, commit: str, change: FileChange) -> Finding:
    was = change.old_blob if change.old_mode == "160000" else None
    action = f"moves from {was[:12]} to" if was else "is added at"
    return SUBMODULE_CHANGE.finding(
        f"submodule {blob.path} {action} {commit[:12]}", path=blob.path, key=commit
    )


def _file_blob(blob: BlobInfo, change: FileChange, limit: int) -> Iterator[Finding]:
    """``binary-added``, ``executable-added`` and ``large-file`` for one changed file."""
    added = change.change == "A"
    if blob.is_binary:
        yield BINARY_ADDED.finding(
            f"binary content ({blob.binary_reason}) is {'added' if added else 'changed'}: "
            f"{blob.path}",
            path=blob.path,
            key=change.new_blob or "",
        )
    if blob.mode == "100755" and change.old_mode != "100755":
        yield EXECUTABLE_ADDED.finding(
            f"{blob.path} {'is added' if added else 'gains'} the executable bit",
            path=blob.path,
            key=blob.path,
        )
    if blob.size > limit:
        yield LARGE_FILE.finding(
            f"{blob.path} is {blob.size} bytes, over the policy's {limit}-byte limit",
            path=blob.path,
            key=change.new_blob or "",
        )


AUDITS = (SourceIntegrityAudit,)
