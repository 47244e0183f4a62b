"""Source evidence: the commits of the promoted range and what they changed (kind ``source``).

The collector (``gatekeeper.collect.git_source``) records; the audits in
``gatekeeper.audit.source_integrity`` decide. Everything here is sorted so the same
repository gives byte-identical JSON.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gatekeeper.models.base import GatekeeperModel, empty_list

# git's %G? letters: G good, B bad, U good but unknown validity, X good but expired,
# Y good by an expired key, R good by a revoked key, E cannot be checked (e.g. missing key),
# N no signature. For SSH, G means the key is in the allowed-signers file and U that the
# signature verifies under the key it carries, which that file does not list.
SignatureStatus = Literal["G", "B", "U", "X", "Y", "R", "E", "N"]
# The kind of signature, from its armour: OpenPGP (gpg), SSH (ssh-keygen), X.509 (gpgsm).
SignatureFormat = Literal["openpgp", "ssh", "x509"]
# Forges whose own commit-signing keys gatekeeper knows (collect/forge_keys.py).
Forge = Literal["github", "gitlab"]
ChangeType = Literal["A", "C", "D", "M", "R", "T", "U", "X"]


class Identity(GatekeeperModel):
    name: str
    email: str
    date: str  # ISO 8601 as git recorded it


class Signature(GatekeeperModel):
    status: SignatureStatus
    key: str | None = None  # %GK: the key id (GPG) or key fingerprint (SSH)
    fingerprint: str | None = None  # %GF
    primary_fingerprint: str | None = None  # %GP
    signer: str | None = None  # %GS: the signer's name / principal
    format: SignatureFormat | None = None  # None: unsigned
    # The forge whose bundled key the signature verifies under (GitHub's web-flow key, ...).
    forge: Forge | None = None

    @property
    def present(self) -> bool:
        return self.status != "N"

    @property
    def verifies(self) -> bool:
        """The signature verifies under the key it names (git's G or U)."""
        return self.status in ("G", "U")


class Trailer(GatekeeperModel):
    key: str
    value: str


class FileChange(GatekeeperModel):
    """One entry of ``git diff --raw``: modes are octal strings (``100644``, ``120000``...)."""

    path: str
    old_path: str | None = None  # renames and copies
    change: ChangeType
    old_mode: str
    new_mode: str
    old_blob: str | None = None
    new_blob: str | None = None


class Commit(GatekeeperModel):
    sha: str
    parents: list[str] = Field(default_factory=empty_list)
    author: Identity
    committer: Identity
    subject: str
    signature: Signature
    trailers: list[Trailer] = Field(default_factory=empty_list)
    # Pull / merge request number when this is the merge commit of one (GitHub, GitLab).
    pull_request: int | None = None
    # Merge commits only: the commits of the range that this merge brought in (its side branch).
    merged_commits: list[str] = Field(default_factory=empty_list)
    files: list[FileChange] = Field(default_factory=empty_list)

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


class BlobInfo(GatekeeperModel):
    """What the content of a file changed in the range looks like (read from the object store)."""

    path: str
    size: int
    mode: str
    is_binary: bool
    binary_reason: str | None = None  # "NUL byte", "ELF executable", ...
    symlink_target: str | None = None  # for mode 120000
    submodule_commit: str | None = None  # for mode 160000


class TreeSymlink(GatekeeperModel):
    path: str
    target: str


class PullRequestReview(GatekeeperModel):
    """An approval record fed by ``pr-check`` (GitHub reviews API) through ``AuditOptions.reviews``.

    It approves the commits of the range when ``head_sha`` is the range's head, or when
    ``number`` is the pull request of a merge commit in the range (then the commits that
    merge brought in). Approvals by ``author`` itself never count.
    """

    number: int | None = None
    head_sha: str | None = None
    author: str
    approved_by: list[str] = Field(default_factory=empty_list)


class AllowedSigners(GatekeeperModel):
    """The SSH allowed-signers file git checked SSH signatures against (not its path)."""

    source: Literal["option", "repository"]  # --allowed-signers, or gpg.ssh.allowedSignersFile
    sha256: str  # of the file's content, so an attestation says which signers were allowed


class ForgeVerification(GatekeeperModel):
    """The forge's own verdict on a commit's signature, as ``pr-check`` read it.

    GitHub's REST API gives each commit a ``verification`` object: ``verified`` and a
    ``reason`` (``valid``, ``unsigned``, ``unknown_key``, ``invalid``, ``bad_email``, ...).
    ``valid`` means GitHub checked the signature with a key registered to the committer's
    account, whose identity matches the committer's verified e-mail.
    """

    sha: str
    verified: bool
    reason: str

    @property
    def vouches(self) -> bool:
        return self.verified and self.reason == "valid"


class SourceEvidence(GatekeeperModel):
    schema_version: Literal[1] = 1
    is_git: bool
    head: str | None = None  # the head commit sha
    head_ref: str | None = None  # the head as asked (e.g. HEAD)
    head_tree: str | None = None
    base: str | None = None  # the base as asked (e.g. origin/main)
    base_commit: str | None = None
    base_is_ancestor: bool | None = None
    shallow: bool = False
    commits: list[Commit] = Field(default_factory=empty_list)  # newest first, as git log lists them
    # The net change base..head (what is being promoted), with rename detection.
    changes: list[FileChange] = Field(default_factory=empty_list)
    blobs: list[BlobInfo] = Field(default_factory=empty_list)  # content facts for ``changes``
    # Symlinks of the whole head tree (or of the directory when it is not a git repository).
    symlinks: list[TreeSymlink] = Field(default_factory=empty_list)
    # Paths of the head tree a CODEOWNERS audit needs (sensitive paths only), and CODEOWNERS.
    codeowners_path: str | None = None
    codeowners: str | None = None
    sensitive_paths: list[str] = Field(default_factory=empty_list)
    reviews: list[PullRequestReview] = Field(default_factory=empty_list)
    # True when review records came from the forge's API (pr-check). Without them no review
    # can be verified: a commit's trailers are written by its author and never count.
    reviews_consulted: bool = False
    # None: SSH signatures were checked against no allowed-signers file (only against the key
    # each carries), so no SSH key is known here.
    allowed_signers: AllowedSigners | None = None
    # The forge's verification of the pull request's commits (pr-check with a token), by sha.
    forge_verifications: list[ForgeVerification] = Field(default_factory=empty_list)
    notes: list[str] = Field(default_factory=empty_list)
