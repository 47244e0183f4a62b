"""Where reports go and how they look: --format/--output pairs, colour, quiet, progress.

- Text is the default report, on a terminal or not; JSON only when asked for.
- The Nth ``--output FILE`` takes the Nth ``--format``; an ``--output`` without one takes the
  format its name says (``.sarif``/``.sarif.json``, ``.json``, ``.xml`` JUnit, ``.md``,
  ``.txt``); a ``--format`` without an ``--output`` goes to standard output (one at most). A
  format that contradicts the file name (``--format json --output gk.sarif``) is a usage
  error, and so is a file name that says no format when no ``--format`` is left for it.
- Colour only on the text report to standard output: ``--color always|never``, or ``auto``
  (the default): not with ``NO_COLOR`` set, always with ``FORCE_COLOR`` set, else when
  standard output is a terminal (and ``TERM`` is not ``dumb``). Files never get colour.
- ``--quiet``: the text report keeps what blocks and the summary; no progress line and no
  informational messages on standard error (errors and warnings stay).
- A progress line on standard error while a check runs, only when standard error is a
  terminal (never in a CI log or a pipe), erased when the work ends.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from gatekeeper._fileio import write_output
from gatekeeper.commands.args import FORMATS
from gatekeeper.errors import InvalidInput
from gatekeeper.models.verdict import Verdict
from gatekeeper.report import ReportFormat, render

# File name endings and the format each names (longest first).
SUFFIX_FORMATS = (
    (".sarif.json", "sarif"),
    (".sarif", "sarif"),
    (".json", "json"),
    (".xml", "junit"),
    (".md", "markdown"),
    (".markdown", "markdown"),
    (".txt", "text"),
)


def format_for(path: str) -> str | None:
    """The report format a file name says, or None."""
    lower = path.lower()
    return next((fmt for suffix, fmt in SUFFIX_FORMATS if lower.endswith(suffix)), None)


def _report_format(name: str) -> ReportFormat:
    try:
        return ReportFormat(name)
    except ValueError:
        raise InvalidInput(f"report format {name!r} is not available in this build") from None


def _pairs(args: argparse.Namespace) -> list[tuple[str | None, str | None]]:
    """(format, output): the Nth --output with the Nth --format; None where one is missing."""
    formats: list[str] = list(getattr(args, "format", None) or [])
    outputs: list[str] = list(getattr(args, "output", None) or [])
    size = max(len(formats), len(outputs))
    return [
        (formats[i] if i < len(formats) else None, outputs[i] if i < len(outputs) else None)
        for i in range(size)
    ]


def report_targets(args: argparse.Namespace) -> list[tuple[ReportFormat, str | None]]:
    """Each report to write: its format, and its file (None: standard output).

    Raises:
        InvalidInput: a file name that says no format and no --format before it, a format
            that contradicts the file name, two reports on standard output, or an unknown
            format.
    """
    targets: list[tuple[ReportFormat, str | None]] = []
    for fmt, out in _pairs(args) or [(None, None)]:
        named = format_for(out) if out not in (None, "-") else None
        if fmt is None:
            if out not in (None, "-") and named is None:
                raise InvalidInput(
                    f"--output {out}: the name says no report format; give it a --format "
                    f"({', '.join(FORMATS)}) or end it in .sarif, .json, .xml, .md or .txt"
                )
            fmt = named or "text"
        elif named is not None and named != fmt:
            raise InvalidInput(
                f"--format {fmt} --output {out}: the file name says {named}; rename the file "
                f"or give --format {named}"
            )
        targets.append((_report_format(fmt), None if out == "-" else out))
    if sum(1 for _, out in targets if out is None) > 1:
        raise InvalidInput(
            "only one report can go to standard output; give --output FILE for the others"
        )
    return targets


def use_colour(choice: str | None, stream: TextIO) -> bool:
    """Whether to colour text written to ``stream`` (see the module docstring)."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def quiet(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "quiet", False))


def inform(args: argparse.Namespace, message: str) -> None:
    """An informational line on standard error, unless --quiet."""
    if not quiet(args):
        sys.stderr.write(f"gatekeeper: {message}\n")


def emit(args: argparse.Namespace, verdict: Verdict) -> None:
    for fmt, out in report_targets(args):
        colour = out is None and use_colour(getattr(args, "color", None), sys.stdout)
        text = render(fmt, verdict, colour=colour, quiet=quiet(args))
        if out is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            write_output(out, text.encode("utf-8"))


class StepProgress:
    """``[3/8] collecting secrets`` on standard error, redrawn in place at each step.

    Only when ``stream`` is a terminal and not --quiet (``GATEKEEPER_NO_PROGRESS`` and
    ``TERM=dumb`` turn it off too); erased by ``close``. Never writes to standard output.
    """

    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        from gatekeeper.attest._progress import enabled as on_a_terminal

        self.stream = stream if stream is not None else sys.stderr
        self.total = total
        self.done = 0
        self.active = enabled and on_a_terminal(self.stream)
        self._drawn = False

    def step(self, label: str) -> None:
        self.done += 1
        if not self.active:
            return
        count = f"[{min(self.done, self.total)}/{self.total}]"
        self.stream.write(f"\r\033[2Kgatekeeper {count} {label}")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\r\033[2K")
            self.stream.flush()
            self._drawn = False
        self.active = False


__all__ = [
    "StepProgress",
    "emit",
    "format_for",
    "inform",
    "quiet",
    "report_targets",
    "use_colour",
]
