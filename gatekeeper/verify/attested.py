"""The findings the verifier judges: the attested ones, and those its own policy derives.

Most attested findings depend on no policy setting, so the verifier applies its policy to
them as recorded (overrides, exceptions, ``block_at``). A rule that fires only from a policy
list, such as ``container/untrusted-registry`` (``audits.allowed_registries``), was judged
against the *attester's* policy; in ``verify`` only the verifier's policy counts, so such
rules are audited again over the attested evidence with the verifier's policy, and the
attester's findings of those rules are set aside. Evidence that cannot be read while the
verifier's policy needs it is a gap (``verify/audit-missing``), never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from gatekeeper.attest.statement import StageRecord
from gatekeeper.models.finding import Finding
from gatekeeper.models.policy import Policy

# rule -> the evidence kind it is re-audited over (and the audit that owns the rule)
REAUDITED = {"container/untrusted-registry": "container"}


@dataclass(frozen=True)
class Judged:
    findings: list[Finding]
    gaps: list[str] = field(default_factory=list)  # why a policy setting could not be applied


def _container_registry_findings(data: object, policy: Policy) -> list[Finding] | None:
    """``container/untrusted-registry`` over attested container evidence; None if unreadable."""
    from gatekeeper.audit.base import AuditContext
    from gatekeeper.audit.container import ContainerAudit
    from gatekeeper.models.container import ContainerEvidence

    try:
        evidence = ContainerEvidence.model_validate(data)
    except ValidationError:
        return None
    found = ContainerAudit().run(evidence, AuditContext(policy=policy.audits))
    return [f for f in found if f.rule == "container/untrusted-registry"]


def findings_to_judge(record: StageRecord, policy: Policy) -> Judged:
    """The attested findings, with policy-list rules re-audited under ``policy``."""
    if "container" not in record.evidence:
        return Judged(list(record.findings))  # nothing to re-audit over
    fresh = _container_registry_findings(record.evidence["container"], policy)
    if fresh is None:
        if policy.audits.allowed_registries:
            return Judged(
                list(record.findings),
                [
                    "its container evidence cannot be read, so the policy's allowed_registries "
                    "cannot be applied to it"
                ],
            )
        return Judged(list(record.findings))
    kept = [f for f in record.findings if f.rule not in REAUDITED]
    return Judged([*kept, *fresh])
