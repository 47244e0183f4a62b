"""Text report for people: grouped by file, one line per reason, a summary and what to do next.

Each finding and reason is followed by the link to its rule's documentation
(``report.links``). ``quiet`` keeps only what blocks and the summary; ``colour`` adds ANSI
colours (the CLI decides when: a terminal, ``--color``, ``NO_COLOR``, ``FORCE_COLOR``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from itertools import groupby

from gatekeeper.models.suppression import Suppression
from gatekeeper.models.verdict import Verdict
from gatekeeper.report.base import active, blocking, location, severity_counts
from gatekeeper.report.links import catalogue_url, rule_link

_COLOURS = {
    "critical": "\033[1;31m",
    "high": "\033[31m",
    "medium": "\033[33m",
    "low": "\033[36m",
    "info": "\033[2m",
    "link": "\033[2m",
    "bold": "\033[1m",
    "pass": "\033[1;32m",
    "block": "\033[1;31m",
}
_RESET = "\033[0m"
_INDENT = " " * 11  # under the rule column of a finding line
# Without a web address for the catalogue, a link names its section of gatekeeper's
# docs/rules.md; the same text is one command away.
_CATALOGUE_NOTE = (
    "note: `gatekeeper rules RULE` prints a rule's section of docs/rules.md "
    "(GATEKEEPER_RULES_URL makes these links web addresses)"
)


def _painter(colour: bool) -> Callable[[str, str], str]:
    def paint(text: str, key: str) -> str:
        return f"{_COLOURS.get(key, '')}{text}{_RESET}" if colour and key in _COLOURS else text

    return paint


def _link_line(rule: str, paint: Callable[[str, str], str]) -> str:
    return _INDENT + paint(f"see {one_line(rule_link(rule))}", "link")


def _reason_lines(verdict: Verdict, paint: Callable[[str, str], str]) -> list[str]:
    lines = []
    for reason in verdict.reasons:
        stage = f"[{one_line(reason.stage)}] " if reason.stage else ""
        lines.append(f"{paint('BLOCK', 'block')} {reason.code}: {stage}{one_line(reason.message)}")
        lines.append(_link_line(reason.code, paint))
    return lines


def _finding_lines(verdict: Verdict, paint: Callable[[str, str], str], quiet: bool) -> list[str]:
    """Active findings grouped by file; ``x`` marks the ones that decide the verdict."""
    lines: list[str] = []
    blocks = {f.fingerprint for f in blocking(verdict)}
    shown = [
        f for f in verdict.findings if f.status is None and (not quiet or f.fingerprint in blocks)
    ]
    for raw_path, group in groupby(shown, key=lambda f: f.path or "(repository)"):
        # SECURITY: a file name may hold newlines and escape sequences (git allows both).
        lines.append(paint(one_line(raw_path), "bold"))
        for finding in group:
            # The mark says which findings decide the verdict, without relying on colour.
            mark = "x" if finding.fingerprint in blocks else " "
            sev = paint(f"{finding.severity.value:<8}", finding.severity.value)
            where = f"line {finding.line}" if finding.line else "-"
            lines.append(f"{mark} {sev} {finding.rule:<36} {where:<10} {one_line(finding.message)}")
            lines.append(_link_line(finding.rule, paint))
    return lines


def _suppression_line(item: Suppression) -> str:
    until = f" until {item.until.isoformat()}" if item.until else ""
    reason = f": {one_line(item.reason)}" if item.reason else ""
    problem = f" ({one_line(item.problem)})" if item.problem else ""
    where = one_line(f"{item.path}:{item.line}")
    rules = one_line(",".join(item.rules))
    return f"  {where}  {item.status}  ignore[{rules}]{until}{reason}{problem}"


def _suppression_lines(verdict: Verdict) -> list[str]:
    """Every inline suppression found on a finding's line, and what it did."""
    if not verdict.suppressions:
        return []
    counts = Counter(s.status for s in verdict.suppressions)
    head = "inline suppressions: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return [head, *(_suppression_line(s) for s in verdict.suppressions)]


def _quiet_lines(verdict: Verdict) -> list[str]:
    """One line counting the findings that do not block (excepted, suppressed, baselined,
    existing)."""
    by_status = Counter(f.status for f in verdict.findings if f.status is not None)
    if not by_status:
        return []
    return ["not blocking: " + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))]


def render(verdict: Verdict, *, colour: bool = False, quiet: bool = False) -> str:
    paint = _painter(colour)
    lines = _reason_lines(verdict, paint) + _finding_lines(verdict, paint, quiet)
    if not quiet:
        lines += _suppression_lines(verdict) + _quiet_lines(verdict)
        lines.extend(f"note: {one_line(note)}" for note in verdict.notes)
        if (verdict.reasons or any(f.status is None for f in verdict.findings)) and (
            catalogue_url() is None
        ):
            lines.append(_CATALOGUE_NOTE)
    lines.append(_summary(verdict, paint))
    return "\n".join(lines) + "\n"


def one_line(text: str) -> str:
    """``text`` on one line, every character that is not printable made a space."""
    # SECURITY: a message carrying repository text must not move the cursor or fake lines.
    return "".join(c if c.isprintable() else " " for c in text)


def _summary(verdict: Verdict, paint: Callable[[str, str], str]) -> str:
    word = paint("PASS", "pass") if verdict.allowed else paint("BLOCK", "block")
    if verdict.command == "verify":
        if verdict.allowed:
            subjects = ", ".join(verdict.subjects) or "the artifact"
            return f"{word}: {subjects} may be promoted under policy {verdict.policy}"
        return (
            f"{word}: {len(verdict.reasons)} reason(s) under policy {verdict.policy}; "
            "fix each reason above, then run verify again"
        )
    counts = severity_counts(active(verdict))
    # NOTE: suppressed, excepted or baselined findings are listed above as not blocking.
    none = "no active findings" if verdict.findings else "no findings"
    summary = ", ".join(f"{n} {s.value}" for s, n in counts.items()) or none
    n_block = len(blocking(verdict))
    at = verdict.block_at.value if verdict.block_at else "-"
    where = f" in {one_line(verdict.root)}" if verdict.root else ""
    if verdict.allowed:
        return f"{word}: {summary}{where} (blocks at {at})"
    return (
        f"{word}: {n_block} finding(s) at or above {at}{where} ({summary}); fix them, add an "
        "exception with a reason and expiry to the policy (or an inline suppression), or "
        "accept them with --baseline"
    )


__all__ = ["location", "one_line", "render"]
