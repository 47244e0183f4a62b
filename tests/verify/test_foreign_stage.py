"""The stage an imported SLSA provenance stands for comes from what is signed (its predicate
type, builder and build type, matched by the policy), never from ``import --stage``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.attest.dsse import sign_envelope
from gatekeeper.attest.keys import load_signer
from gatekeeper.attest.stage import envelope_bytes
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
from gatekeeper.policy import parse_policy
from tests.harness import Pipeline, codes

BUILDER = "https://ci.example.invalid/builders/release@v1"
BUILD_TYPE = "https://ci.example.invalid/buildtypes/make@v1"


def _provenance(pipeline: Pipeline, artifact: Path, builder: str = BUILDER) -> Path:
    """A SLSA Provenance v1 statement for ``artifact``, signed by the ci key, as a file."""
    import json

    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {
                "name": artifact.name,
                "digest": {"sha256": hashlib.sha256(artifact.read_bytes()).hexdigest()},
            }
        ],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {"target": "dist"},
                "resolvedDependencies": [],
            },
            "runDetails": {
                "builder": {"id": builder},
                "metadata": {"invocationId": "run-42", "finishedOn": "2030-01-01T00:00:00Z"},
            },
        },
    }
    envelope = sign_envelope(
        json.dumps(statement).encode(), INTOTO_PAYLOAD_TYPE, [load_signer(pipeline.key("ci"))]
    )
    path = pipeline.root / f"provenance-{hashlib.sha256(builder.encode()).hexdigest()[:8]}.json"
    path.write_bytes(envelope_bytes(envelope))
    return path


def _policy(pipeline: Pipeline, *stages: dict[str, Any]) -> None:
    data = pipeline.policy_dict()
    data.pop("max_age")
    data["stages"] = list(stages)
    pipeline.write_policy(data)


def _import(pipeline: Pipeline, path: Path, *extra: str) -> int:
    return main(["import", str(path), "--store", str(pipeline.store), *extra])


def test_import_stage_label_does_not_make_a_stage_that_never_ran(pipeline: Pipeline) -> None:
    # One key is trusted for two stages; only the build ran and signed a provenance. Filing
    # that provenance under "test" too must not make the test stage pass.
    _policy(
        pipeline,
        {"name": "build", "signed_by": ["ci"]},
        {"name": "test", "signed_by": ["ci"]},
    )
    artifact = pipeline.build_artifact()
    provenance = _provenance(pipeline, artifact)
    assert _import(pipeline, provenance, "--stage", "build") == 0
    assert _import(pipeline, provenance, "--stage", "test") == 0
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert codes(verdict) == {"verify/missing-stage"}
    assert any(r.stage == "test" for r in verdict.reasons)


def test_provenance_filed_under_a_stage_name_is_not_that_stage(pipeline: Pipeline) -> None:
    # What an earlier `import --stage test` left in the store: the index says "test".
    _policy(pipeline, {"name": "test", "signed_by": ["ci"]})
    artifact = pipeline.build_artifact()
    data = _provenance(pipeline, artifact).read_bytes()
    pipeline.store_envelope(data, "test", hashlib.sha256(artifact.read_bytes()).hexdigest())
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/missing-stage"}
    assert "accepts no foreign provenance" in verdict.reasons[0].message


def test_provenance_stands_for_the_stage_whose_matcher_accepts_it(pipeline: Pipeline) -> None:
    _policy(
        pipeline,
        {"name": "build", "signed_by": ["ci"], "provenance": {"builder_ids": [BUILDER]}},
    )
    artifact = pipeline.build_artifact()
    assert _import(pipeline, _provenance(pipeline, artifact)) == 0
    assert pipeline.verify(artifact).allowed


def test_provenance_from_another_builder_stands_for_nothing(pipeline: Pipeline) -> None:
    _policy(
        pipeline,
        {"name": "build", "signed_by": ["ci"], "provenance": {"builder_ids": [BUILDER]}},
    )
    artifact = pipeline.build_artifact()
    other = _provenance(pipeline, artifact, builder="https://ci.example.invalid/builders/dev@v1")
    assert _import(pipeline, other, "--stage", "build") == 0
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/missing-stage"}
    assert "builders/dev@v1 is not in builder_ids" in verdict.reasons[0].message


def test_one_provenance_never_stands_for_two_stages(pipeline: Pipeline) -> None:
    _policy(
        pipeline,
        {"name": "build", "signed_by": ["ci"], "provenance": {"builder_ids": [BUILDER]}},
        {"name": "test", "signed_by": ["ci"], "provenance": {"build_types": [BUILD_TYPE]}},
    )
    artifact = pipeline.build_artifact()
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/policy-invalid"}
    assert "accept the same provenance" in verdict.reasons[0].message


def test_stages_told_apart_by_builder_each_need_their_own_provenance(pipeline: Pipeline) -> None:
    tester = "https://ci.example.invalid/builders/test@v1"
    _policy(
        pipeline,
        {"name": "build", "signed_by": ["ci"], "provenance": {"builder_ids": [BUILDER]}},
        {"name": "test", "signed_by": ["ci"], "provenance": {"builder_ids": [tester]}},
    )
    artifact = pipeline.build_artifact()
    assert _import(pipeline, _provenance(pipeline, artifact), "--stage", "test") == 0
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/missing-stage"}
    assert all(r.stage == "test" for r in verdict.reasons)
    assert _import(pipeline, _provenance(pipeline, artifact, builder=tester)) == 0
    assert pipeline.verify(artifact).allowed


def test_unknown_predicate_type_in_a_matcher_is_invalid() -> None:
    text = b"""
version: 1
name: p
expires: 2099-01-01T00:00:00Z
keys: {ci: ci.pub}
stages:
  - name: build
    signed_by: [ci]
    provenance: {predicate_types: ["https://slsa.dev/provenance/v0.9"]}
"""
    with pytest.raises(InvalidInput, match="cannot be read as provenance"):
        parse_policy(text, "p.yaml")


def test_import_says_the_stage_label_is_ignored(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = pipeline.build_artifact()
    assert _import(pipeline, _provenance(pipeline, artifact), "--stage", "test") == 0
    captured = capsys.readouterr()
    assert "--stage is ignored" in captured.err
    assert "provenance matchers decide its stage" in captured.out


def test_policy_validate_shows_the_matcher_and_serial(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    stage = {"name": "build", "signed_by": ["ci"], "provenance": {"builder_ids": [BUILDER]}}
    pipeline.write_policy({**pipeline.policy_dict(), "serial": 7, "stages": [stage]})
    assert main(["policy", "validate", str(pipeline.policy_path)]) == 0
    out = capsys.readouterr().out
    assert "serial 7" in out and f"accepts provenance from {BUILDER}" in out
