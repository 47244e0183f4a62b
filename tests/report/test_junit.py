"""JUnit XML as Jenkins' junit step reads it: testsuites, testsuite, testcase, failure, skipped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from gatekeeper.audit import all_audits
from gatekeeper.models.finding import Severity
from gatekeeper.models.verdict import Verdict
from gatekeeper.report import ReportFormat, render
from tests.report.conftest import finding


def _parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(text.encode("utf-8"))  # noqa: S314 - our own output, not untrusted


def _cases(root: ET.Element) -> dict[str, ET.Element]:
    return {c.get("name", ""): c for c in root.iter("testcase")}


def _assert_counts_consistent(root: ET.Element) -> None:
    # Jenkins trusts the elements, other readers trust the attributes: they must agree.
    total = {"tests": 0, "failures": 0, "skipped": 0}
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        failures = sum(1 for c in cases if c.find("failure") is not None)
        skipped = sum(1 for c in cases if c.find("skipped") is not None)
        assert suite.get("tests") == str(len(cases))
        assert suite.get("failures") == str(failures)
        assert suite.get("skipped") == str(skipped)
        assert suite.get("errors") == "0"
        total["tests"] += len(cases)
        total["failures"] += failures
        total["skipped"] += skipped
        for case in cases:
            assert case.get("classname") and case.get("name")
    for key, value in total.items():
        assert root.get(key) == str(value)


def test_check_block(check_verdict: Verdict) -> None:
    root = _parse(render(ReportFormat.JUNIT, check_verdict))
    assert root.tag == "testsuites"
    _assert_counts_consistent(root)
    cases = _cases(root)
    token = cases["secrets/github-token config/app.env:3"]
    failure = token.find("failure")
    assert failure is not None
    assert failure.get("type") == "secrets/github-token (critical)"
    assert "fingerprint:" in (failure.text or "")
    # Pathless finding: named by its rule.
    assert cases["source/history-rewrite"].find("failure") is not None
    # Excepted and existing findings are skipped, not failures.
    skipped = cases["secrets/generic-assignment tests/fixtures/conf.py:7"].find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith("excepted")
    assert cases["deps/downgrade requirements.txt:1"].find("skipped") is not None
    # Below the blocking severity: passes, the finding is in system-out.
    below = cases["pipeline/unpinned-action .github/workflows/ci.yml:12"]
    assert below.find("failure") is None and below.find("skipped") is None
    assert "below the blocking severity" in (below.findtext("system-out") or "")
    # The verdict suite fails on block.
    verdict_case = root.find("testsuite[@name='gatekeeper.verdict']/testcase")
    assert verdict_case is not None and verdict_case.find("failure") is not None
    assert root.get("failures") == "3"  # two blocking findings + the verdict


def test_checked_rules_without_findings_pass(check_verdict: Verdict) -> None:
    root = _parse(render(ReportFormat.JUNIT, check_verdict))
    cases = _cases(root)
    source_rules = next(a.rules for a in all_audits() if a.evidence_kind == "source")
    for rule in source_rules:
        if rule == "source/history-rewrite":
            continue
        case = cases[rule]
        assert case.get("classname") == "gatekeeper.source"
        assert list(case) == []  # no failure, no skipped: a pass


def test_kinds_not_collected_are_not_listed_as_passing(check_verdict: Verdict) -> None:
    verdict = check_verdict.model_copy(update={"kinds": []})
    names = set(_cases(_parse(render(ReportFormat.JUNIT, verdict))))
    assert "source/unsigned-commit" not in names


def test_check_pass(pass_verdict: Verdict) -> None:
    root = _parse(render(ReportFormat.JUNIT, pass_verdict))
    _assert_counts_consistent(root)
    assert root.get("failures") == "0"
    assert int(root.get("tests", "0")) >= 2


def test_verify_block_one_case_per_reason(verify_block: Verdict) -> None:
    root = _parse(render(ReportFormat.JUNIT, verify_block))
    _assert_counts_consistent(root)
    cases = _cases(root)
    assert cases["verify/missing-stage scan"].find("failure") is not None
    assert cases["verify/missing-stage scan"].get("classname") == "gatekeeper.verify.scan"
    assert cases["verify/threshold release"].find("failure").get("type") == "verify/threshold"
    assert root.get("failures") == "3"


def test_verify_pass(verify_pass: Verdict) -> None:
    root = _parse(render(ReportFormat.JUNIT, verify_pass))
    _assert_counts_consistent(root)
    assert root.get("failures") == "0"
    assert "promote dist/app.tar.gz" in _cases(root)


def test_hostile_text_stays_well_formed() -> None:
    nasty = finding(
        "pipeline/parse-error", Severity.HIGH, 'bad <x> & "q" ]]> \x00\x1b[31m end', "a&b<c>.yml", 2
    )
    verdict = Verdict(command="check", verdict="block", findings=[nasty], block_at=Severity.HIGH)
    text = render(ReportFormat.JUNIT, verdict)
    root = _parse(text)
    failure = _cases(root)["pipeline/parse-error a&b<c>.yml:2"].find("failure")
    assert failure is not None
    assert failure.get("message") == 'bad <x> & "q" ]]> [31m end'
    assert "a&b<c>.yml" in _cases(root)["pipeline/parse-error a&b<c>.yml:2"].get("name", "")


def test_deterministic(check_verdict: Verdict) -> None:
    assert render(ReportFormat.JUNIT, check_verdict) == render(ReportFormat.JUNIT, check_verdict)
