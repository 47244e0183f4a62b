"""JUnit XML report, in the shape Jenkins' ``junit`` step (and most CI test tabs) reads.

``check`` / ``pr-check``: one ``<testsuite>`` per rule family (``gatekeeper.pipeline``...),
one ``<testcase>`` per rule checked that found nothing (it passes), and one ``<testcase>``
per finding otherwise: a ``<failure>`` when the finding blocks, ``<skipped>`` when it is
excepted, baselined or already on the base, and a passing case with the finding in
``<system-out>`` when it is below the blocking severity. ``verify``: one ``<testcase>`` per
reason (a ``<failure>``), grouped by stage. Every report also has a ``gatekeeper.verdict``
suite whose single case fails on block, so a blocked run is never a green test tab.

No timestamps or durations: the same verdict gives byte-identical XML.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.verdict import Verdict
from gatekeeper.report.base import location, rule_summary
from gatekeeper.report.links import rule_link

# XML 1.0 cannot carry most control characters, even escaped: drop them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)


def _checked_rules(verdict: Verdict) -> list[str]:
    """Rule ids of the audits whose evidence kind this run collected."""
    if not verdict.kinds:
        return []
    from gatekeeper.audit import all_audits

    return sorted(
        rule
        for audit in all_audits()
        if audit.evidence_kind in verdict.kinds
        for rule in audit.rules
    )


class _Suite:
    def __init__(self, name: str) -> None:
        self.element = ET.Element("testsuite", {"name": name})
        self.tests = self.failures = self.skipped = 0

    def case(self, classname: str, name: str) -> ET.Element:
        self.tests += 1
        return ET.SubElement(
            self.element, "testcase", {"classname": classname, "name": _clean(name), "time": "0"}
        )

    def fail(self, case: ET.Element, message: str, kind: str, body: str) -> None:
        self.failures += 1
        failure = ET.SubElement(case, "failure", {"message": _clean(message), "type": kind})
        failure.text = _clean(body)

    def skip(self, case: ET.Element, message: str) -> None:
        self.skipped += 1
        ET.SubElement(case, "skipped", {"message": _clean(message)})

    def finish(self) -> ET.Element:
        self.element.set("tests", str(self.tests))
        self.element.set("failures", str(self.failures))
        self.element.set("errors", "0")
        self.element.set("skipped", str(self.skipped))
        self.element.set("time", "0")
        return self.element


def _finding_body(finding: Finding) -> str:
    return (
        f"{finding.rule} ({finding.severity.value}) at {location(finding)}\n"
        f"{finding.message}\n"
        f"rule: {rule_summary(finding.rule)}\n"
        f"docs: {rule_link(finding.rule)}\n"
        f"fingerprint: {finding.fingerprint}\n"
    )


def _finding_cases(suites: dict[str, _Suite], verdict: Verdict) -> None:
    by_rule: dict[str, list[Finding]] = {}
    for finding in sorted(verdict.findings, key=Finding.sort_key):
        by_rule.setdefault(finding.rule, []).append(finding)
    rules = sorted(set(_checked_rules(verdict)) | set(by_rule))
    block_at = verdict.block_at or Severity.HIGH
    for rule in rules:
        family = rule.split("/", 1)[0]
        suite = suites.setdefault(family, _Suite(f"gatekeeper.{family}"))
        classname = f"gatekeeper.{family}"
        findings = by_rule.get(rule, [])
        if not findings:
            suite.case(classname, rule)
            continue
        for finding in findings:
            where = location(finding)
            case = suite.case(classname, rule if where == "-" else f"{rule} {where}")
            if finding.status is not None:
                suite.skip(case, f"{finding.status}: {finding.message}")
            elif finding.severity.at_least(block_at):
                suite.fail(
                    case,
                    finding.message,
                    f"{finding.rule} ({finding.severity.value})",
                    _finding_body(finding),
                )
            else:
                out = ET.SubElement(case, "system-out")
                out.text = _clean(
                    f"below the blocking severity ({block_at.value}): " + _finding_body(finding)
                )


def _reason_cases(suites: dict[str, _Suite], verdict: Verdict) -> None:
    for reason in sorted(verdict.reasons, key=lambda r: (r.stage or "", r.code, r.message)):
        stage = reason.stage or "policy"
        suite = suites.setdefault(f"verify.{stage}", _Suite(f"gatekeeper.verify.{stage}"))
        case = suite.case(f"gatekeeper.verify.{stage}", f"{reason.code} {stage}")
        suite.fail(
            case,
            reason.message,
            reason.code,
            f"{reason.code} (stage {stage})\n{reason.message}\nblocks when: "
            f"{rule_summary(reason.code)}\ndocs: {rule_link(reason.code)}\n",
        )


def _verdict_suite(verdict: Verdict) -> _Suite:
    suite = _Suite("gatekeeper.verdict")
    subject = f" {', '.join(verdict.subjects)}" if verdict.subjects else ""
    case = suite.case("gatekeeper.verdict", f"{verdict.command}{subject}")
    if not verdict.allowed:
        n = len(verdict.reasons) + len(verdict.blocking_findings())
        suite.fail(
            case,
            f"blocked: {n} blocking reason(s) or finding(s)",
            "gatekeeper/block",
            "\n".join(_verdict_lines(verdict)) + "\n",
        )
    elif verdict.notes:
        out = ET.SubElement(case, "system-out")
        out.text = _clean("\n".join(f"note: {n}" for n in verdict.notes) + "\n")
    return suite


def _verdict_lines(verdict: Verdict) -> Iterable[str]:
    yield f"verdict: {verdict.verdict} (policy {verdict.policy or '-'})"
    for reason in verdict.reasons:
        yield f"{reason.code}: {reason.message}"
    for finding in verdict.blocking_findings():
        yield f"{finding.rule} at {location(finding)}: {finding.message}"
    for note in verdict.notes:
        yield f"note: {note}"


def build(verdict: Verdict) -> ET.Element:
    suites: dict[str, _Suite] = {}
    if verdict.command == "verify":
        _reason_cases(suites, verdict)
        if verdict.allowed:
            suite = suites.setdefault("verify", _Suite("gatekeeper.verify"))
            for subject in verdict.subjects or ["artifact"]:
                suite.case("gatekeeper.verify", f"promote {subject}")
    _finding_cases(suites, verdict)
    root = ET.Element("testsuites", {"name": f"gatekeeper {verdict.command}"})
    ordered = [_verdict_suite(verdict)] + [suites[k] for k in sorted(suites)]
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for suite in ordered:
        root.append(suite.finish())
        totals["tests"] += suite.tests
        totals["failures"] += suite.failures
        totals["skipped"] += suite.skipped
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    root.set("time", "0")
    return root


def render(verdict: Verdict) -> str:
    root = build(verdict)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


__all__ = ["build", "render"]
