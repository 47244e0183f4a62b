"""`follows` works with directory digests, per-file entries, and a mix of both."""

from __future__ import annotations

from tests.harness import Pipeline, codes


def _policy_two_stages(pipeline: Pipeline) -> None:
    data = pipeline.policy_dict()
    data["stages"] = [
        {"name": "source", "signed_by": ["ci"]},
        {"name": "build", "signed_by": ["ci"], "follows": "source"},
    ]
    pipeline.write_policy(data)


def test_dir_to_dir(pipeline: Pipeline) -> None:
    _policy_two_stages(pipeline)
    pipeline.attest("source", product_dirs=["src"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", material_dirs=["src"], products=["dist/*"])
    assert pipeline.verify(artifact).allowed


def test_files_then_dir_and_dir_then_files(pipeline: Pipeline) -> None:
    _policy_two_stages(pipeline)
    pipeline.attest("source", products=["src/**"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", material_dirs=["src"], products=["dist/*"])
    assert pipeline.verify(artifact).allowed


def test_dir_then_files(pipeline: Pipeline) -> None:
    _policy_two_stages(pipeline)
    pipeline.attest("source", product_dirs=["src"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", materials=["src/**"], products=["dist/*"])
    assert pipeline.verify(artifact).allowed


def test_dir_digest_catches_a_changed_file(pipeline: Pipeline) -> None:
    _policy_two_stages(pipeline)
    pipeline.attest("source", product_dirs=["src"])
    (pipeline.repo_path / "src" / "lib.py").write_text("X = 2\n")
    artifact = pipeline.build_artifact()
    pipeline.attest("build", material_dirs=["src"], products=["dist/*"])
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/chain-broken"}
    assert "src/" in verdict.reasons[0].message


def test_dir_digest_catches_an_added_file(pipeline: Pipeline) -> None:
    _policy_two_stages(pipeline)
    pipeline.attest("source", products=["src/**"])
    (pipeline.repo_path / "src" / "injected.py").write_text("import os\n")
    artifact = pipeline.build_artifact()
    pipeline.attest("build", material_dirs=["src"], products=["dist/*"])
    assert codes(pipeline.verify(artifact)) == {"verify/chain-broken"}


def test_directory_attestation_stays_small(pipeline: Pipeline) -> None:
    many = pipeline.repo_path / "many"
    many.mkdir()
    for i in range(2000):
        (many / f"f{i}.txt").write_text(str(i))
    result = pipeline.attest("source", product_dirs=["many"])
    assert len(result.predicate.products) == 1
    assert result.predicate.products[0].count == 2000
    env_file = pipeline.store / "envelopes" / f"{result.envelope_id}.json"
    assert env_file.stat().st_size < 4096
