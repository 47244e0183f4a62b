"""``pipeline/known-vulnerable-action``: ``uses:`` of action releases with an OSV advisory.

Reads the GitHub Actions advisories of the offline OSV database (``--osv-db``, see
``_gha_osv``) and matches every ``uses:`` that names an exact release (a tag, or a commit pin
with its version in a comment). Severity is the advisory's (CVSS, else the database's own).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from gatekeeper.audit._gha_flow import is_local_uses
from gatekeeper.audit._gha_osv import affects, exact_version, load_advisories
from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.pipeline_common import Occurrences
from gatekeeper.audit.rule import Rule
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.pipeline import PipelineEvidence


def _cache_root(ctx: AuditContext) -> Path | None:
    if ctx.options.osv_cache is not None:
        return ctx.options.osv_cache
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gatekeeper" / "osv"


def _uses_sites(evidence: PipelineEvidence) -> Iterator[tuple[str, str, int, str | None]]:
    for wf in evidence.workflows:
        for job in wf.jobs:
            if job.uses and not is_local_uses(job.uses):
                yield wf.path, job.uses, job.uses_line or job.line, None
            for step in job.steps:
                if step.uses and not is_local_uses(step.uses) and "@" in step.uses:
                    yield wf.path, step.uses, step.uses_line or step.line, step.uses_comment


def known_vulnerable(
    evidence: PipelineEvidence, ctx: AuditContext, rule: Rule
) -> Iterator[Finding]:
    """Raises OsvDatabaseError: the database is missing or corrupt (the run fails closed)."""
    db = ctx.options.osv_db
    if db is None:
        return
    by_package: dict[str, list] = {}  # type: ignore[type-arg]
    for advisory in load_advisories(db, _cache_root(ctx)):
        by_package.setdefault(advisory.package, []).append(advisory)
    occurrences: dict[str, Occurrences] = {}
    for path, uses, line, comment in _uses_sites(evidence):
        name, _, ref = uses.partition("@")
        package = "/".join(name.strip().lower().split("/")[:2])
        candidates = by_package.get(package)
        if not candidates:
            continue
        version = exact_version(ref.strip(), comment)
        if version is None:
            continue
        for advisory in candidates:
            if not affects(advisory, version):
                continue
            ids = ", ".join((advisory.id, *advisory.aliases[:2]))
            yield rule.finding(
                f"`{uses}` is {package} {version}, affected by {ids}: {advisory.summary[:160]} "
                "(move to a fixed release and pin its commit sha)",
                severity=Severity(advisory.severity),
                path=path,
                line=line,
                key=occurrences.setdefault(path, Occurrences()).key(
                    path, f"kv|{uses}|{advisory.id}"
                ),
            )
