"""Registries: every rule id of the catalogue is implemented exactly once, every audit module
is registered, every report format renders, every collector kind answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gatekeeper import audit, collect
from gatekeeper.audit import all_audits, all_rules
from gatekeeper.models.finding import Severity
from gatekeeper.models.verdict import Reason, Verdict
from gatekeeper.report import ReportFormat, render

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "docs" / "rules.md"
_ROW = re.compile(
    r"^\| ((?:source|pipeline|deps|secrets|container)/[a-z0-9-]+) \|.*\| ([a-z]+) \|$"
)


def _catalogue() -> dict[str, str]:
    rows = {}
    for line in CATALOGUE.read_text().splitlines():
        match = _ROW.match(line.strip())
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def test_catalogue_is_read() -> None:
    assert len(_catalogue()) >= 60


def test_every_catalogued_rule_is_implemented_with_its_default_severity() -> None:
    implemented = all_rules()
    catalogue = _catalogue()
    missing = sorted(set(catalogue) - set(implemented))
    assert missing == []
    for rule_id, default in catalogue.items():
        if default == "advisory":  # deps/known-vulnerability takes the advisory's severity
            continue
        assert implemented[rule_id] == Severity(default), rule_id


def test_no_rule_outside_the_catalogue() -> None:
    assert sorted(set(all_rules()) - set(_catalogue())) == []


def test_every_audit_module_is_registered() -> None:
    modules = {
        f"gatekeeper.audit.{p.stem}"
        for p in (ROOT / "gatekeeper" / "audit").glob("*.py")
        if p.stem not in ("__init__", "base", "rule") and not p.stem.startswith("_")
    }
    assert modules == set(audit._MODULES)
    assert all(cls.rules for cls in all_audits())


def test_every_collector_kind_is_registered() -> None:
    assert set(collect.kinds()) == {"source", "pipeline", "deps", "secrets", "container", "env"}


@pytest.mark.parametrize("fmt", list(ReportFormat))
@pytest.mark.parametrize("command", ["check", "verify"])
def test_every_report_format_renders(fmt: ReportFormat, command: str) -> None:
    from gatekeeper.models.finding import Finding

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
