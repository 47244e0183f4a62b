"""`gatekeeper check` and `gatekeeper collect`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from gatekeeper._fileio import dumps_json
from gatekeeper.app import CheckConfig, run_check
from gatekeeper.collect import CollectContext, collector_for
from gatekeeper.commands.args import audit_options
from gatekeeper.commands.output import emit, report_targets
from gatekeeper.errors import ExitCode, InvalidInput
from gatekeeper.policy import load_policy_or_default, write_baseline


def default_base(environ: Mapping[str, str] | None = None) -> str | None:
    """Jenkins multibranch pull requests: compare with ``origin/$CHANGE_TARGET``."""
    env = os.environ if environ is None else environ
    target = env.get("CHANGE_TARGET", "").strip()
    if target and env.get("CHANGE_ID", "").strip():
        return f"origin/{target}"
    return None


def cmd_check(args: argparse.Namespace) -> int:
    report_targets(args)  # validate report arguments before doing any work
    policy = load_policy_or_default(args.policy)
    cfg = CheckConfig(
        repo=Path(args.repo),
        policy=policy,
        base=args.base or (None if args.staged else default_base()),
        kinds=args.only,
        baseline=args.baseline,
        staged=args.staged,
        policy_name=policy.name,
        options=audit_options(args),
    )
    result = run_check(cfg)
    if args.write_baseline:
        count = write_baseline(args.write_baseline, result.unexcused)
        sys.stderr.write(f"gatekeeper: wrote {count} fingerprint(s) to {args.write_baseline}\n")
        return ExitCode.PASS
    emit(args, result.verdict)
    return ExitCode.PASS if result.verdict.allowed else ExitCode.BLOCKED


def cmd_collect(args: argparse.Namespace) -> int:
    if len(args.target) > 2:
        raise InvalidInput(f"collect takes KIND [REPO], not {' '.join(args.target)}")
    kind, repo = args.target[0], (args.target[1] if len(args.target) == 2 else ".")
    ctx = CollectContext(repo=Path(repo), base=args.base, options=audit_options(args))
    evidence = collector_for(kind).collect(ctx)
    fmt = getattr(args, "format", None)
    from gatekeeper.report.evidence import has_text_form, render_evidence
    from gatekeeper.secrets.redaction import dump_evidence, redact_evidence

    # SECURITY: evidence keeps repository text verbatim; both forms print it redacted.
    if fmt == "text" and has_text_form(kind):
        sys.stdout.write(render_evidence(kind, redact_evidence(evidence)))
    else:
        sys.stdout.write(dumps_json(dump_evidence(kind, evidence)))
    return ExitCode.PASS
