"""A verify first reads what names its artifact and its run (the store's subject and run
indexes); only an artifact that does not pass so is judged on every stage's attestations,
which gives the same verdict and reasons as reading the whole store."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from gatekeeper.store.filesystem import FilesystemStore
from tests.harness import Pipeline, codes


def _spy_by_stage(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = FilesystemStore.by_stage

    def spy(self: FilesystemStore, stage: str) -> Any:
        calls.append(stage)
        return original(self, stage)

    monkeypatch.setattr(FilesystemStore, "by_stage", spy)
    return calls


def test_a_passing_artifact_is_verified_without_reading_any_stage(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact = pipeline.run_all(run_id="r1")
    # Other runs of other artifacts fill the store.
    for run in ("r2", "r3"):
        pipeline.attest("source", run_id=run, products=["src/**"])
    calls = _spy_by_stage(monkeypatch)
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "pass", verdict.reasons
    assert calls == []


def test_a_missing_run_index_falls_back_to_the_full_read(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact = pipeline.run_all(run_id="r1")
    shutil.rmtree(pipeline.store / "index" / "run")  # a store written before the run index
    calls = _spy_by_stage(monkeypatch)
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "pass", verdict.reasons
    assert set(calls) == {"source", "build", "release"}


def test_a_block_is_judged_on_every_stage_with_the_same_reasons(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.attest("source", run_id="r1", products=["src/**"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", run_id="r1", materials=["src/**"], products=["dist/*"])
    # The release is signed by one key of the two the policy's threshold needs.
    pipeline.attest("release", keys=["ci"], run_id="r1", materials=["dist/*"], products=["dist/*"])
    calls = _spy_by_stage(monkeypatch)
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert codes(verdict) == {"verify/threshold"}
    assert set(calls) == {"source", "build", "release"}


def test_a_stage_of_another_run_is_not_mixed_in(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Source comes from another run: the quick look does not find it, the full read
    # reports the run mismatch.
    pipeline.attest("source", run_id="r0", products=["src/**"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", run_id="r1", materials=["src/**"], products=["dist/*"])
    pipeline.attest(
        "release", keys=["ci", "rm"], run_id="r1", materials=["dist/*"], products=["dist/*"]
    )
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert "verify/run-mismatch" in codes(verdict)
