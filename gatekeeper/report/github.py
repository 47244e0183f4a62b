"""GitHub Actions workflow-command annotations: ``::error file=…,line=…,title=…::message``.

Blocking findings and verify reasons are ``error``; other new findings at medium or above
are ``warning``, below that ``notice``. Findings that do not block because they are
excepted, baselined or already on the base are not annotated (the reports list them).

Escaping follows the runner's rules: in the message ``%``, ``\\r`` and ``\\n`` are
percent-encoded; in properties ``:`` and ``,`` are too. # SECURITY: without this a finding
message taken from the repository could start a new line with its own workflow command.
"""

from __future__ import annotations

from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.verdict import Verdict
from gatekeeper.report.base import ranked


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    title: str | None = None,
) -> str:
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
    if line:
        props.append(f"line={line}")
    if title:
        props.append(f"title={escape_property(title)}")
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{escape_data(message)}"


def level(finding: Finding, blocks: bool) -> str:
    """``error`` when it blocks, else ``warning`` from medium up, else ``notice``."""
    if blocks:
        return "error"
    return "warning" if finding.severity.at_least(Severity.MEDIUM) else "notice"


def annotation_lines(verdict: Verdict) -> list[str]:
    """One workflow command per reason and per new finding, most severe first."""
    lines = [
        command("error", r.message, title=f"{r.code} [{r.stage}]" if r.stage else r.code)
        for r in verdict.reasons
    ]
    lines.extend(
        command(
            level(f, blocks),
            f"{f.message} ({f.severity.value})",
            file=f.path,
            line=f.line,
            title=f.rule,
        )
        for f, blocks in ranked(verdict)
    )
    return lines


def render(verdict: Verdict) -> str:
    lines = annotation_lines(verdict)
    return "\n".join(lines) + "\n" if lines else ""


__all__ = ["annotation_lines", "command", "escape_data", "escape_property", "level", "render"]
