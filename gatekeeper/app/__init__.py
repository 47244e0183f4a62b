"""The application layer: what ``check``, ``pr-check`` and ``attest --audit`` all run.

Usage::

    from gatekeeper.app import AuditOptions, CheckConfig, run_check
    result = run_check(CheckConfig(repo=Path("."), policy=policy,
                                   options=AuditOptions(osv_db=Path("osv/"))))

One sequence (``gather``: collect evidence, run the audits; ``assess``: then apply the
policy; ``run_check``: then decide) and one options model (``AuditOptions``).
"""

from __future__ import annotations

from gatekeeper.app.assess import (
    TREE_KINDS,
    Assessment,
    Audited,
    AuditRequest,
    assess,
    audit_evidence,
    collect_evidence,
    existing_on_base,
    gather,
)
from gatekeeper.app.check import CheckConfig, CheckResult, run_check
from gatekeeper.models.options import AuditOptions

__all__ = [
    "TREE_KINDS",
    "Assessment",
    "AuditOptions",
    "AuditRequest",
    "Audited",
    "CheckConfig",
    "CheckResult",
    "assess",
    "audit_evidence",
    "collect_evidence",
    "existing_on_base",
    "gather",
    "run_check",
]
