"""Policies: loading and signing policy files, and applying a policy to findings.

Usage::

    from gatekeeper.policy import apply_policy, decide_findings, load_policy
    policy, data = load_policy("policies/release.yaml")
    findings, notes = apply_policy(raw_findings, policy, now=datetime.now(UTC))
    verdict = decide_findings("check", findings, policy, notes=notes)

``check``, ``pr-check`` and ``verify`` all apply policies through this package.
"""

from __future__ import annotations

from gatekeeper.policy.apply import (
    AttestedJudgement,
    apply_policy,
    decide_findings,
    exceptions_for,
    expired_exception_findings,
    judge_attested,
)
from gatekeeper.policy.baseline import load_baseline, parse_baseline, write_baseline
from gatekeeper.policy.load import (
    MAX_POLICY_BYTES,
    default_policy,
    format_validation_error,
    load_policy,
    load_policy_or_default,
    parse_policy,
    policy_payload,
    policy_signature_path,
    resolve_key_path,
)

__all__ = [
    "MAX_POLICY_BYTES",
    "AttestedJudgement",
    "apply_policy",
    "decide_findings",
    "default_policy",
    "exceptions_for",
    "expired_exception_findings",
    "format_validation_error",
    "judge_attested",
    "load_baseline",
    "load_policy",
    "load_policy_or_default",
    "parse_baseline",
    "parse_policy",
    "policy_payload",
    "policy_signature_path",
    "resolve_key_path",
    "write_baseline",
]
