"""Audits, one module per family, in an explicit registry.

Usage::

    from gatekeeper.audit import run_audits
    findings = run_audits(evidence, AuditContext(policy=policy.audits))

Each module listed in ``_MODULES`` exports ``AUDITS``, a tuple of audit classes; each audit
declares its rules as ``Rule`` records (``gatekeeper.audit.rule``) next to its code. Reports
and docs/rules.md read the records through ``all_rule_records()``.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Mapping
from typing import Any

from gatekeeper.audit.base import Audit, AuditContext
from gatekeeper.audit.rule import RULES_DOC_URL, Rule, RuleSet
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.secrets.redaction import redact_finding

# One line per audit module; every module in audit/ must be listed (a test checks it).
_MODULES: tuple[str, ...] = (
    "gatekeeper.audit.container",
    "gatekeeper.audit.deps",
    "gatekeeper.audit.source_integrity",
    "gatekeeper.audit.secrets",
    "gatekeeper.audit.pipeline_common",
    "gatekeeper.audit.pipeline_github",
    "gatekeeper.audit.pipeline_jenkins",
    "gatekeeper.audit.pipeline_gitlab",
)

# The evidence kind each module's audits read: a run loads only the modules it needs
# (`check --only pipeline` never imports the git or lockfile audits). A test keeps it true.
_KINDS: dict[str, str] = {
    "gatekeeper.audit.container": "container",
    "gatekeeper.audit.deps": "deps",
    "gatekeeper.audit.source_integrity": "source",
    "gatekeeper.audit.secrets": "secrets",
    "gatekeeper.audit.pipeline_common": "pipeline",
    "gatekeeper.audit.pipeline_github": "pipeline",
    "gatekeeper.audit.pipeline_jenkins": "pipeline",
    "gatekeeper.audit.pipeline_gitlab": "pipeline",
}

__all__ = [
    "ALL_AUDITS",
    "RULES_DOC_URL",
    "Audit",
    "AuditContext",
    "Rule",
    "RuleSet",
    "all_audits",
    "all_rule_records",
    "all_rules",
    "rules_for",
    "run_audits",
]


@functools.cache
def all_audits() -> tuple[type[Audit], ...]:
    return _audits_of(tuple(_MODULES))


@functools.cache
def _audits_of(modules: tuple[str, ...]) -> tuple[type[Audit], ...]:
    audits: list[type[Audit]] = []
    for name in modules:
        module: Any = importlib.import_module(name)
        audits.extend(module.AUDITS)
    return tuple(audits)


def _audits_for(kinds: Iterable[str]) -> tuple[type[Audit], ...]:
    wanted = set(kinds)
    return _audits_of(tuple(m for m in _MODULES if _KINDS.get(m) in wanted))


def rules_for(kinds: Iterable[str]) -> set[str]:
    """The rule ids of the audits that read these evidence kinds."""
    return {rule for audit in _audits_for(kinds) for rule in audit.rules}


@functools.cache
def _records() -> tuple[Rule, ...]:
    records: dict[str, Rule] = {}
    for audit in all_audits():
        for rule in audit.rules.records:
            if rule.id in records:
                raise AssertionError(f"rule {rule.id} is owned by two audits")
            records[rule.id] = rule
    return tuple(records.values())


def all_rule_records() -> dict[str, Rule]:
    """Every rule record, by id, in registry order (module, then audit, then declaration)."""
    return {rule.id: rule for rule in _records()}


def all_rules() -> dict[str, Severity]:
    """Every rule id with its default severity."""
    return {rule.id: rule.severity for rule in _records()}


def __getattr__(name: str) -> Any:
    if name == "ALL_AUDITS":
        return all_audits()
    raise AttributeError(name)


def run_audits(evidence: Mapping[str, Any], ctx: AuditContext) -> list[Finding]:
    """Run every audit whose evidence kind was collected; findings sorted and de-duplicated.

    SECURITY: a message may quote repository text (a script line, a URL); every secret the
    scanner finds in it is redacted here, before any report prints it or any attestation
    signs it.
    """
    findings: dict[str, Finding] = {}
    for audit_cls in _audits_for(evidence):
        kind_evidence = evidence.get(audit_cls.evidence_kind)
        if kind_evidence is None:
            continue
        for finding in audit_cls().run(kind_evidence, ctx):
            findings.setdefault(finding.fingerprint, finding)
    return sorted(map(redact_finding, findings.values()), key=Finding.sort_key)
