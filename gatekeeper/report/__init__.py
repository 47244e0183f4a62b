"""Output formats: pure functions from a Verdict to text.

Usage::

    from gatekeeper.report import ReportFormat, render
    print(render(ReportFormat.JSON, verdict))

Renderers read what they say about a rule from its record (``rule_record``): the audits'
rules and the verifier's reason codes; each finding links to its rule's section of the
catalogue (``report.links``). ``python -m gatekeeper.report.catalogue`` renders
docs/rules.md from the same records. The GitHub annotation (``report.github``) and
Markdown (``report.markdown``) modules are used directly by the GitHub integrations.
"""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never

from gatekeeper.models.verdict import Verdict
from gatekeeper.report.base import active, blocking, ranked, rule_record, rule_summary
from gatekeeper.report.text import one_line


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    MARKDOWN = "markdown"


def render(
    fmt: ReportFormat, verdict: Verdict, *, colour: bool = False, quiet: bool = False
) -> str:
    """``verdict`` in ``fmt``. ``colour`` and ``quiet`` shape the text report only: the
    machine formats always carry everything, without escape sequences."""
    if fmt is ReportFormat.TEXT:
        from gatekeeper.report import text

        return text.render(verdict, colour=colour, quiet=quiet)
    if fmt is ReportFormat.JSON:
        from gatekeeper.report import json

        return json.render(verdict)
    if fmt is ReportFormat.SARIF:
        from gatekeeper.report import sarif

        return sarif.render(verdict)
    if fmt is ReportFormat.JUNIT:
        from gatekeeper.report import junit

        return junit.render(verdict)
    if fmt is ReportFormat.MARKDOWN:
        from gatekeeper.report import markdown

        return markdown.render(verdict)
    assert_never(fmt)


__all__ = [
    "ReportFormat",
    "active",
    "blocking",
    "one_line",
    "ranked",
    "render",
    "rule_record",
    "rule_summary",
]
