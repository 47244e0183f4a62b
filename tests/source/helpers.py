"""Helpers for source tests: real repositories with modes, symlinks, submodules, signatures."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import git

from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.source_integrity import SourceIntegrityAudit
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.git_source import GitSourceCollector
from gatekeeper.models.finding import Finding
from gatekeeper.models.options import AuditOptions
from gatekeeper.models.policy import AuditsPolicy
from gatekeeper.models.source import SourceEvidence

ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Dev One",
    "GIT_AUTHOR_EMAIL": "dev@example.invalid",
    "GIT_COMMITTER_NAME": "Dev One",
    "GIT_COMMITTER_EMAIL": "dev@example.invalid",
}


def sh(repo: git.Repo | Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git in the test repository (test setup only; gatekeeper never does this)."""
    cwd = repo.working_tree_dir if isinstance(repo, git.Repo) else repo
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **ENV, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def write(repo: git.Repo, rel: str, content: str | bytes, mode: int | None = None) -> None:
    path = Path(repo.working_tree_dir or ".") / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    if mode is not None:
        path.chmod(mode)


def commit(
    repo: git.Repo,
    message: str = "change",
    *,
    author: str | None = None,
    extra: tuple[str, ...] = (),
    add: bool = True,
) -> str:
    if add:
        sh(repo, "add", "-A")
    env = {}
    if author:
        name, email = author.split("<")
        env = {
            "GIT_AUTHOR_NAME": name.strip(),
            "GIT_AUTHOR_EMAIL": email.rstrip(">"),
            "GIT_COMMITTER_NAME": name.strip(),
            "GIT_COMMITTER_EMAIL": email.rstrip(">"),
        }
    sh(repo, "commit", "-q", "--allow-empty", "-m", message, *extra, env=env)
    return sh(repo, "rev-parse", "HEAD")


def collect(repo: git.Repo | Path, base: str | None = None, **options: object) -> SourceEvidence:
    root = Path(repo.working_tree_dir) if isinstance(repo, git.Repo) else repo  # type: ignore[arg-type]
    return GitSourceCollector().collect(
        CollectContext(repo=root, base=base, options=AuditOptions.model_validate(options))
    )


def audit(evidence: SourceEvidence, **policy: object) -> list[Finding]:
    ctx = AuditContext(policy=AuditsPolicy.model_validate(policy))
    return list(SourceIntegrityAudit().run(evidence, ctx))


def rules(findings: list[Finding]) -> list[str]:
    return sorted(f.rule for f in findings)
