"""Policy serials: an older policy put back blocks (``verify/policy-rollback``).

A signature proves who wrote a policy, not that it is the current one: an older signed
policy (weaker rules, a retired key) still verifies. A policy's ``serial`` numbers its
versions; the decision log carries, in every entry, the highest serial accepted for each
policy name and that policy's digest (``DecisionEntry.policies``), so the newest entry alone
tells what the gate remembers. A policy below that mark, equal to it with other bytes, or
without a serial once one was accepted, blocks.
"""

from __future__ import annotations

from gatekeeper.models.decision import PolicyMark
from gatekeeper.models.policy import Policy
from gatekeeper.models.verdict import Reason


def rollback_reason(policy: Policy, digest: str, marks: dict[str, PolicyMark]) -> Reason | None:
    """Why ``policy`` (whose exact bytes hash to ``digest``) is older than the gate's memory."""
    held = marks.get(policy.name)
    if held is None:
        return None
    if policy.serial is None:
        message = (
            f"policy {policy.name} has no serial, but serial {held.serial} of it was already "
            "accepted: an older policy was put back (give the policy a serial above "
            f"{held.serial})"
        )
    elif policy.serial < held.serial:
        message = (
            f"policy {policy.name} has serial {policy.serial}, but serial {held.serial} was "
            "already accepted: an older policy was put back"
        )
    elif policy.serial == held.serial and digest != held.digest:
        message = (
            f"policy {policy.name} serial {policy.serial} was already accepted with other "
            f"content ({held.digest[:19]}...): give every change of the policy a new, higher "
            "serial"
        )
    else:
        return None
    return Reason(code="verify/policy-rollback", message=message)


def policy_mark(policy: Policy, digest: str) -> tuple[str, PolicyMark] | None:
    """What the decision log remembers of an accepted policy (nothing without a serial)."""
    if policy.serial is None:
        return None
    return policy.name, PolicyMark(serial=policy.serial, digest=digest)
