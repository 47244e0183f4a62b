"""`gatekeeper check` and `gatekeeper collect`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from gatekeeper._fileio import dumps_json
from gatekeeper.app import CheckConfig, run_check
from gatekeeper.app.config import load_config, repository_root, resolve, with_block_at
from gatekeeper.collect import CollectContext, collector_for
from gatekeeper.commands.args import audit_options, cli_settings
from gatekeeper.commands.output import StepProgress, emit, inform, quiet, report_targets
from gatekeeper.errors import ExitCode, InvalidInput
from gatekeeper.policy import load_policy_or_default, write_baseline


def default_base(environ: Mapping[str, str] | None = None) -> str | None:
    """Jenkins multibranch pull requests: compare with ``origin/$CHANGE_TARGET``."""
    env = os.environ if environ is None else environ
    target = env.get("CHANGE_TARGET", "").strip()
    if target and env.get("CHANGE_ID", "").strip():
        return f"origin/{target}"
    return None


def _steps(kinds: list[str] | None, base: str | None) -> int:
    from gatekeeper.collect import kinds as all_kinds

    return len(kinds or all_kinds()) + 1 + (1 if base else 0)


def cmd_check(args: argparse.Namespace) -> int:
    report_targets(args)  # validate report arguments before doing any work
    root = repository_root(Path(args.repo), path_only=args.path_only)
    loaded = load_config(root, args.config, enabled=not args.no_config)
    settings = resolve(cli_settings(args), loaded.config if loaded else None, root, on_disk=True)
    policy = with_block_at(
        load_policy_or_default(settings.policy), settings.block_at, settings.block_at_source
    )
    notes = [f"configuration read from {loaded.source}"] if loaded else []
    base = args.base or (None if args.staged else default_base())
    progress = StepProgress(_steps(settings.kinds, base), enabled=not quiet(args))
    cfg = CheckConfig(
        repo=root,
        policy=policy,
        base=base,
        kinds=settings.kinds,
        baseline=settings.baseline,
        staged=args.staged,
        policy_name=policy.name,
        options=settings.options,
        suppressions=settings.suppressions,
        root=str(root),
        notes=tuple(notes),
        on_step=progress.step if progress.active else None,
    )
    try:
        result = run_check(cfg)
    finally:
        progress.close()
    if args.write_baseline:
        count = write_baseline(args.write_baseline, result.unexcused)
        inform(args, f"wrote {count} fingerprint(s) to {args.write_baseline}")
        return ExitCode.PASS
    emit(args, result.verdict)
    return ExitCode.PASS if result.verdict.allowed else ExitCode.BLOCKED


def cmd_collect(args: argparse.Namespace) -> int:
    if len(args.target) > 2:
        raise InvalidInput(f"collect takes KIND [REPO], not {' '.join(args.target)}")
    kind, repo = args.target[0], (args.target[1] if len(args.target) == 2 else ".")
    root = repository_root(Path(repo), path_only=args.path_only)
    ctx = CollectContext(repo=root, base=args.base, options=audit_options(args))
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
