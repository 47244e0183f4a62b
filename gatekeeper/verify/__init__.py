"""The verifier: a policy and a store in, a Verdict with every reason out; the decision log;
verification summaries.

Usage::

    from gatekeeper.verify import VerifyConfig, VerifyRequest, verify_artifacts
    outcome = verify_artifacts(VerifyRequest(VerifyConfig(
        policy_path=Path("policies/release.yaml"), artifacts=["dist/app-1.0.tar.gz"])))
    outcome.verdict.allowed, outcome.exit_code

``evaluate`` decides; ``log`` records decisions and checks the log's chain; ``summary``
signs and checks SLSA verification summaries; ``service`` runs them in the fail-closed
order ``verify`` needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatekeeper.verify.evaluate import VerifyConfig, VerifyTrace, artifact_digest, run_verify
from gatekeeper.verify.log import LogReport, Problem, parse_head, record_decision, verify_lines
from gatekeeper.verify.service import (
    SummaryRequest,
    VerifyOutcome,
    VerifyRequest,
    exit_code_for,
    verify_artifacts,
)

if TYPE_CHECKING:
    from gatekeeper.verify.summary import VsaCheck, check_vsa, policy_file_digest

# The verification summary (VSA) is imported when asked for: most verifies emit none.
_SUMMARY = frozenset({"VsaCheck", "check_vsa", "policy_file_digest"})


def __getattr__(name: str) -> Any:
    if name in _SUMMARY:
        from gatekeeper.verify import summary

        return getattr(summary, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LogReport",
    "Problem",
    "SummaryRequest",
    "VerifyConfig",
    "VerifyOutcome",
    "VerifyRequest",
    "VerifyTrace",
    "VsaCheck",
    "artifact_digest",
    "check_vsa",
    "exit_code_for",
    "parse_head",
    "policy_file_digest",
    "record_decision",
    "run_verify",
    "verify_artifacts",
    "verify_lines",
]
