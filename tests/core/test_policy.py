"""The policy model: the contract in DESIGN.md parses; typos and contradictions are errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gatekeeper.errors import InvalidInput
from gatekeeper.models.policy import parse_duration, parse_size
from gatekeeper.policy import load_policy

DESIGN_EXAMPLE = """\
version: 1
name: release
expires: 2027-06-30T00:00:00Z
max_age: 7d
keys:
  ci: keys/ci.pub
  release-manager: keys/rm.pub
stages:
  - name: source
    signed_by: [ci]
  - name: build
    signed_by: [ci]
    follows: source
  - name: scan
    signed_by: [ci]
    requires: [source, pipeline, deps, secrets]
  - name: release
    signed_by: [ci, release-manager]
    threshold: 2
    follows: build
audits:
  block_at: high
  rules:
    pipeline/unpinned-action: {severity: high}
    deps/new-dependency: off
  require_signed_commits: false
  allowed_identities: []
  approved_pipeline_digests: {}
  allowed_registries: []
exceptions:
  - rule: secrets/generic-assignment
    path: tests/fixtures/**
    reason: test data, not real credentials
    expires: 2027-01-31
"""


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return load_policy(path)[0]


def test_design_example_parses(tmp_path: Path) -> None:
    policy = _load(tmp_path, DESIGN_EXAMPLE)
    assert policy.max_age == timedelta(days=7)  # type: ignore[attr-defined]
    rules = policy.audits.rules  # type: ignore[attr-defined]
    assert rules["deps/new-dependency"].enabled is False
    assert rules["pipeline/unpinned-action"].severity == "high"
    assert policy.exceptions[0].expires.hour == 23  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (("max_age: 7d", "max_age: 7 days"), "not a duration"),
        (("    threshold: 2", "    threshold: 3"), "threshold 3 is more than"),
        (("    follows: source", "    follows: nowhere"), "unknown stage"),
        (("    follows: build", "    follows: release"), "not before it"),
        (
            ("signed_by: [ci]\n  - name: build", "signed_by: [cii]\n  - name: build"),
            "unknown key 'cii'",
        ),
        (("  block_at: high", "  block_at: severe"), "block_at"),
        (("  block_at: high", "  block_at: high\n  blockat: low"), "unknown field"),
        (("version: 1", "version: 2"), "version"),
        (("expires: 2027-06-30T00:00:00Z\n", ""), "expires"),
        (("    requires: [source, pipeline, deps, secrets]", "    requires: [sauce]"), "requires"),
        (("    reason: test data, not real credentials\n", ""), "reason"),
        (("name: release\n", "name: release\nname: again\n"), "duplicate key"),
        (("expires: 2027-06-30T00:00:00Z", "expires: 2027-02-30"), "not a valid date"),
    ],
)
def test_invalid_policies_name_the_problem(
    tmp_path: Path, change: tuple[str, str], needle: str
) -> None:
    text = DESIGN_EXAMPLE.replace(*change, 1)
    assert text != DESIGN_EXAMPLE
    with pytest.raises(InvalidInput) as exc:
        _load(tmp_path, text)
    assert needle in str(exc.value)
    assert "p.yaml" in str(exc.value)


def test_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    bomb = "a: &a [x,x,x,x,x,x,x,x]\n" + "".join(
        f"b{i}: &b{i} [{', '.join(['*a' if i == 0 else f'*b{i - 1}'] * 8)}]\n" for i in range(30)
    )
    with pytest.raises(InvalidInput, match="alias"):
        _load(tmp_path, bomb)


@pytest.mark.parametrize("max_age", ["86400000000000", "99999999999999d", "1000000000d"])
def test_a_duration_longer_than_a_timedelta_is_a_policy_error(tmp_path: Path, max_age: str) -> None:
    """Found by the random-policy property: it overflowed inside validation (an internal
    error) instead of naming the field."""
    text = DESIGN_EXAMPLE.replace("max_age: 7d", f"max_age: {max_age}", 1)
    assert text != DESIGN_EXAMPLE
    with pytest.raises(InvalidInput, match="longer than 999999999 days") as exc:
        _load(tmp_path, text)
    assert "max_age" in str(exc.value)
    assert parse_duration("999999999d") == timedelta(days=999999999)


def test_durations_and_sizes() -> None:
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration(90) == timedelta(seconds=90)
    for bad in ("0d", "-1d", "7", True, "1y"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)
    assert parse_size("5MB") == 5 * 1024 * 1024
    assert parse_size("512k") == 512 * 1024
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")
