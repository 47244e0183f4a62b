"""Workflow-command annotations and their escaping."""

from __future__ import annotations

from gatekeeper.models.finding import Severity
from gatekeeper.models.verdict import Verdict
from gatekeeper.report.github import annotation_lines, command, escape_data, escape_property, render
from tests.report.conftest import finding


def test_escaping_rules() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    assert command("error", "m", file="dir/x,y:z.yml", line=4, title="r/x") == (
        "::error file=dir/x%2Cy%3Az.yml,line=4,title=r/x::m"
    )
    assert command("notice", "plain") == "::notice::plain"


def test_check_annotations(check_verdict: Verdict) -> None:
    lines = annotation_lines(check_verdict)
    assert lines[0] == (
        "::error file=config/app.env,line=3,title=secrets/github-token::"
        "GitHub token ghp_…(40 chars) (critical)"
    )
    assert lines[1] == (
        "::error title=source/history-rewrite::the base is not an ancestor of HEAD (high)"
    )
    assert lines[2].startswith(
        "::warning file=.github/workflows/ci.yml,line=12,title=pipeline/unpinned-action::"
    )
    # Excepted and existing findings are not annotated.
    assert len(lines) == 3


def test_low_is_notice_and_pass_is_silent(pass_verdict: Verdict) -> None:
    low = finding("source/executable-added", Severity.LOW, "x gains +x", "x.sh")
    verdict = Verdict(command="check", verdict="pass", findings=[low], block_at=Severity.HIGH)
    assert annotation_lines(verdict) == [
        "::notice file=x.sh,title=source/executable-added::x gains +x (low)"
    ]
    assert render(pass_verdict) == ""


def test_verify_reasons(verify_block: Verdict) -> None:
    assert annotation_lines(verify_block) == [
        "::error title=verify/missing-stage [scan]::no attestation for stage scan",
        "::error title=verify/threshold [release]::1 of 2 trusted keys signed",
    ]


def test_message_cannot_inject_a_command() -> None:
    evil = finding(
        "pipeline/parse-error",
        Severity.HIGH,
        "oops\n::add-mask::x\n::set-env name=A::b",
        "w.yml",
        1,
    )
    verdict = Verdict(command="check", verdict="block", findings=[evil], block_at=Severity.HIGH)
    out = render(verdict)
    assert out.count("\n") == 1
    assert out.startswith("::error ")
    assert "%0A::add-mask::x%0A::set-env" in out


def test_check_run_annotations_match_workflow_commands(check_verdict: Verdict) -> None:
    # pr-check's check-run annotations and the Action's workflow commands rank and grade
    # findings the same way (one definition in report.base.ranked and report.github.level).
    from gatekeeper.github.prcheck import annotations_for

    extra = finding("deps/unpinned", Severity.LOW, "flask>=2", "requirements.txt", 2)
    verdict = check_verdict.model_copy(update={"findings": [*check_verdict.findings, extra]})
    commands = [
        (line.split(" ", 1)[0][2:], line.split("title=", 1)[1].split("::", 1)[0])
        for line in annotation_lines(verdict)
        if "file=" in line
    ]
    check_run = [
        ({"failure": "error"}.get(a["annotation_level"], a["annotation_level"]), a["title"])
        for a in annotations_for(verdict)
    ]
    assert check_run == commands
    assert check_run[0] == ("error", "secrets/github-token")
    assert ("notice", "deps/unpinned") in check_run
