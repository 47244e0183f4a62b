"""Text for people: grouped by file, coloured only when asked (a TTY), summary and next steps."""

from __future__ import annotations

from gatekeeper.models.finding import Severity
from gatekeeper.models.verdict import Verdict
from gatekeeper.report import ReportFormat, render
from tests.report.conftest import finding


def test_grouped_by_file_with_summary(check_verdict: Verdict) -> None:
    text = render(ReportFormat.TEXT, check_verdict)
    lines = text.splitlines()
    assert "\033[" not in text
    i = lines.index(".github/workflows/ci.yml")
    assert "pipeline/unpinned-action" in lines[i + 1] and lines[i + 1].startswith("  ")
    j = lines.index("config/app.env")
    assert lines[j + 1].startswith("x critical")  # x marks what blocks
    assert "(repository)" in lines
    assert "not blocking: 1 excepted, 1 existing" in lines
    assert "note: OSV API not consulted (offline)" in lines
    assert lines[-1].startswith("BLOCK: 2 finding(s) at or above high")
    assert "--baseline" in lines[-1]


def test_colour_only_when_asked(check_verdict: Verdict) -> None:
    coloured = render(ReportFormat.TEXT, check_verdict, colour=True)
    assert "\033[1;31mcritical" in coloured


def test_control_characters_are_neutralised() -> None:
    f = finding("pipeline/parse-error", Severity.HIGH, "bad\x1b[2J\rline\nnext", "a.yml", 1)
    verdict = Verdict(command="check", verdict="block", findings=[f], block_at=Severity.HIGH)
    text = render(ReportFormat.TEXT, verdict)
    assert "\x1b" not in text and "\r" not in text
    assert "bad [2J line next" in text


def test_verify_text(verify_block: Verdict, verify_pass: Verdict) -> None:
    text = render(ReportFormat.TEXT, verify_block)
    assert "BLOCK verify/missing-stage: [scan] no attestation for stage scan" in text
    assert "fix each reason above" in text
    assert "may be promoted" in render(ReportFormat.TEXT, verify_pass)


def test_every_format_renders(check_verdict: Verdict, verify_block: Verdict) -> None:
    for fmt in ReportFormat:
        for verdict in (check_verdict, verify_block):
            assert render(fmt, verdict).strip() or fmt is ReportFormat.TEXT


def test_file_names_cannot_fake_lines_or_move_the_cursor() -> None:
    # git allows a newline and ESC in a file name; the text report must not print them raw.
    path = "a.yml\nPASS: no findings\x1b[2J"
    f = finding("pipeline/parse-error", Severity.HIGH, "m", path, 1)
    verdict = Verdict(command="check", verdict="block", findings=[f], block_at=Severity.HIGH)
    text = render(ReportFormat.TEXT, verdict)
    assert "\x1b" not in text
    assert "PASS: no findings" not in text.splitlines()
    assert "a.yml PASS: no findings [2J" in text.splitlines()
