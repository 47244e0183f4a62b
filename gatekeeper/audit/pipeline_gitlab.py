"""GitLab CI rules: ``pipeline/gitlab-unpinned-include``.

A remote include or an include from another project runs whatever its owner pushes next,
unless it is pinned: a project include by a full commit sha (``ref:``), a remote include by
``integrity:`` (a content hash) or a commit sha in its URL, a CI/CD component by a commit sha
or an exact released version. Local includes and GitLab's own templates are not findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.pipeline_common import Occurrences
from gatekeeper.audit.rule import Rule, RuleSet
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.pipeline import GitlabInclude, PipelineEvidence

_SHA = re.compile(r"^[0-9a-f]{40}$")
_SHA_IN_URL = re.compile(r"/[0-9a-f]{40}/")
_EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


UNPINNED_INCLUDE = Rule(
    "pipeline/gitlab-unpinned-include",
    Severity.MEDIUM,
    summary="a GitLab CI `include:` of a remote file or another project has no pinned ref",
    help="An included file is part of this pipeline; without a pinned ref its owner, or "
    "whoever takes over the URL, decides what the pipeline runs next. Pin `ref:` to a full "
    "commit sha, give a remote include an `integrity:` hash, or use a component at an exact "
    "released version.",
)


def _project_reason(include: GitlabInclude) -> str | None:
    if include.ref is None:
        return "has no `ref:` (the project's default branch)"
    if not _SHA.match(include.ref.strip()):
        return f"uses `ref: {include.ref}`, a branch or tag that can move"
    return None


def _remote_reason(include: GitlabInclude) -> str | None:
    if include.ref is not None and include.ref.startswith("sha256-"):
        return None  # `integrity:` pins the content
    if _SHA_IN_URL.search(include.target):
        return None
    return "fetches a URL whose content can change (add `integrity: sha256-...`)"


def _component_reason(include: GitlabInclude) -> str | None:
    _, sep, version = include.target.rpartition("@")
    if not sep:
        return "has no version"
    if _SHA.match(version) or _EXACT_VERSION.match(version):
        return None
    return f"uses `@{version}`, which moves with new releases or commits"


# Local includes and GitLab's own templates are part of this tree or of GitLab itself.
_REASONS = {"project": _project_reason, "remote": _remote_reason, "component": _component_reason}


def unpinned_reason(include: GitlabInclude) -> str | None:
    """Why ``include`` is not pinned, or None when it is (or need not be)."""
    reason = _REASONS.get(include.kind)
    return reason(include) if reason is not None else None


class GitlabIncludes:
    evidence_kind: ClassVar[str] = "pipeline"
    rules: ClassVar[RuleSet] = RuleSet(UNPINNED_INCLUDE)
    summary: ClassVar[str] = "GitLab CI includes from other projects or URLs without a pinned ref"

    def run(self, evidence: PipelineEvidence, ctx: AuditContext) -> Iterator[Finding]:
        for config in evidence.gitlab:
            occurrences = Occurrences()
            for include in config.includes:
                reason = unpinned_reason(include)
                if reason is None:
                    continue
                # SECURITY: a remote URL can carry a token (`https://USER:TOKEN@host`);
                # the message shows `***@` in its place (the secrets family reports it).
                source = (
                    f"{include.project} (file {include.target})"
                    if (include.kind == "project")
                    else _USERINFO.sub("***@", include.target)
                )
                yield UNPINNED_INCLUDE.finding(
                    f"include of {include.kind} `{source}` {reason}: its owner decides what "
                    "this pipeline runs; pin it to a commit sha",
                    path=config.path,
                    line=include.line,
                    key=occurrences.key(config.path, f"{include.kind}|{source}|{include.ref}"),
                )


AUDITS = (GitlabIncludes,)
