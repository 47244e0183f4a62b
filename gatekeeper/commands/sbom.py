"""`gatekeeper sbom`: a CycloneDX JSON document of every resolved dependency."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatekeeper._fileio import dumps_json, write_output
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.deps import DepsCollector
from gatekeeper.deps.sbom import SPEC_VERSIONS, sbom_from_evidence
from gatekeeper.errors import ExitCode, InvalidInput
from gatekeeper.models.options import AuditOptions


def add_parser(subparsers: Any, add_report_args: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``sbom``; its formats are SBOM formats, not report formats."""
    p = subparsers.add_parser("sbom", help="CycloneDX JSON of every resolved dependency")
    p.add_argument(
        "repo", nargs="?", default=".", metavar="REPO", help="the repository (default: .)"
    )
    p.add_argument(
        "--format",
        default="cyclonedx",
        choices=("cyclonedx", "cyclonedx-json"),
        help="SBOM format (CycloneDX JSON)",
    )
    p.add_argument(
        "--spec-version",
        default="1.5",
        choices=SPEC_VERSIONS,
        help="CycloneDX specification version (default 1.5)",
    )
    p.add_argument("--output", metavar="FILE", help="write to FILE atomically instead of stdout")
    p.set_defaults(handler="gatekeeper.commands.sbom:cmd_sbom")


def cmd_sbom(args: argparse.Namespace) -> int:
    repo = Path(args.repo)
    if not repo.is_dir():
        raise InvalidInput(f"{repo}: no such directory")
    evidence = DepsCollector().collect(
        CollectContext(repo=repo, options=AuditOptions(osv_skip=True))
    )
    bom = sbom_from_evidence(evidence, args.spec_version)
    text = dumps_json(bom)
    if args.output and args.output != "-":
        write_output(args.output, text.encode("utf-8"))
    else:
        sys.stdout.write(text)
    for problem in evidence.tree.errors:
        sys.stderr.write(
            f"gatekeeper: warning: {problem.file}:{problem.line}: cannot parse: "
            f"{problem.message} (its packages are not in the SBOM)\n"
        )
    # SECURITY: an SBOM of a tree with unparseable lockfiles is incomplete: never exit 0.
    return ExitCode.BLOCKED if evidence.tree.errors else ExitCode.PASS
