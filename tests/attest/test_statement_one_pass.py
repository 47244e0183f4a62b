"""The statement an attest signs is written in one JSON pass: the same bytes as the general
path (``statement_bytes(build_statement(...))``) and as the Subject-model construction it
replaced, for every kind of predicate; and the collector pause around bulk work restores
the collector whatever happens in the block."""

from __future__ import annotations

import gc
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gatekeeper._fileio import dumps_json
from gatekeeper._gcpause import collector_paused
from gatekeeper.attest.statement import (
    build_statement,
    canonical_statement,
    parse_attestation,
    statement_bytes,
)
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.statement import (
    STAGE_PREDICATE_TYPE,
    STATEMENT_TYPE,
    Artifact,
    CIEnvironment,
    RunInfo,
    StagePredicate,
    Statement,
    Subject,
)

_NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _reference_bytes(predicate: StagePredicate) -> bytes:
    """The statement as gatekeeper wrote it before the one-pass path: Subject models from the
    products, the predicate dumped into the Statement model, the whole model dumped again."""
    subjects = [Subject(name=a.name, digest=a.digest) for a in predicate.products]
    if not subjects:
        if predicate.run.source_commit:
            subjects = [
                Subject(
                    name=f"git+commit:{predicate.stage}",
                    digest={"gitCommit": predicate.run.source_commit},
                )
            ]
        else:
            listing = dumps_json([a.model_dump(mode="json") for a in predicate.materials])
            subjects = [
                Subject(
                    name=f"stage:{predicate.stage}",
                    digest={"sha256": hashlib.sha256(listing.encode()).hexdigest()},
                )
            ]
    statement = Statement(
        type_=STATEMENT_TYPE,
        subject=subjects,
        predicate_type=STAGE_PREDICATE_TYPE,
        predicate=predicate.model_dump(mode="json", exclude_none=True),
    )
    return dumps_json(
        statement.model_dump(mode="json", by_alias=True, exclude_none=True), indent=None
    ).encode("utf-8")


def _files(count: int, prefix: str = "src/") -> list[Artifact]:
    return [
        Artifact(
            name=f"{prefix}f{i:05d}.txt",
            digest={"sha256": hashlib.sha256(str(i).encode()).hexdigest()},
        )
        for i in range(count)
    ]


def _predicate(**fields: Any) -> StagePredicate:
    values: dict[str, Any] = {
        "stage": "build",
        "started_at": _NOW - timedelta(seconds=3),
        "finished_at": _NOW,
    }
    values.update(fields)
    return StagePredicate(**values)


_FINDING = Finding.make(
    "secrets/generic-api-key",
    Severity.HIGH,
    "a key in a config file: \u2018quoted\u2019 \u2028 and a tab\t",
    path="conf/app.ini",
    line=3,
)

PREDICATES = {
    "products and materials": _predicate(
        materials=_files(40, "src/"),
        products=_files(3, "dist/"),
        run=RunInfo(run_id="run-7", source_commit="a" * 40),
        command=["make", "dist", "--jobs=2"],
        exit_code=0,
    ),
    "every artifact kind": _predicate(
        materials=[
            Artifact(name="lib/", digest={"sha256-tree-v2": "b" * 64}, kind="dir", count=12),
            Artifact(name="link", digest={"sha256": "c" * 64}, kind="symlink", target="../x y"),
            Artifact(name="npm.tgz", digest={"sha512": "d" * 128, "sha256": "E" * 64}),
        ],
        products=[Artifact(name='naïve/ünïcode "quoted" \\ name', digest={"sha256": "f" * 64})],
    ),
    "no products, a source commit": _predicate(
        materials=_files(5), run=RunInfo(run_id="r", source_commit="9" * 40)
    ),
    "no products, no commit (a listing subject)": _predicate(
        materials=[
            *_files(5),
            Artifact(name="link", digest={"sha256": "c" * 64}, kind="symlink", target="t"),
        ]
    ),
    "no products, nothing at all": _predicate(),
    "evidence and findings": _predicate(
        products=_files(2, "dist/"),
        audited=["secrets", "deps"],
        evidence={
            "deps": {
                "packages": [{"name": "left-pad", "version": None, "score": 0.5, "n": 10**20}],
                "nested": {"none": None, "empty": {}, "list": [None, True, False, -1.25e-7]},
            },
            "secrets": {"files": 3, "text": "line\nbreak\x00nul \ud7ff é 😀"},
            # Not JSON yet: dumped to JSON data once, and written as that data says.
            "python": {
                "when": _NOW,
                "pair": (1, "2"),
                "ids": {10: "a", 9: "b"},
                "nan": float("nan"),
            },
        },
        findings=[_FINDING],
        run=RunInfo(
            run_id="gh-1",
            source_commit="0" * 40,
            ci=CIEnvironment(platform="github-actions", run_url="https://ci.example/run/1"),
        ),
        gatekeeper_version="9.9.9",
    ),
}


@pytest.mark.parametrize("case", sorted(PREDICATES))
def test_one_pass_writes_the_bytes_of_the_general_path(case: str) -> None:
    predicate = PREDICATES[case]
    statement, payload = canonical_statement(predicate)
    assert payload == statement_bytes(build_statement(predicate))
    assert payload == _reference_bytes(predicate)
    assert statement == build_statement(predicate)
    # The model says what the bytes say, and the verifier reads them back.
    assert json.loads(payload) == statement.model_dump(mode="json", by_alias=True)
    record = parse_attestation(INTOTO_PAYLOAD_TYPE, payload)
    assert record.products == predicate.products
    assert record.materials == predicate.materials
    assert [name for name, _ in record.subjects] == [s.name for s in statement.subject]


def test_the_subjects_are_validated_models() -> None:
    statement, _ = canonical_statement(PREDICATES["products and materials"])
    assert all(type(s) is Subject for s in statement.subject)
    assert [s.name for s in statement.subject] == [
        "dist/f00000.txt",
        "dist/f00001.txt",
        "dist/f00002.txt",
    ]


def test_a_large_predicate_is_byte_identical() -> None:
    predicate = _predicate(products=_files(5000), materials=_files(5000, "in/"))
    assert canonical_statement(predicate)[1] == _reference_bytes(predicate)


def test_the_collector_is_paused_in_the_block_and_restored_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: still off, and the outer block turns it on
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError, match="boom"), collector_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
