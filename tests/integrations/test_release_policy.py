"""The shipped release policy as a user meets it: validate it, then verify against it.

`policies/release.yaml` names its keys relative to itself; a user who runs
`gatekeeper policy validate policies/release.yaml` before putting the keys there must be told
where the file was looked for and why. `verify` names every stage the store lacks in one run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gatekeeper.attest.keys import write_keypair
from gatekeeper.cli import main
from gatekeeper.policy import parse_policy
from tests.harness import Pipeline, codes

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "policies" / "release.yaml"


def test_validate_before_the_keys_exist_says_where_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "policies").mkdir()
    shutil.copy(RELEASE, tmp_path / "policies" / "release.yaml")
    monkeypatch.chdir(tmp_path)
    assert main(["policy", "validate", "policies/release.yaml"]) == 2
    err = capsys.readouterr().err
    assert "policies/keys/ci.pub" in err
    assert "relative to the policy file" in err and "policies/" in err


def test_the_shipped_policy_validates_once_its_keys_are_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = parse_policy(RELEASE.read_bytes(), "release.yaml")
    (tmp_path / "policies").mkdir()
    shutil.copy(RELEASE, tmp_path / "policies" / "release.yaml")
    private = tmp_path / "private"
    for name, ref in policy.keys.items():
        write_keypair(private / name, "ed25519")
        target = tmp_path / "policies" / ref
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(private / f"{name}.pub", target)
    monkeypatch.chdir(tmp_path)
    assert main(["policy", "validate", "policies/release.yaml"]) == 0
    out = capsys.readouterr().out
    assert "policy release is valid" in out
    for stage in policy.stages:
        assert f"stage {stage.name}:" in out


def test_an_absolute_key_path_that_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.yaml"
    missing = tmp_path / "nowhere" / "ci.pub"
    policy.write_text(
        f"version: 1\nname: p\nexpires: 2099-01-01\nkeys: {{ci: {missing}}}\n"
        "stages:\n  - {name: build, signed_by: [ci]}\n"
    )
    assert main(["policy", "validate", str(policy)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "no such key file" in err


def test_verify_names_every_missing_stage_in_one_run(pipeline: Pipeline) -> None:
    artifact = pipeline.build_artifact()
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/missing-stage"}
    assert [r.stage for r in verdict.reasons] == ["source", "build", "release"]
    # Some stages there, the final one not: the others that are missing are named too.
    pipeline.attest("build", materials=["src/**"], products=["dist/*"])
    verdict = pipeline.verify(artifact)
    assert [(r.code, r.stage) for r in verdict.reasons] == [
        ("verify/missing-stage", "source"),
        ("verify/missing-stage", "release"),
    ]


def test_a_final_stage_that_names_another_artifact_also_lists_the_missing(
    pipeline: Pipeline,
) -> None:
    pipeline.build_artifact("one")
    pipeline.attest("release", keys=["ci", "rm"], materials=["dist/*"], products=["dist/*"])
    other = pipeline.build_artifact("two")
    verdict = pipeline.verify(other)
    assert [(r.code, r.stage) for r in verdict.reasons] == [
        ("verify/subject-mismatch", "release"),
        ("verify/missing-stage", "source"),
        ("verify/missing-stage", "build"),
    ]
