"""`follows` compares every digest algorithm both sides record; none in common blocks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from gatekeeper.models.statement import Artifact, RunInfo, StagePredicate
from tests.harness import Pipeline, codes


def _two_stages(pipeline: Pipeline, handed_over: dict[str, str], received: dict[str, str]) -> str:
    """source produces ``lib.tar`` with ``handed_over`` digests; build consumes it with
    ``received`` digests and produces the artifact. Returns the artifact's path."""
    pipeline.write_two_stage_policy()
    artifact = pipeline.build_artifact()
    now = datetime.now(UTC)
    run = RunInfo(run_id="run-1", source_commit="c" * 40)
    pipeline.store_predicate(
        StagePredicate(
            stage="source",
            started_at=now,
            finished_at=now,
            products=[Artifact(name="lib.tar", digest=handed_over)],
            run=run,
        )
    )
    pipeline.store_predicate(
        StagePredicate(
            stage="build",
            started_at=now,
            finished_at=now,
            materials=[Artifact(name="lib.tar", digest=received)],
            products=[
                Artifact(
                    name="dist/app-1.0.tar.gz",
                    digest={"sha256": hashlib.sha256(artifact.read_bytes()).hexdigest()},
                )
            ],
            run=run,
        )
    )
    return str(artifact)


def _h(alg: str, text: str) -> str:
    return hashlib.new(alg, text.encode()).hexdigest()


@pytest.mark.parametrize("alg", ["sha512", "sha384"])
def test_a_changed_digest_in_any_algorithm_breaks_the_chain(pipeline: Pipeline, alg: str) -> None:
    artifact = _two_stages(pipeline, {alg: _h(alg, "genuine")}, {alg: _h(alg, "swapped")})
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/chain-broken"}
    assert "changed since source: lib.tar" in verdict.reasons[0].message


def test_a_changed_git_commit_breaks_the_chain(pipeline: Pipeline) -> None:
    artifact = _two_stages(pipeline, {"gitCommit": "a" * 40}, {"gitCommit": "b" * 40})
    assert codes(pipeline.verify(artifact)) == {"verify/chain-broken"}


def test_every_shared_algorithm_must_agree(pipeline: Pipeline) -> None:
    genuine = {"sha256": _h("sha256", "x"), "sha512": _h("sha512", "x")}
    forged = {"sha256": _h("sha256", "x"), "sha512": _h("sha512", "y")}
    assert codes(pipeline.verify(_two_stages(pipeline, genuine, forged))) == {"verify/chain-broken"}


def test_no_algorithm_in_common_blocks(pipeline: Pipeline) -> None:
    artifact = _two_stages(pipeline, {"sha256": _h("sha256", "x")}, {"sha512": _h("sha512", "x")})
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/chain-broken"}
    assert "no digest algorithm in common (sha512 vs sha256)" in verdict.reasons[0].message


def test_shared_algorithms_agreeing_pass_whatever_else_is_recorded(pipeline: Pipeline) -> None:
    both = {"sha256": _h("sha256", "x"), "sha512": _h("sha512", "x")}
    only = {"sha512": _h("sha512", "x").upper()}  # hex case carries no meaning
    assert pipeline.verify(_two_stages(pipeline, both, only)).allowed
