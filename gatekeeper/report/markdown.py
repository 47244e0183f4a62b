"""Markdown report for ``$GITHUB_STEP_SUMMARY``, pull-request comments and check-run output.

A headline with the verdict, a one-line summary, a table of what blocks (reasons for
``verify``, findings for ``check`` / ``pr-check``), and collapsed sections for findings that
do not block, for inline suppressions and for notes. Each rule id links to its section of
the rule catalogue when the catalogue's web address is known (``report.links``; otherwise a
footer names the page). Everything taken from the repository (paths, messages, reasons) is
escaped: a finding message must not be able to inject HTML, links or table cells.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from gatekeeper.models.finding import Finding
from gatekeeper.models.suppression import Suppression
from gatekeeper.models.verdict import Verdict
from gatekeeper.report.base import active, blocking, location, severity_counts
from gatekeeper.report.links import RULES_DOC, rule_url

# GitHub caps a step summary at 1 MiB; a table this long is unreadable anyway.
MAX_ROWS = 200

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def escape(text: str) -> str:
    """Make untrusted text inert inside a Markdown table cell."""
    text = text.replace("\r", " ").replace("\n", " ")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    # SECURITY: no @mentions or #references pinging people from a finding message.
    return text.replace("@", "&#64;")


def _code(text: str) -> str:
    # Inline code cannot be escaped with backslashes; use a fence longer than any run inside.
    clean = text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", clean)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if clean.startswith("`") or clean.endswith("`") else ""
    return f"{fence}{pad}{clean}{pad}{fence}"


def _rule(rule_id: str) -> str:
    """The rule id as code, linked to its section of the catalogue when that has an address."""
    url = rule_url(rule_id)
    if url is None:
        return _code(rule_id)
    # The URL comes from the environment or the install, never from the repository; quote
    # what could end the link anyway.
    return f"[{_code(rule_id)}]({quote(url, safe=':/#?=&.~-_%')})"


def _finding_table(findings: list[Finding], with_status: bool = False) -> list[str]:
    head = "| Severity | Rule | Location | Message |"
    sep = "|---|---|---|---|"
    if with_status:
        head, sep = "| Status " + head, "|---" + sep
    lines = [head, sep]
    for finding in findings[:MAX_ROWS]:
        cells = [
            finding.severity.value,
            _rule(finding.rule),
            _code(location(finding)),
            escape(finding.message),
        ]
        if with_status:
            cells.insert(0, finding.status or "new")
        lines.append("| " + " | ".join(cells) + " |")
    if len(findings) > MAX_ROWS:
        lines.append(f"\n… and {len(findings) - MAX_ROWS} more (see the JSON or SARIF report)")
    return lines


def _headline(verdict: Verdict) -> str:
    icon, word = ("✅", "PASS") if verdict.allowed else ("❌", "BLOCK")
    policy = f" (policy {_code(verdict.policy)})" if verdict.policy else ""
    return f"## {icon} gatekeeper {verdict.command}: {word}{policy}"


def _summary(verdict: Verdict) -> str:
    if verdict.command == "verify":
        subjects = ", ".join(_code(s) for s in verdict.subjects) or "the artifact"
        if verdict.allowed:
            return f"{subjects} may be promoted: every required stage is attested and signed."
        return (
            f"{len(verdict.reasons)} reason(s) block promotion of {subjects}. Fix each one, "
            "then run `gatekeeper verify` again."
        )
    counts = severity_counts(active(verdict))
    summary = ", ".join(f"{n} {s.value}" for s, n in counts.items()) or "no new findings"
    at = verdict.block_at.value if verdict.block_at else "-"
    n_block = len(blocking(verdict))
    if verdict.allowed:
        return f"{summary}; nothing at or above **{at}**."
    return (
        f"**{n_block}** finding(s) at or above **{at}** ({summary}). Fix them, add a policy "
        "exception with a reason and an expiry, or accept them with `--baseline`."
    )


def _reason_table(verdict: Verdict) -> list[str]:
    if not verdict.reasons:
        return []
    lines = ["| Code | Stage | Reason |", "|---|---|---|"]
    lines += [
        f"| {_rule(r.code)} | {escape(r.stage or '-')} | {escape(r.message)} |"
        for r in verdict.reasons[:MAX_ROWS]
    ]
    if len(verdict.reasons) > MAX_ROWS:
        lines.append(f"\n… and {len(verdict.reasons) - MAX_ROWS} more")
    return [*lines, ""]


def _details(summary: str, body: list[str]) -> list[str]:
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>", ""]


def _finding_sections(verdict: Verdict) -> list[str]:
    """Blocking findings in the open; those below the threshold and quiet ones collapsed."""
    lines: list[str] = []
    blocks = blocking(verdict)
    if blocks:
        lines += ["### Blocking", "", *_finding_table(blocks), ""]
    blocking_fps = {f.fingerprint for f in blocks}
    below = [f for f in active(verdict) if f.fingerprint not in blocking_fps]
    if below:
        lines += _details(f"Below the blocking severity ({len(below)})", _finding_table(below))
    quiet = [f for f in verdict.findings if f.status is not None]
    if quiet:
        lines += _details(
            f"Not blocking: existing on the base, excepted, suppressed or baselined ({len(quiet)})",
            _finding_table(quiet, with_status=True),
        )
    return lines


def _suppression_row(item: Suppression) -> str:
    cells = [
        item.status,
        _code(f"{item.path}:{item.line}"),
        ", ".join(_code(r) for r in item.rules) or "-",
        item.until.isoformat() if item.until else "-",
        escape(item.reason) or "-",
        escape(item.problem or ""),
    ]
    return "| " + " | ".join(cells) + " |"


def _suppression_section(verdict: Verdict) -> list[str]:
    if not verdict.suppressions:
        return []
    rows = [
        "| Status | Location | Rules | Until | Reason | Why not applied |",
        "|---|---|---|---|---|---|",
        *(_suppression_row(s) for s in verdict.suppressions[:MAX_ROWS]),
    ]
    return _details(f"Inline suppressions ({len(verdict.suppressions)})", rows)


def _docs_footer(verdict: Verdict) -> list[str]:
    ids = [r.code for r in verdict.reasons] + [f.rule for f in verdict.findings]
    if not ids or any(rule_url(i) is not None for i in ids):
        return []
    return [
        f"Each rule id is described in gatekeeper's `{RULES_DOC}` "
        "(`gatekeeper rules RULE` prints its section).",
        "",
    ]


def render(verdict: Verdict) -> str:
    lines = [_headline(verdict), "", _summary(verdict), ""]
    lines += _reason_table(verdict)
    lines += _finding_sections(verdict)
    lines += _suppression_section(verdict)
    if verdict.notes:
        notes = [f"- {escape(note)}" for note in verdict.notes]
        lines += _details(f"Notes ({len(verdict.notes)})", notes)
    lines += _docs_footer(verdict)
    return "\n".join(lines).rstrip("\n") + "\n"


__all__ = ["escape", "render"]
