"""Every pipeline/ rule of the catalogue is owned by exactly one audit, at its default severity."""

from __future__ import annotations

import re
from pathlib import Path

from gatekeeper.audit import all_audits, all_rules
from gatekeeper.collect import kinds

CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_every_catalogued_pipeline_rule_is_implemented_at_its_severity() -> None:
    text = CATALOGUE.read_text()
    catalogued = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| (pipeline/[a-z0-9-]+) \|.*\| (\w+) \|$", text, re.MULTILINE)
    }
    implemented = {k: v.value for k, v in all_rules().items() if k.startswith("pipeline/")}
    assert len(catalogued) == 21
    assert implemented == catalogued


def test_pipeline_collector_and_audits_are_registered() -> None:
    assert "pipeline" in kinds()
    modules = {a.__module__ for a in all_audits() if a.evidence_kind == "pipeline"}
    assert modules == {
        "gatekeeper.audit.pipeline_common",
        "gatekeeper.audit.pipeline_github",
        "gatekeeper.audit.pipeline_jenkins",
        "gatekeeper.audit.pipeline_gitlab",
    }
