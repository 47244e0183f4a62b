"""Audits of the secrets evidence: every ``secrets/`` rule of RULES.md.

A finding's fingerprint is keyed on the sha256 of the secret's value (never the value),
so the same credential at the same path keeps one fingerprint whether it was found in the
tree, in the staged change or in a commit of the range, and whatever line it moves to.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from gatekeeper.audit.base import AuditContext
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.secrets import SecretsEvidence

_RULES: dict[str, tuple[Severity, str]] = {
    "private-key": (Severity.CRITICAL, "private key"),
    "aws-access-key": (Severity.HIGH, "AWS access key id"),
    "github-token": (Severity.CRITICAL, "GitHub token"),
    "gitlab-token": (Severity.CRITICAL, "GitLab personal access token"),
    "slack-token": (Severity.HIGH, "Slack token"),
    "stripe-key": (Severity.CRITICAL, "Stripe live key"),
    "google-api-key": (Severity.HIGH, "Google API key"),
    "npm-token": (Severity.CRITICAL, "npm access token"),
    "pypi-token": (Severity.CRITICAL, "PyPI API token"),
    "jwt": (Severity.MEDIUM, "signed JSON Web Token"),
    "url-credentials": (Severity.HIGH, "password in a URL"),
    "docker-auth": (Severity.HIGH, "Docker registry credential"),
    "config-file-credentials": (Severity.HIGH, "credential in a tool's config file"),
    "generic-assignment": (Severity.HIGH, "high-entropy literal"),
}


class SecretsAudit:
    evidence_kind: ClassVar[str] = "secrets"
    summary: ClassVar[str] = "credentials in configs, scripts and the change"
    rules: ClassVar[dict[str, Severity]] = {f"secrets/{k}": v[0] for k, v in _RULES.items()}

    def run(self, evidence: SecretsEvidence, ctx: AuditContext) -> Iterator[Finding]:
        # Tree and staged hits first: a secret still present is reported where it is now.
        order = {"tree": 0, "staged": 0, "history": 1}
        for hit in sorted(evidence.hits, key=lambda h: (order[h.source], h.path, h.line)):
            severity, label = _RULES[hit.detector]
            if hit.detector == "aws-access-key" and hit.paired:
                severity = Severity.CRITICAL
            where = ""
            if hit.source == "history":
                where = f" (added in commit {(hit.commit or '')[:12]})"
            elif hit.source == "staged":
                where = " (staged)"
            detail = f", {hit.detail}" if hit.detail else ""
            yield Finding.make(
                f"secrets/{hit.detector}",
                severity,
                f"{label}{detail}: {hit.redacted} sha256:{hit.fingerprint[:16]}{where}",
                path=hit.path,
                line=hit.line,
                key=hit.fingerprint,
            )


AUDITS = (SecretsAudit,)
