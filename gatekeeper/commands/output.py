"""Writing reports: several --format/--output pairs in one run, stdout for the rest."""

from __future__ import annotations

import argparse
import sys

from gatekeeper._fileio import atomic_write
from gatekeeper.errors import InvalidInput
from gatekeeper.models.verdict import Verdict
from gatekeeper.report import ReportFormat, render


def default_format() -> str:
    return "text" if sys.stdout.isatty() else "json"


def _report_format(name: str) -> ReportFormat:
    try:
        return ReportFormat(name)
    except ValueError:
        raise InvalidInput(f"report format {name!r} is not available in this build") from None


def _formats_and_outputs(args: argparse.Namespace) -> tuple[list[str], list[str | None]]:
    """Formats, each with its output (None: standard output). Raises InvalidInput."""
    formats: list[str] = list(args.format or [])
    outputs: list[str | None] = list(args.output or [])
    if not formats:
        first = outputs[0] if outputs else None
        formats = ["json" if first and first.endswith(".json") else default_format()]
    if len(outputs) > len(formats):
        raise InvalidInput("each --output needs its own --format")
    return formats, outputs + [None] * (len(formats) - len(outputs))


def report_targets(args: argparse.Namespace) -> list[tuple[ReportFormat, str | None]]:
    """Pair each --format with an --output; a format without one goes to stdout.

    Raises:
        InvalidInput: more outputs than formats, two reports on stdout, or an unknown format.
    """
    formats, outputs = _formats_and_outputs(args)
    targets = [(_report_format(name), out) for name, out in zip(formats, outputs, strict=True)]
    if sum(1 for _, out in targets if out is None or out == "-") > 1:
        raise InvalidInput(
            "only one report can go to standard output; give --output FILE for the others"
        )
    return targets


def emit(args: argparse.Namespace, verdict: Verdict) -> None:
    for fmt, out in report_targets(args):
        colour = out is None and sys.stdout.isatty() and "NO_COLOR" not in __import__("os").environ
        text = render(fmt, verdict, colour=colour)
        if out is None or out == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            atomic_write(out, text.encode("utf-8"))
