"""Policy application to findings: overrides, exceptions with expiry, baseline, base-existing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gatekeeper.errors import InvalidInput
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.policy import Policy
from gatekeeper.policy import apply_policy, decide_findings, load_baseline, write_baseline

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _policy(**extra: object) -> Policy:
    return Policy.model_validate({"version": 1, "name": "p", "expires": "2099-01-01", **extra})


def _f(
    rule: str = "secrets/generic-assignment",
    sev: Severity = Severity.HIGH,
    path: str = "app/config.yaml",
) -> Finding:
    return Finding.make(rule, sev, "m", path=path, line=1, key=rule + path)


def test_off_and_severity_overrides() -> None:
    policy = _policy(
        audits={
            "rules": {
                "deps/new-dependency": "off",
                "pipeline/unpinned-action": {"severity": "critical"},
            }
        }
    )
    out, _ = apply_policy(
        [_f("deps/new-dependency", Severity.INFO), _f("pipeline/unpinned-action", Severity.MEDIUM)],
        policy,
        now=NOW,
    )
    assert [(f.rule, f.severity) for f in out] == [("pipeline/unpinned-action", Severity.CRITICAL)]


def test_exception_by_rule_and_path_glob() -> None:
    policy = _policy(
        exceptions=[
            {
                "rule": "secrets/*",
                "path": "tests/fixtures/**",
                "reason": "fake",
                "expires": "2027-01-31",
            }
        ]
    )
    inside, outside = _f(path="tests/fixtures/deep/a.env"), _f(path="src/a.env")
    out, notes = apply_policy([inside, outside], policy, now=NOW)
    status = {f.path: f.status for f in out}
    assert status == {"tests/fixtures/deep/a.env": "excepted", "src/a.env": None}
    assert notes == []
    assert decide_findings("check", out, policy).verdict == "block"


def test_expired_exception_excuses_nothing_and_says_so() -> None:
    policy = _policy(
        exceptions=[
            {
                "rule": "secrets/generic-assignment",
                "path": "**",
                "reason": "old",
                "expires": "2026-01-31",
            }
        ]
    )
    out, notes = apply_policy([_f()], policy, now=NOW)
    assert out[0].status is None
    assert "expired 2026-01-31" in notes[0]


def test_fingerprint_exception_is_exact() -> None:
    target, other = _f(path="a.yaml"), _f(path="b.yaml")
    policy = _policy(
        exceptions=[
            {
                "rule": target.rule,
                "fingerprint": target.fingerprint,
                "reason": "reviewed",
                "expires": "2027-01-01",
            }
        ]
    )
    out, _ = apply_policy([target, other], policy, now=NOW)
    assert {f.path: f.status for f in out} == {"a.yaml": "excepted", "b.yaml": None}


def test_baseline_round_trip(tmp_path: Path) -> None:
    accepted, new = _f(path="old.yaml"), _f(path="new.yaml")
    path = tmp_path / "baseline.json"
    assert write_baseline(path, [accepted, accepted]) == 1
    baseline = load_baseline(path)
    out, _ = apply_policy([accepted, new], _policy(), now=NOW, baseline=baseline)
    assert {f.path: f.status for f in out} == {"old.yaml": "baseline", "new.yaml": None}
    path.write_text('{"version": 1, "findings": [{"fingerprint": "zz", "rule": "x/y"}]}')
    with pytest.raises(InvalidInput, match="not a gatekeeper baseline"):
        load_baseline(path)


def test_existing_on_base_does_not_block() -> None:
    old = _f(path="old.yaml")
    out, _ = apply_policy([old], _policy(), now=NOW, existing={old.fingerprint})
    assert out[0].status == "existing"
    assert decide_findings("check", out, _policy()).verdict == "pass"


def test_block_at_threshold() -> None:
    findings = [_f(sev=Severity.MEDIUM)]
    assert decide_findings("check", findings, _policy()).verdict == "pass"
    assert (
        decide_findings("check", findings, _policy(audits={"block_at": "medium"})).verdict
        == "block"
    )


def test_status_is_one_of_the_known_values() -> None:
    from pydantic import ValidationError

    finding = _f()
    data = finding.model_dump()
    data["status"] = "new"  # not a status: a crafted value must not make a finding harmless
    with pytest.raises(ValidationError):
        Finding.model_validate(data)
    assert finding.blocks(Severity.HIGH)
    assert not finding.model_copy(update={"status": "baseline"}).blocks(Severity.HIGH)
