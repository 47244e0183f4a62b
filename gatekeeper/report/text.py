"""Text report for people: grouped by file, one line per reason, a summary and what to do next."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from itertools import groupby

from gatekeeper.models.verdict import Verdict
from gatekeeper.report.base import active, blocking, location, severity_counts

_COLOURS = {
    "critical": "\033[1;31m",
    "high": "\033[31m",
    "medium": "\033[33m",
    "low": "\033[36m",
    "info": "\033[2m",
}
_RESET = "\033[0m"


def _painter(colour: bool) -> Callable[[str, str], str]:
    def paint(text: str, key: str) -> str:
        return f"{_COLOURS.get(key, '')}{text}{_RESET}" if colour and key in _COLOURS else text

    return paint


def _reason_lines(verdict: Verdict) -> list[str]:
    lines = []
    for reason in verdict.reasons:
        stage = f"[{one_line(reason.stage)}] " if reason.stage else ""
        lines.append(f"BLOCK {reason.code}: {stage}{one_line(reason.message)}")
    return lines


def _finding_lines(verdict: Verdict, colour: bool) -> list[str]:
    """Active findings grouped by file; ``x`` marks the ones that decide the verdict."""
    paint = _painter(colour)
    lines: list[str] = []
    shown = [f for f in verdict.findings if f.status is None]
    blocks = {f.fingerprint for f in blocking(verdict)}
    for raw_path, group in groupby(shown, key=lambda f: f.path or "(repository)"):
        # SECURITY: a file name may hold newlines and escape sequences (git allows both).
        path = one_line(raw_path)
        lines.append(f"\033[1m{path}\033[0m" if colour else path)
        for finding in group:
            # The mark says which findings decide the verdict, without relying on colour.
            mark = "x" if finding.fingerprint in blocks else " "
            sev = paint(f"{finding.severity.value:<8}", finding.severity.value)
            where = f"line {finding.line}" if finding.line else "-"
            lines.append(f"{mark} {sev} {finding.rule:<36} {where:<10} {one_line(finding.message)}")
    return lines


def _quiet_lines(verdict: Verdict) -> list[str]:
    """One line counting the findings that do not block (excepted, baselined, existing)."""
    by_status = Counter(f.status for f in verdict.findings if f.status is not None)
    if not by_status:
        return []
    return ["not blocking: " + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))]


def render(verdict: Verdict, *, colour: bool = False) -> str:
    lines = _reason_lines(verdict) + _finding_lines(verdict, colour) + _quiet_lines(verdict)
    lines.extend(f"note: {one_line(note)}" for note in verdict.notes)
    lines.append(_summary(verdict))
    return "\n".join(lines) + "\n"


def one_line(text: str) -> str:
    """``text`` on one line, every character that is not printable made a space."""
    # SECURITY: a message carrying repository text must not move the cursor or fake lines.
    return "".join(c if c.isprintable() else " " for c in text)


def _summary(verdict: Verdict) -> str:
    word = "PASS" if verdict.allowed else "BLOCK"
    if verdict.command == "verify":
        if verdict.allowed:
            subjects = ", ".join(verdict.subjects) or "the artifact"
            return f"{word}: {subjects} may be promoted under policy {verdict.policy}"
        return (
            f"{word}: {len(verdict.reasons)} reason(s) under policy {verdict.policy}; "
            "fix each reason above, then run verify again"
        )
    counts = severity_counts(active(verdict))
    summary = ", ".join(f"{n} {s.value}" for s, n in counts.items()) or "no findings"
    n_block = len(blocking(verdict))
    at = verdict.block_at.value if verdict.block_at else "-"
    if verdict.allowed:
        return f"{word}: {summary} (blocks at {at})"
    return (
        f"{word}: {n_block} finding(s) at or above {at} ({summary}); fix them, add an "
        f"exception with a reason and expiry to the policy, or accept them with --baseline"
    )


__all__ = ["location", "one_line", "render"]
