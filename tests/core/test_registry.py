"""Registries: every rule is declared once as a record with help, every audit module is
registered and contributes, docs/rules.md is what the records generate, every verifier code
the package emits is declared, every report format renders, every collector kind answers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gatekeeper import audit, collect
from gatekeeper.audit import all_audits, all_rule_records, all_rules
from gatekeeper.audit.rule import RULE_ID, Rule, RuleSet
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.verdict import Reason, Verdict
from gatekeeper.report import ReportFormat, render
from gatekeeper.report.catalogue import main as catalogue_main
from gatekeeper.report.catalogue import render_catalogue
from gatekeeper.verify.codes import REASON_CODES

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "docs" / "rules.md"
FAMILIES = {"source", "pipeline", "deps", "secrets", "container"}
# Modules of gatekeeper/audit/ that hold shared machinery, not audits.
_NOT_AUDIT_MODULES = {"__init__", "base", "rule"}


def _records() -> list[Rule]:
    return [*all_rule_records().values(), *REASON_CODES]


def test_rule_ids_are_unique_and_in_family_kebab_form() -> None:
    ids = [r.id for r in _records()]
    assert len(ids) == len(set(ids))
    for rule in _records():
        assert RULE_ID.match(rule.id), rule.id
        assert rule.family in FAMILIES | {"verify"}, rule.id
    assert {r.family for r in all_rule_records().values()} == FAMILIES
    assert {r.family for r in REASON_CODES} == {"verify"}


def test_a_malformed_id_does_not_match_the_form() -> None:
    for bad in ("pipeline/Unpinned", "pipeline/unpinned_action", "pipeline", "a/b--c", "/x"):
        assert not RULE_ID.match(bad), bad


def test_every_record_has_a_summary_help_and_a_unique_anchor() -> None:
    anchors = [r.anchor for r in _records()]
    assert len(anchors) == len(set(anchors))
    for rule in _records():
        assert rule.summary.strip() and not rule.summary.endswith("."), rule.id
        # The help says why it matters and what to do: full sentences, longer than the summary.
        assert rule.help.endswith(".") and len(rule.help) >= 80, rule.id
        assert re.fullmatch(r"[a-z0-9-]+", rule.anchor), rule.id


def test_every_audit_module_is_registered_and_contributes() -> None:
    modules = {
        f"gatekeeper.audit.{p.stem}"
        for p in (ROOT / "gatekeeper" / "audit").glob("*.py")
        if p.stem not in _NOT_AUDIT_MODULES and not p.stem.startswith("_")
    }
    assert modules == set(audit._MODULES)
    contributing = {a.__module__ for a in all_audits()}
    assert contributing == modules
    for cls in all_audits():
        assert isinstance(cls.rules, RuleSet) and len(cls.rules) >= 1, cls.__name__
        assert cls.summary.strip(), cls.__name__


def test_all_rules_reads_as_default_severities() -> None:
    rules = all_rules()
    assert len(rules) >= 60
    assert rules == {r.id: r.severity for r in all_rule_records().values()}
    assert rules["pipeline/untrusted-checkout"] is Severity.CRITICAL
    assert rules["source/unsigned-commit"] is Severity.INFO


def test_a_rule_set_refuses_a_duplicate_and_reads_as_a_mapping() -> None:
    one = Rule("x/one", Severity.LOW, summary="s", help="h")
    with pytest.raises(ValueError, match="twice"):
        RuleSet(one, one)
    rules = RuleSet(one)
    assert rules == {"x/one": Severity.LOW}
    assert rules.record("x/one") is one and rules.records == (one,)


def test_a_finding_from_a_record_takes_its_id_and_default_severity() -> None:
    rule = Rule("x/one", Severity.MEDIUM, summary="s", help="h")
    default = rule.finding("m", path="a", key="k")
    assert (default.rule, default.severity) == ("x/one", Severity.MEDIUM)
    assert rule.finding("m", severity=Severity.LOW, path="a", key="k").severity is Severity.LOW
    assert (
        default.fingerprint
        == Finding.make("x/one", Severity.HIGH, "other", path="a", key="k").fingerprint
    )


def test_docs_rules_md_is_what_the_records_generate() -> None:
    # Regenerate with: python -m gatekeeper.report.catalogue --write docs/rules.md
    assert CATALOGUE.read_text(encoding="utf-8") == render_catalogue()


def test_the_catalogue_lists_every_rule_with_its_default_and_anchor() -> None:
    text = render_catalogue()
    for rule in all_rule_records().values():
        assert f"| [{rule.id}](#{rule.anchor}) |" in text
        row = next(line for line in text.splitlines() if line.startswith(f"| [{rule.id}]"))
        assert row.endswith(f"| {rule.default_text} |")
        assert f'<a id="{rule.anchor}"></a>`{rule.id}`' in text
    assert "| advisory |" in text  # deps/known-vulnerability takes each advisory's severity
    for code in REASON_CODES:
        assert f"| [{code.id}](#{code.anchor}) |" in text


def test_the_catalogue_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "rules.md"
    assert catalogue_main(["--write", str(stale)]) == 0
    assert catalogue_main(["--check", str(stale)]) == 0
    stale.write_text(stale.read_text().replace("| high |", "| low |", 1))
    assert catalogue_main(["--check", str(stale)]) == 1


def test_the_catalogue_refuses_a_record_of_an_unknown_family() -> None:
    with pytest.raises(ValueError, match="family"):
        render_catalogue([Rule("nope/x", Severity.LOW, summary="s", help="h")])


def _emitted_reason_codes() -> set[str]:
    """Every ``verify/...`` string literal in the package (outside the code records)."""
    codes: set[str] = set()
    for path in (ROOT / "gatekeeper").rglob("*.py"):
        if path.name == "codes.py" and path.parent.name == "verify":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.fullmatch(r"verify/[a-z0-9]+(?:-[a-z0-9]+)*", node.value):
                    codes.add(node.value)
    return codes


def test_every_reason_code_the_package_emits_is_declared_and_only_those() -> None:
    declared = {code.id for code in REASON_CODES}
    emitted = _emitted_reason_codes()
    assert len(emitted) >= 20
    assert emitted == declared


def test_every_collector_kind_is_registered() -> None:
    assert set(collect.kinds()) == {"source", "pipeline", "deps", "secrets", "container", "env"}


@pytest.mark.parametrize("fmt", list(ReportFormat))
@pytest.mark.parametrize("command", ["check", "verify"])
def test_every_report_format_renders(fmt: ReportFormat, command: str) -> None:
    verdict = Verdict(
        command=command,
        verdict="block",
        block_at=Severity.HIGH,
        policy="p",
        reasons=[Reason(code="verify/stale", message="old", stage="build")]
        if command == "verify"
        else [],
        findings=[
            Finding.make("secrets/github-token", Severity.CRITICAL, "token", path="a.env", line=2)
        ]
        if command == "check"
        else [],
    )
    text = render(fmt, verdict)
    assert text.strip()
    assert (
        ("stale" in text or "verify/stale" in text)
        if command == "verify"
        else "secrets/github-token" in text
    )


@pytest.mark.parametrize("package", ["gatekeeper.audit", "gatekeeper.report"])
def test_the_public_surface_is_curated_and_importable(package: str) -> None:
    import importlib

    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
