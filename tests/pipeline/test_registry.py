"""Every pipeline/ rule is owned by exactly one audit, with a record, and shown in the docs."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.audit import all_audits, all_rule_records
from gatekeeper.collect import kinds

PIPELINE_DOC = Path(__file__).resolve().parents[2] / "docs" / "pipeline.md"


def test_every_pipeline_rule_is_implemented_once_with_a_record() -> None:
    records = {k: v for k, v in all_rule_records().items() if k.startswith("pipeline/")}
    assert len(records) == 28
    owners = [rule for a in all_audits() if a.evidence_kind == "pipeline" for rule in a.rules]
    assert sorted(owners) == sorted(records)


def test_every_pipeline_rule_has_a_section_in_the_pipeline_doc() -> None:
    text = PIPELINE_DOC.read_text(encoding="utf-8")
    headings = {
        line.removeprefix("### ").strip()
        for line in text.splitlines()
        if line.startswith("### pipeline/")
    }
    records = {k for k in all_rule_records() if k.startswith("pipeline/")}
    assert headings == records


def test_pipeline_collector_and_audits_are_registered() -> None:
    assert "pipeline" in kinds()
    modules = {a.__module__ for a in all_audits() if a.evidence_kind == "pipeline"}
    assert modules == {
        "gatekeeper.audit.pipeline_common",
        "gatekeeper.audit.pipeline_github",
        "gatekeeper.audit.pipeline_jenkins",
        "gatekeeper.audit.pipeline_gitlab",
    }


def test_each_audit_module_is_registered_with_the_evidence_kind_it_reads() -> None:
    from gatekeeper import audit

    for audit_cls in all_audits():
        assert audit._KINDS[audit_cls.__module__] == audit_cls.evidence_kind
    assert set(audit._KINDS) == set(audit._MODULES)


def test_a_pipeline_only_run_loads_only_the_pipeline_audits() -> None:
    from gatekeeper.audit import rules_for

    pipeline = rules_for(["pipeline"])
    assert "pipeline/template-injection" in pipeline
    assert not any(rule.startswith(("deps/", "source/", "secrets/")) for rule in pipeline)
