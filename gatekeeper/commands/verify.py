"""`gatekeeper verify` and `gatekeeper import`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gatekeeper.attest.importer import import_files
from gatekeeper.commands.output import emit, report_targets
from gatekeeper.errors import ExitCode
from gatekeeper.models.verdict import Verdict
from gatekeeper.store import open_store
from gatekeeper.verify.evaluate import VerifyConfig, run_verify

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
    commit = args.commit or next((os.environ[v] for v in _COMMIT_VARS if os.environ.get(v)), None)
    verdict = run_verify(VerifyConfig(
        policy_path=Path(args.policy), artifacts=args.artifacts, image_digests=args.image_digest,
        store=args.store, policy_key=args.policy_key, commit=commit,
    ))
    emit(args, verdict)
    return verdict_exit_code(verdict)


def cmd_import(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    imported = import_files(args.files, store, stage_override=args.stage)
    for item in imported:
        sys.stdout.write(f"{item.source}: {item.kind} for stage {item.stage} -> {item.envelope_id[:12]}\n")
    return ExitCode.PASS
