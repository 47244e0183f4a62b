"""`gatekeeper pr-check`: the pre-merge check of a pull request (logic in gatekeeper.github)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatekeeper.commands.args import add_audit_args, add_config_args, audit_options
from gatekeeper.commands.output import StepProgress, emit, inform, quiet, report_targets
from gatekeeper.errors import ExitCode


def add_parser(sub: Any, add_report_args: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "pr-check", help="pre-merge check of a pull request (reports to GitHub with a token)"
    )
    p.add_argument(
        "repo",
        nargs="?",
        default=".",
        metavar="REPO",
        help="the repository, or any path inside it (default: the current directory)",
    )
    p.add_argument(
        "--base",
        metavar="REF",
        help="target branch or commit (default: the event's base, or "
        "origin/$CHANGE_TARGET on Jenkins)",
    )
    p.add_argument(
        "--head",
        metavar="REF",
        help="pull request head (default: the event's head, else HEAD); it must be checked out",
    )
    p.add_argument(
        "--event", metavar="FILE", help="pull-request event JSON (default: $GITHUB_EVENT_PATH)"
    )
    p.add_argument(
        "--policy",
        metavar="FILE",
        type=Path,
        help="policy YAML; a file of the repository is read from the base revision, never "
        "from the pull request (default: the bundled policy)",
    )
    p.add_argument(
        "--baseline",
        metavar="FILE",
        type=Path,
        help="accept the findings whose fingerprints are in FILE; a file of the repository "
        "is read from the base revision",
    )
    p.add_argument(
        "--github-repository",
        metavar="OWNER/NAME",
        help="where to report (default: the event's, or $GITHUB_REPOSITORY)",
    )
    p.add_argument(
        "--pr",
        type=int,
        metavar="N",
        help="pull request number (default: the event's, or $CHANGE_ID)",
    )
    p.add_argument(
        "--no-report",
        action="store_true",
        help="do not post a status or check run even when GITHUB_TOKEN is set",
    )
    add_audit_args(p)
    add_config_args(p)
    add_report_args(p)
    p.set_defaults(handler="gatekeeper.commands.pr_check:cmd_pr_check")


def cmd_pr_check(args: argparse.Namespace) -> int:
    from gatekeeper.app.config import repository_root
    from gatekeeper.collect import kinds
    from gatekeeper.github.prcheck import PrCheckConfig, report_to_github, run_pr_check
    from gatekeeper.models.finding import Severity

    report_targets(args)  # validate report arguments before doing any work
    # SECURITY: the policy, baseline and configuration are read in run_pr_check, from the base
    # revision when they are files of the repository: a pull request never chooses the rules
    # it is judged by.
    progress = StepProgress(len(args.only or kinds()) + 2, enabled=not quiet(args))
    cfg = PrCheckConfig(
        repo=repository_root(Path(args.repo), path_only=args.path_only),
        policy_path=args.policy,
        base=args.base,
        head=args.head,
        event_path=args.event,
        kinds=args.only,
        baseline=args.baseline,
        options=audit_options(args),
        environ=dict(os.environ),
        github_repository=args.github_repository,
        pr_number=args.pr,
        config_path=args.config,
        use_config=not args.no_config,
        block_at=Severity(args.block_at) if args.block_at else None,
        on_step=progress.step if progress.active else None,
    )
    try:
        result = run_pr_check(cfg)
    finally:
        progress.close()
    emit(args, result.verdict)
    if not args.no_report:
        for line in report_to_github(result, cfg):
            inform(args, line)
    return ExitCode.PASS if result.verdict.allowed else ExitCode.BLOCKED
