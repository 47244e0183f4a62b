"""The gate's own files in a pull request: its policy, baseline and configuration.

A pull request must not choose the rules it is judged by. ``pr-check`` reads them from the
*base* revision (the target branch, trusted) and never from the checked-out head:

- ``--policy FILE`` and ``--baseline FILE``: a path inside the repository's work tree (the
  usual ``policies/ci.yaml``, relative to the current directory like every file argument)
  names a file of the repository, and its content is read from the base revision's git
  objects: no checkout, so no filter, hook or attribute runs; never through a symbolic link;
  under the same size caps as a file on disk. A path outside the work tree is not part of
  any pull request and is read from disk as it is.
- ``.gatekeeper.yaml`` at the repository root (or the file ``--config`` names) is the
  repository configuration: read from the base revision like the policy, and the policy and
  baseline it names are read from there too; a pull request that adds or changes it is a
  gate change.

A file the base revision does not have is not trusted yet: the bundled default policy
applies (or no baseline), with a note. A pull request that adds, changes or removes one of
these files gets a ``source/gate-change`` finding (see ``gate_change_findings``), which
``pr-check`` keeps blocking until someone other than the author approves the head.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gatekeeper._fileio import read_bounded
from gatekeeper.errors import InvalidInput
from gatekeeper.models.config import CONFIG_FILE, MAX_CONFIG_BYTES
from gatekeeper.models.finding import Finding
from gatekeeper.policy import (
    MAX_POLICY_BYTES,
    default_policy,
    load_baseline,
    load_policy,
    parse_baseline,
    parse_policy,
)

if TYPE_CHECKING:
    import git

    from gatekeeper.models.config import RepoConfig
    from gatekeeper.models.policy import Policy

CONFIG_PATH = CONFIG_FILE
MAX_BASELINE_BYTES = 64 * 1024 * 1024  # as read_bounded's default for a file on disk
_LINK_MODE = 0o120000


@dataclass(frozen=True)
class GateFile:
    """One of the gate's files in the repository, at the merge base and at the head."""

    role: str  # "policy", "baseline" or "config"
    path: str  # relative to the top of the work tree (POSIX)
    base_blob: str | None  # blob id at the merge base; None: absent
    head_blob: str | None  # blob id at the head; None: absent

    @property
    def changed(self) -> bool:
        return self.base_blob != self.head_blob


@dataclass(frozen=True)
class TrustedGate:
    """What a pull request is judged by, and the gate files it touches."""

    policy: Policy
    baseline: frozenset[str] | None
    files: tuple[GateFile, ...]
    notes: tuple[str, ...]
    config: RepoConfig | None = None  # the base revision's repository configuration

    @property
    def changed(self) -> list[GateFile]:
        return [f for f in self.files if f.changed]


def in_work_tree(path: Path, top: Path) -> str | None:
    """``path`` relative to ``top`` (POSIX) when it names a file of the work tree, else None.

    SECURITY: the lexical path decides first, so a symbolic link committed in the head
    (``policies -> /tmp/x``) cannot turn a repository path into a file read from disk; a
    path that reaches the work tree only through a link outside it counts as inside too.
    """
    for resolve in (os.path.abspath, os.path.realpath):
        try:
            rel = Path(resolve(path)).relative_to(resolve(top))
        except ValueError:
            continue
        if rel.parts:
            return rel.as_posix()
    return None


def _entry(repo: git.Repo, commit: str, rel: str) -> git.Blob | None:
    """The blob at ``rel`` in ``commit``'s tree; None when there is none.

    Raises:
        InvalidInput: the path is a symbolic link, passes through one, or is not a file.
    """
    import git

    node: git.Tree | git.Blob | git.Submodule = repo.commit(commit).tree
    parts = rel.split("/")
    for depth, part in enumerate(parts):
        if not isinstance(node, git.Tree):
            return None  # a file where a directory was expected
        try:
            node = node[part]
        except KeyError:
            return None
        if getattr(node, "mode", 0) == _LINK_MODE:
            # SECURITY: a link in a tree could name any path; the gate reads the file itself.
            shown = "/".join(parts[: depth + 1])
            raise InvalidInput(
                f"{shown} is a symbolic link in {commit[:12]}; pass the path of the file itself"
            )
    if not isinstance(node, git.Blob):
        raise InvalidInput(f"{rel} is not a file in {commit[:12]}")
    return node


def read_at(repo: git.Repo, commit: str, rel: str, limit: int) -> bytes | None:
    """The bytes of ``rel`` in ``commit`` (from the object store), None when absent.

    Raises:
        InvalidInput: a link, not a file, or larger than ``limit`` bytes.
    """
    blob = _entry(repo, commit, rel)
    if blob is None:
        return None
    if blob.size > limit:
        raise InvalidInput(f"{commit[:12]}:{rel}: larger than the {limit}-byte limit")
    data: bytes = blob.data_stream.read()
    return data


def _blob_id(repo: git.Repo, commit: str, rel: str) -> str | None:
    try:
        blob = _entry(repo, commit, rel)
    except InvalidInput:
        return "(not a regular file)"  # SECURITY: still a change if it differs from the other side
    return None if blob is None else str(blob.hexsha)


def _gate_file(repo: git.Repo, role: str, rel: str, merge_base: str, head: str) -> GateFile:
    return GateFile(role, rel, _blob_id(repo, merge_base, rel), _blob_id(repo, head, rel))


@dataclass(frozen=True)
class Revisions:
    """The commits of a pull request: the base (target tip), their merge base, the head."""

    base: str
    merge_base: str
    head: str


def _base_config(
    repo: git.Repo,
    revisions: Revisions,
    config_path: Path | None,
    from_base: Callable[[str, str, int], bytes | None],
    notes: list[str],
) -> RepoConfig | None:
    """The repository configuration as the base revision has it (or ``config_path`` read from
    disk when it lies outside the work tree). Raises InvalidInput when it is invalid."""
    from gatekeeper.app.config import parse_config

    top = Path(repo.working_tree_dir or ".")
    rel = CONFIG_PATH
    if config_path is not None:
        inside = in_work_tree(config_path, top)
        if inside is None:  # not part of any pull request: read from disk as it is
            return parse_config(read_bounded(config_path, MAX_CONFIG_BYTES), str(config_path))
        rel = inside
    base = revisions.base
    data = from_base("config", rel, MAX_CONFIG_BYTES)
    if data is None:
        if config_path is not None or _blob_id(repo, revisions.head, rel) is not None:
            notes.append(
                f"configuration {rel} is not in the base revision {base[:12]}: it applies "
                "once a reviewed change adds it"
            )
        return None
    notes.append(f"configuration read from the base revision {base[:12]}:{rel}")
    return parse_config(data, f"{base[:12]}:{rel}")


def trusted_gate(
    repo: git.Repo,
    revisions: Revisions,
    *,
    policy_path: Path | None,
    baseline_path: Path | None,
    policy: Policy | None = None,
    config_path: Path | None = None,
    use_config: bool = False,
) -> TrustedGate:
    """The policy and baseline of the base revision, and the gate files in the repository.

    ``policy``: a policy object the caller already trusts (used when no ``policy_path``).
    ``use_config``: read the repository configuration (``config_path``, else
    ``.gatekeeper.yaml``) from the base revision; the policy and baseline it names stand in
    for ``policy_path`` and ``baseline_path`` when those are not given.

    Raises:
        InvalidInput: a file is unreadable, invalid, a link, or both a path and an object
            were given for the policy.
    """
    if policy is not None and policy_path is not None:
        raise InvalidInput("give a policy path or a policy, not both")
    top = Path(repo.working_tree_dir or ".")
    base = revisions.base
    notes: list[str] = []
    files: list[GateFile] = []

    def from_base(role: str, rel: str, limit: int) -> bytes | None:
        files.append(_gate_file(repo, role, rel, revisions.merge_base, revisions.head))
        return read_at(repo, base, rel, limit)

    config = _base_config(repo, revisions, config_path, from_base, notes) if use_config else None
    if config is not None:
        if policy_path is None and policy is None and config.policy is not None:
            policy_path = top / config.policy
        if baseline_path is None and config.baseline is not None:
            baseline_path = top / config.baseline

    policy = _gate_policy(policy_path, policy, top, base, from_base, notes)
    baseline = _gate_baseline(baseline_path, top, base, from_base, notes)

    if not any(f.path == CONFIG_PATH for f in files):
        files.append(_gate_file(repo, "config", CONFIG_PATH, revisions.merge_base, revisions.head))
    return TrustedGate(
        policy=policy, baseline=baseline, files=tuple(files), notes=tuple(notes), config=config
    )


def _gate_policy(
    policy_path: Path | None,
    policy: Policy | None,
    top: Path,
    base: str,
    from_base: Callable[[str, str, int], bytes | None],
    notes: list[str],
) -> Policy:
    """The policy: a file in the work tree is read from the base revision (the default policy
    when the base has none); a file outside it as it is; else ``policy`` or the default."""
    rel = None if policy_path is None else in_work_tree(policy_path, top)
    if rel is not None:
        data = from_base("policy", rel, MAX_POLICY_BYTES)
        if data is None:
            notes.append(
                f"policy {rel} is not in the base revision {base[:12]}: the bundled default "
                "policy applies until a reviewed change adds it"
            )
            return default_policy()
        notes.append(f"policy read from the base revision {base[:12]}:{rel}")
        return parse_policy(data, f"{base[:12]}:{rel}")
    if policy_path is not None:
        return load_policy(policy_path)[0]
    return policy if policy is not None else default_policy()


def _gate_baseline(
    baseline_path: Path | None,
    top: Path,
    base: str,
    from_base: Callable[[str, str, int], bytes | None],
    notes: list[str],
) -> frozenset[str] | None:
    """The baseline, read as the policy is (none when the base revision has none)."""
    rel = None if baseline_path is None else in_work_tree(baseline_path, top)
    if rel is not None:
        data = from_base("baseline", rel, MAX_BASELINE_BYTES)
        if data is None:
            notes.append(
                f"baseline {rel} is not in the base revision {base[:12]}: no finding is "
                "accepted by a baseline"
            )
            return None
        notes.append(f"baseline read from the base revision {base[:12]}:{rel}")
        return frozenset(parse_baseline(data, f"{base[:12]}:{rel}"))
    if baseline_path is not None:
        return frozenset(load_baseline(baseline_path))
    return None


_ROLE_TEXT = {
    "policy": "the policy pr-check judges it by",
    "baseline": "the baseline pr-check applies",
    "config": "the repository's gatekeeper configuration",
}


def gate_change_findings(gate: TrustedGate, revisions: Revisions) -> list[Finding]:
    """A ``source/gate-change`` finding per gate file the pull request adds, changes or removes.

    The fingerprint names the new content, so a baseline can never accept a later change.
    """
    from gatekeeper.audit.source_integrity import GATE_CHANGE

    out = []
    for f in gate.changed:
        verb = "adds" if f.base_blob is None else "removes" if f.head_blob is None else "changes"
        out.append(
            GATE_CHANGE.finding(
                f"the pull request {verb} {f.path}, {_ROLE_TEXT[f.role]}; pr-check reads it "
                f"from the base revision {revisions.base[:12]}, so the change takes effect "
                "only once merged",
                path=f.path,
                key=f"{f.role}:{f.path}@{f.head_blob or 'removed'}",
            )
        )
    return out


__all__ = [
    "CONFIG_PATH",
    "GateFile",
    "Revisions",
    "TrustedGate",
    "gate_change_findings",
    "in_work_tree",
    "read_at",
    "trusted_gate",
]
