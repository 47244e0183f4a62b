"""`gatekeeper verify` and `gatekeeper import`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gatekeeper.attest.importer import import_files
from gatekeeper.attest.keys import LoadedSigner, load_signer
from gatekeeper.commands.log import record_decision
from gatekeeper.commands.output import emit, report_targets
from gatekeeper.errors import ExitCode, GatekeeperError, InvalidInput
from gatekeeper.models.verdict import Reason, Verdict
from gatekeeper.store import open_store
from gatekeeper.verify.evaluate import VerifyConfig, VerifyTrace, run_verify

# The commit being promoted, when the CI says it and --commit does not.
_COMMIT_VARS = ("GATEKEEPER_COMMIT", "GITHUB_SHA", "GIT_COMMIT", "CI_COMMIT_SHA")


def verdict_exit_code(verdict: Verdict) -> int:
    if verdict.allowed:
        return ExitCode.PASS
    codes = {r.code for r in verdict.reasons}
    if "verify/internal-error" in codes:
        return ExitCode.INTERNAL
    if codes == {"verify/policy-invalid"}:
        return ExitCode.USAGE
    return ExitCode.BLOCKED


def cmd_verify(args: argparse.Namespace) -> int:
    report_targets(args)
    signers = _vsa_signers(args)
    commit = args.commit or next((os.environ[v] for v in _COMMIT_VARS if os.environ.get(v)), None)
    trace = VerifyTrace()
    verdict = run_verify(
        VerifyConfig(
            policy_path=Path(args.policy),
            artifacts=args.artifacts,
            image_digests=args.image_digest,
            store=args.store,
            policy_key=args.policy_key,
            commit=commit,
            insecure_registry=args.insecure_registry,
        ),
        trace,
    )
    if not args.no_log:
        try:
            record_decision(args, verdict, trace)
        except GatekeeperError as exc:
            # SECURITY: a decision that cannot be logged is not a pass (fail closed), and the
            # report must say so too: CI steps read the verdict as well as the exit code.
            message = f"the decision could not be logged: {exc.diagnostics()}"
            sys.stderr.write(f"gatekeeper: error: {message}\n")
            reason = Reason(code="verify/internal-error", message=message)
            verdict = verdict.model_copy(
                update={"verdict": "block", "reasons": [*verdict.reasons, reason]}
            )
            emit(args, verdict)
            return ExitCode.INTERNAL
    emit(args, verdict)
    code = verdict_exit_code(verdict)
    if args.emit_vsa:
        from gatekeeper.commands.vsa import emit_vsa

        emit_vsa(args, verdict, trace, signers)
    return code


def _vsa_signers(args: argparse.Namespace) -> list[LoadedSigner]:
    if args.key and not args.emit_vsa:
        raise InvalidInput("--key signs the --emit-vsa summary; give --emit-vsa FILE too")
    if args.emit_vsa and not args.key:
        raise InvalidInput("--emit-vsa needs --key KEY to sign the summary")
    return [load_signer(k) for k in args.key]  # loaded first: a bad key fails before verifying


def cmd_import(args: argparse.Namespace) -> int:
    store = open_store(args.store, insecure=args.insecure_registry)
    imported = import_files(args.files, store, stage_override=args.stage)
    for item in imported:
        sys.stdout.write(
            f"{item.source}: {item.kind} for stage {item.stage} -> {item.envelope_id[:12]}\n"
        )
    return ExitCode.PASS
