"""Markdown for $GITHUB_STEP_SUMMARY: headline, tables, collapsed details, nothing injectable."""

from __future__ import annotations

import re

from gatekeeper.models.finding import Severity
from gatekeeper.models.verdict import Verdict
from gatekeeper.report import ReportFormat, render
from gatekeeper.report.markdown import MAX_ROWS, escape
from tests.report.conftest import finding


def test_check_block(check_verdict: Verdict) -> None:
    text = render(ReportFormat.MARKDOWN, check_verdict)
    lines = text.splitlines()
    assert lines[0] == "## ❌ gatekeeper check: BLOCK (policy `release`)"
    assert "**2** finding(s) at or above **high**" in text
    blocking = text.split("### Blocking", 1)[1].split("<details>", 1)[0]
    assert "| critical | `secrets/github-token` | `config/app.env:3` |" in blocking
    assert "`source/history-rewrite`" in blocking
    assert "pipeline/unpinned-action" not in blocking
    assert "<details><summary>Below the blocking severity (1)</summary>" in text
    assert (
        "<details><summary>Not blocking: existing on the base, excepted, suppressed or baselined (2)"
        in text
    )
    assert "| excepted | high | `secrets/generic-assignment`" in text
    assert "| existing | high | `deps/downgrade`" in text
    assert "- OSV API not consulted \\(offline\\)" in text


def test_check_pass(pass_verdict: Verdict) -> None:
    text = render(ReportFormat.MARKDOWN, pass_verdict)
    assert text.startswith("## ✅ gatekeeper check: PASS")
    assert "no new findings; nothing at or above **high**." in text
    assert "|" not in text


def test_verify(verify_block: Verdict, verify_pass: Verdict) -> None:
    text = render(ReportFormat.MARKDOWN, verify_block)
    assert text.startswith("## ❌ gatekeeper verify: BLOCK")
    assert "| `verify/missing-stage` | scan | no attestation for stage scan |" in text
    assert "2 reason(s) block promotion of `dist/app.tar.gz`" in text
    ok = render(ReportFormat.MARKDOWN, verify_pass)
    assert "`dist/app.tar.gz` may be promoted" in ok


def test_untrusted_text_is_inert() -> None:
    hostile = "x | <img src=x onerror=alert(1)> [link](http://evil) @admin\n## heading"
    f = finding("pipeline/parse-error", Severity.HIGH, hostile, "a|b`c.yml", 1)
    verdict = Verdict(command="check", verdict="block", findings=[f], block_at=Severity.HIGH)
    text = render(ReportFormat.MARKDOWN, verdict)
    row = next(line for line in text.splitlines() if "parse-error" in line)
    assert "<img" not in row and "&lt;img" in row
    assert "\\[link\\]\\(http://evil\\)" in row
    assert "@admin" not in row
    assert "\n## heading" not in text
    # The pipe inside the cell is escaped, so the row keeps exactly its 4 cells.
    assert len(re.findall(r"(?<!\\)\|", row)) == 5
    assert escape("a|b") == "a\\|b"


def test_long_tables_are_capped() -> None:
    many = [
        finding("secrets/jwt", Severity.HIGH, f"jwt {i}", f"f{i:04}.txt", 1)
        for i in range(MAX_ROWS + 5)
    ]
    verdict = Verdict(command="check", verdict="block", findings=many, block_at=Severity.HIGH)
    text = render(ReportFormat.MARKDOWN, verdict)
    assert text.count("`secrets/jwt`") == MAX_ROWS
    assert "… and 5 more" in text
