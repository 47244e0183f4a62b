"""`gatekeeper log show` and `gatekeeper log verify`: the store's decision log."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Callable
from typing import Any

from gatekeeper.errors import ExitCode, InvalidInput
from gatekeeper.models.decision import MAX_LOG_BYTES, DecisionEntry, split_lines
from gatekeeper.report.text import one_line
from gatekeeper.store import open_store
from gatekeeper.verify import parse_head, verify_lines


def add_parser(sub: Any, add_report_args: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("log", help="the tamper-evident log of verify decisions")
    actions = p.add_subparsers(dest="log_command", metavar="ACTION")
    s = actions.add_parser("show", help="print the decision log (JSON Lines, as stored)")
    s.add_argument("--store", metavar="STORE", help="default: $GATEKEEPER_STORE or .gatekeeper/")
    s.add_argument(
        "--insecure-registry",
        action="store_true",
        help="plain HTTP to an oci:// store on a loopback host",
    )
    s.add_argument(
        "--format",
        choices=("jsonl", "text"),
        default="jsonl",
        help="jsonl (default; pipe it into `log verify -`) or text",
    )
    s.set_defaults(handler="gatekeeper.commands.log:cmd_log_show")
    v = actions.add_parser("verify", help="check the chain: exit 1 naming the first bad entry")
    v.add_argument(
        "source",
        nargs="?",
        metavar="FILE",
        help="a log file, or - for standard input (default: standard input when it "
        "is a pipe or a file, else the store's log)",
    )
    v.add_argument("--store", metavar="STORE", help="default: $GATEKEEPER_STORE or .gatekeeper/")
    v.add_argument(
        "--insecure-registry",
        action="store_true",
        help="plain HTTP to an oci:// store on a loopback host",
    )
    v.add_argument(
        "--head",
        metavar="sha256:HEX",
        help="a head recorded earlier (verify prints it): it must still be in the log",
    )
    v.add_argument(
        "--allow-empty",
        action="store_true",
        help="accept a log with no entries (otherwise an empty log, or an empty stream, fails)",
    )
    v.set_defaults(handler="gatekeeper.commands.log:cmd_log_verify")


def _store_lines(args: argparse.Namespace) -> list[bytes]:
    return open_store(args.store, insecure=args.insecure_registry).decision_log().lines()


def cmd_log_show(args: argparse.Namespace) -> int:
    lines = _store_lines(args)
    out = sys.stdout.buffer
    if args.format == "jsonl":
        for line in lines:
            out.write(line + b"\n")
    else:
        for line in lines:
            try:
                entry = DecisionEntry.model_validate_json(line)
            except ValueError:
                out.write(b"?  malformed entry (run `gatekeeper log verify`)\n")
                continue
            subjects = ", ".join(s.name for s in entry.subjects) or "-"
            codes = ", ".join(sorted({r.code for r in entry.reasons}))
            # SECURITY: the log is read back from the store; its text must not drive a terminal.
            text = one_line(
                f"{entry.seq:>6}  {entry.time.isoformat()}  {entry.verdict:<5}  "
                f"{entry.policy or '-'}  {subjects}{'  ' + codes if codes else ''}"
            )
            text += "\n"
            out.write(text.encode("utf-8"))
    out.flush()
    return ExitCode.PASS


def _stdin_is_data() -> bool:
    """Whether standard input is a pipe or a file (`log show | log verify`, `< log.jsonl`).

    A terminal, /dev/null or a socket is not: then the store's log is checked, so a job
    with no input can never verify an empty stream and call it a clean log.
    """
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def _log_source(args: argparse.Namespace) -> tuple[list[bytes], str]:
    """The lines to check and where they came from: FILE, standard input, or the store."""
    if args.source is not None and args.store is not None:
        raise InvalidInput("give either FILE (or -) or --store, not both")
    if args.source == "-" or (args.source is None and args.store is None and _stdin_is_data()):
        data = sys.stdin.buffer.read(MAX_LOG_BYTES + 1)
        if len(data) > MAX_LOG_BYTES:
            raise InvalidInput(f"standard input: larger than {MAX_LOG_BYTES} bytes")
        return split_lines(data), "standard input"
    if args.source is not None:
        from gatekeeper._fileio import read_bounded

        return split_lines(read_bounded(args.source, MAX_LOG_BYTES)), args.source
    return _store_lines(args), "the store's decision log"


def cmd_log_verify(args: argparse.Namespace) -> int:
    head = parse_head(args.head)
    lines, where = _log_source(args)
    if not lines and not args.allow_empty:
        # SECURITY: `log show | log verify` after a failed or empty `log show` reads nothing;
        # nothing read is nothing verified, never a clean log.
        sys.stdout.write(
            f"decision log EMPTY ({where}): no entries, so nothing was verified "
            "(pass --allow-empty if an empty log is expected)\n"
        )
        return ExitCode.BLOCKED
    report = verify_lines(lines, head)
    for note in report.notes:
        sys.stdout.write(f"note: {note}\n")
    if not report.ok:
        for problem in report.problems:
            sys.stdout.write(
                f"decision log BROKEN ({where}) at entry {problem.index}: {problem.message}\n"
            )
        return ExitCode.BLOCKED
    head_text = f", head {report.head}" if report.head else ""
    sys.stdout.write(f"decision log OK ({where}): {report.entries} entries{head_text}\n")
    return ExitCode.PASS
