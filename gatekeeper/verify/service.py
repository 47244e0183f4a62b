"""``gatekeeper verify`` as a service: evaluate, sign a summary on pass, log the decision.

The order matters and fails closed: an earlier summary file is removed before anything else;
the summary is signed in memory before the decision is logged (a summary that cannot be
signed turns the verdict into a block, and the block is what gets logged); a decision that
cannot be logged is not a pass; the summary file is written only for a logged pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gatekeeper._fileio import write_output
from gatekeeper.attest.keys import LoadedSigner
from gatekeeper.errors import ExitCode, GatekeeperError
from gatekeeper.models.verdict import Reason, Verdict
from gatekeeper.store import open_store, resolve_store_uri
from gatekeeper.verify.evaluate import VerifyConfig, VerifyTrace, run_verify
from gatekeeper.verify.log import record_decision


@dataclass(frozen=True)
class SummaryRequest:
    """``--emit-vsa FILE --key KEY``: where to write the summary and who signs it."""

    path: Path
    signers: list[LoadedSigner]


@dataclass(frozen=True)
class VerifyRequest:
    config: VerifyConfig
    log: bool = True  # append the decision to the store's decision log
    summary: SummaryRequest | None = None


@dataclass(frozen=True)
class VerifyOutcome:
    verdict: Verdict
    exit_code: ExitCode
    messages: list[str] = field(default_factory=list)  # what else happened, for the log


def exit_code_for(verdict: Verdict) -> ExitCode:
    """0 on pass; 3 when verification itself failed; 2 for an invalid policy alone; else 1."""
    if verdict.allowed:
        return ExitCode.PASS
    codes = {r.code for r in verdict.reasons}
    if "verify/internal-error" in codes:
        return ExitCode.INTERNAL
    if codes == {"verify/policy-invalid"}:
        return ExitCode.USAGE
    return ExitCode.BLOCKED


def _blocked(verdict: Verdict, message: str) -> Verdict:
    reason = Reason(code="verify/internal-error", message=message)
    return verdict.model_copy(update={"verdict": "block", "reasons": [*verdict.reasons, reason]})


def _signed_summary(
    request: VerifyRequest, verdict: Verdict, trace: VerifyTrace
) -> tuple[Verdict, bytes | None]:
    """The signed summary of a pass; a summary that cannot be made blocks the verdict."""
    if request.summary is None or not verdict.allowed:
        return verdict, None
    from gatekeeper.verify.summary import sign_vsa, summary_input

    try:
        if trace.policy_digest is None or not trace.subjects:
            raise GatekeeperError("a passing verdict without a policy digest or subjects")
        data = summary_input(
            trace.subjects,
            trace.attestations,
            request.config.policy_path,
            trace.policy_digest,
            resolve_store_uri(request.config.store),
            datetime.now(UTC),
            builds_verified=all(digest in trace.built for _name, digest in trace.subjects),
        )
        return verdict, sign_vsa(data, request.summary.signers)
    except GatekeeperError as exc:
        return _blocked(
            verdict, f"the verification summary could not be signed: {exc.diagnostics()}"
        ), None


def _logged(request: VerifyRequest, verdict: Verdict, trace: VerifyTrace) -> tuple[Verdict, str]:
    """Append the decision; a decision that cannot be logged is not a pass."""
    try:
        store = open_store(request.config.store, insecure=request.config.insecure_registry)
        appended = record_decision(store, verdict, trace)
    except GatekeeperError as exc:
        # SECURITY: fail closed, and say so in the report too: CI steps read the verdict as
        # well as the exit code.
        message = f"the decision could not be logged: {exc.diagnostics()}"
        return _blocked(verdict, message), f"error: {message}"
    return verdict, (
        f"decision {appended.entry.seq} logged in {appended.where}; log head {appended.digest}"
    )


def verify_artifacts(request: VerifyRequest) -> VerifyOutcome:
    """Evaluate the policy, then sign, log and write as the request asks (see the module).

    Raises:
        InvalidInput: a usage error found before anything was decided (no artifact, a bad
            --commit or policy key).
    """
    if request.summary is not None:
        from gatekeeper.verify.summary import remove_stale_summary  # only with --emit-vsa

        # SECURITY: removed first, so that no way out of this verify (a usage error, an
        # internal error, an interruption) leaves an earlier run's summary to pass for it.
        remove_stale_summary(request.summary.path)
    trace = VerifyTrace()
    verdict = run_verify(request.config, trace)
    verdict, summary = _signed_summary(request, verdict, trace)
    messages: list[str] = []
    if request.log:
        verdict, message = _logged(request, verdict, trace)
        messages.append(message)
    if request.summary is not None:
        from gatekeeper.verify.summary import remove_stale_summary

        target = request.summary.path
        if verdict.allowed and summary is not None:
            write_output(target, summary)
            messages.append(f"verification summary written to {target}")
        else:
            remove_stale_summary(target)
            messages.append(f"blocked: no verification summary written to {target}")
    return VerifyOutcome(verdict=verdict, exit_code=exit_code_for(verdict), messages=messages)
