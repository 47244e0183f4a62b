"""The `follows` comparison's fast paths give the general path's reasons, word for word.

The verifier compares a stage's materials with the products of the stage it follows once
per side (cached on the candidate), skips names whose digest sets are equal, and parses a
payload once however many stages or subjects list it. Each is checked here against the
plain implementation it replaced, on seeded random artifact lists with the hostile shapes
(repeated names, hex in either case, values that are not hex, directory digests in both
encodings, files under a directory digest without a sha256, no algorithm in common), and
end to end on a chain of many files.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gatekeeper.attest.materials import dir_artifact
from gatekeeper.attest.signed import SignedDocument
from gatekeeper.attest.statement import StageRecord
from gatekeeper.models.policy import StagePolicy
from gatekeeper.models.statement import TREE_DIGEST_ALG, Artifact, RunInfo, StagePredicate
from gatekeeper.models.verdict import Reason, Verdict
from gatekeeper.store import StoredEnvelope
from gatekeeper.verify import evaluate
from gatekeeper.verify.evaluate import Candidate, _collapse, _differences, _follows
from tests.harness import Pipeline, codes

# -- the general path, as it was before the fast paths ----------------------------------------


def _ref_normal(digest: dict[str, str]) -> dict[str, str]:
    return {
        alg: value.lower() if all(c in "0123456789abcdefABCDEF" for c in value) else value
        for alg, value in digest.items()
    }


def _ref_collapse(
    artifacts: list[Artifact], prefixes: list[str]
) -> tuple[dict[str, dict[str, str]], list[str]]:
    out: dict[str, dict[str, str]] = {}
    grouped: dict[str, list[Artifact]] = {p: [] for p in prefixes}
    problems: list[str] = []
    for art in artifacts:
        if art.kind == "dir":
            out[art.name] = _ref_normal(art.digest)
            continue
        prefix = next((p for p in prefixes if art.name.startswith(p)), None)
        if prefix is None:
            out[art.name] = _ref_normal(art.digest)
        else:
            grouped[prefix].append(art)
    for prefix, members in grouped.items():
        if members and prefix not in out:
            try:
                out[prefix] = dir_artifact(prefix.rstrip("/"), members).digest
            except ValueError as exc:
                problems.append(f"cannot compare with the directory digest of {prefix}: {exc}")
    return out, problems


def _ref_digest_difference(mine: dict[str, str], theirs: dict[str, str]) -> str | None:
    shared = sorted(set(mine) & set(theirs))
    if not shared:
        return (
            f"no digest algorithm in common ({', '.join(sorted(mine))} vs "
            f"{', '.join(sorted(theirs))})"
        )
    if any(mine[alg] != theirs[alg] for alg in shared):
        return "changed"
    return None


def _ref_differences(
    mats: dict[str, dict[str, str]], prods: dict[str, dict[str, str]], follows: str
) -> list[str]:
    missing = sorted(set(prods) - set(mats))
    extra = sorted(set(mats) - set(prods))
    changed: list[str] = []
    incomparable: list[str] = []
    for name in sorted(set(mats) & set(prods)):
        difference = _ref_digest_difference(mats[name], prods[name])
        if difference == "changed":
            changed.append(name)
        elif difference is not None:
            incomparable.append(f"{name}: {difference}")
    parts = []
    if changed:
        parts.append(f"changed since {follows}: {', '.join(changed[:5])}")
    if incomparable:
        parts.append(f"not comparable with {follows}: {'; '.join(incomparable[:5])}")
    if extra:
        parts.append(f"not produced by {follows}: {', '.join(extra[:5])}")
    if missing:
        parts.append(f"produced by {follows} but not used: {', '.join(missing[:5])}")
    return parts


def _ref_follows(stage: StagePolicy, cand: Candidate, before: Candidate) -> list[Reason]:
    assert cand.record is not None and before.record is not None and stage.follows is not None
    materials, products = cand.record.materials, before.record.products
    legacy = [
        f"{a.name} (materials of {stage.name})"
        for a in materials
        if a.kind == "dir" and TREE_DIGEST_ALG not in a.digest
    ]
    legacy += [
        f"{a.name} (products of {stage.follows})"
        for a in products
        if a.kind == "dir" and TREE_DIGEST_ALG not in a.digest
    ]
    if legacy:
        return [
            Reason(
                code="verify/chain-broken",
                stage=stage.name,
                message=f"directory digest of {', '.join(legacy[:5])} uses the "
                "version-1 encoding, in which a file name can imitate other entries; attest "
                "the stage again with this version of gatekeeper",
            )
        ]
    prefixes = sorted(
        {a.name for a in [*materials, *products] if a.kind == "dir"}, key=len, reverse=True
    )
    mats, mat_problems = _ref_collapse(materials, prefixes)
    prods, prod_problems = _ref_collapse(products, prefixes)
    parts = [*mat_problems, *prod_problems, *_ref_differences(mats, prods, stage.follows)]
    if not parts:
        return []
    return [
        Reason(
            code="verify/chain-broken",
            stage=stage.name,
            message=f"materials of {stage.name} differ from the products of "
            f"{stage.follows} ({'; '.join(parts)})",
        )
    ]


# -- random artifact lists with the hostile shapes ---------------------------------------------

_NAMES = ["a", "b", "src/x", "src/y", "lib/m", "lib/n", "lib/sub/k", "LIB/m", "lib"]
_DIRS = ["lib/", "lib/sub/", "src/"]


def _hex(rng: random.Random, length: int) -> str:
    value = "".join(rng.choice("0123456789abcdef") for _ in range(length))
    return rng.choice([value, value.upper(), value[: length // 2] + value[length // 2 :].upper()])


def _digest(rng: random.Random) -> dict[str, str]:
    shape = rng.randrange(7)
    if shape == 0:
        return {"sha512": _hex(rng, 8)}
    if shape == 1:
        return {"sha256": _hex(rng, 8), "sha512": _hex(rng, 8)}
    if shape == 2:
        return {"sha256": rng.choice(["not-hex!", "NOT-HEX!", "", "Zz"])}
    if shape == 3:
        return {"gitCommit": _hex(rng, 4)}
    return {"sha256": rng.choice(["ab", "AB", "cd", "0f", "0F", _hex(rng, 64)])}


def _artifacts(rng: random.Random, *, dirs: bool) -> list[Artifact]:
    out = []
    for _ in range(rng.randrange(9)):
        if dirs and rng.random() < 0.2:
            alg = TREE_DIGEST_ALG if rng.random() < 0.85 else "sha256"
            digest = {alg: rng.choice(["ab" * 32, "AB" * 32, _hex(rng, 64)])}
            out.append(Artifact(name=rng.choice(_DIRS), digest=digest, kind="dir", count=1))
        elif rng.random() < 0.15:
            digest = {"sha256": rng.choice(["ab", "cd"])}
            out.append(Artifact(name=rng.choice(_NAMES), digest=digest, kind="symlink", target="t"))
        else:
            out.append(Artifact(name=rng.choice(_NAMES), digest=_digest(rng)))
    return out


def _candidate(materials: list[Artifact], products: list[Artifact]) -> Candidate:
    record = StageRecord(
        stage="s",
        kind="gatekeeper",
        subjects=[],
        materials=materials,
        products=products,
        exit_code=0,
        finished_at=datetime.now(UTC),
        run_id="r",
        source_commit=None,
    )
    return Candidate(StoredEnvelope(id="0" * 64, data=b"", location="-"), record, [])


_STAGE = StagePolicy(name="build", signed_by=["ci"], follows="source")


@pytest.mark.parametrize("seed", range(40))
def test_follows_gives_the_general_paths_reasons(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - seeded test data, not secrets
    for _ in range(50):
        dirs = rng.random() < 0.5
        materials = _artifacts(rng, dirs=dirs)
        if rng.random() < 0.3:  # the common case: the products handed over unchanged
            products = list(materials)
        elif rng.random() < 0.5:  # the same, hex case changed or one entry altered
            products = [
                Artifact(name=a.name, digest={k: v.swapcase() for k, v in a.digest.items()})
                if a.kind == "file"
                else a
                for a in materials
            ]
            if products and rng.random() < 0.5:
                products[rng.randrange(len(products))] = Artifact(
                    name=rng.choice(_NAMES), digest=_digest(rng)
                )
        else:
            products = _artifacts(rng, dirs=dirs)
        cand, before = _candidate(materials, []), _candidate([], products)
        expected = _ref_follows(_STAGE, cand, before)
        assert _follows(_STAGE, cand, before) == expected
        assert _follows(_STAGE, cand, before) == expected  # again, from the cache


@pytest.mark.parametrize("seed", range(20))
def test_collapse_and_differences_match_the_general_path(seed: int) -> None:
    rng = random.Random(1000 + seed)  # noqa: S311 - seeded test data, not secrets
    for _ in range(50):
        arts = _artifacts(rng, dirs=True)
        prefixes = sorted({a.name for a in arts if a.kind == "dir"}, key=len, reverse=True)
        assert _collapse(arts, prefixes) == _ref_collapse(arts, prefixes)
        assert _collapse(arts, []) == _ref_collapse(arts, [])
        mats, _ = _ref_collapse(_artifacts(rng, dirs=False), [])
        prods = dict(mats) if rng.random() < 0.5 else _ref_collapse(arts, [])[0]
        assert _differences(mats, prods, "source") == _ref_differences(mats, prods, "source")


def test_equal_but_empty_digest_sets_are_still_not_comparable() -> None:
    mats = {"a": {}, "b": {"sha256": "ab"}}
    expected = ["not comparable with source: a: no digest algorithm in common ( vs )"]
    assert _differences(mats, dict(mats), "source") == expected
    assert _ref_differences(mats, dict(mats), "source") == expected


def test_a_candidate_collapses_each_side_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = evaluate._collapse

    def counted(artifacts: list[Artifact], prefixes: list[str]) -> evaluate._Collapsed:
        calls.append(len(artifacts))
        return real(artifacts, prefixes)

    monkeypatch.setattr(evaluate, "_collapse", counted)
    arts = [Artifact(name=f"f{i}", digest={"sha256": f"{i:064x}"}) for i in range(100)]
    # Handed over as recorded: equal digest sets by name, nothing to normalise.
    cand, before = _candidate(arts, []), _candidate([], list(arts))
    for _ in range(3):
        assert _follows(_STAGE, cand, before) == []
    assert calls == []
    # In another hex case: each side is normalised once, however often the link is checked.
    upper = [Artifact(name=a.name, digest={"sha256": a.digest["sha256"].upper()}) for a in arts]
    cand, before = _candidate(arts, []), _candidate([], upper)
    for _ in range(3):
        assert _follows(_STAGE, cand, before) == []
    assert calls == [100, 100]


# -- end to end ---------------------------------------------------------------------------------


def _chain(pipeline: Pipeline, handed: list[Artifact], received: list[Artifact]) -> Path:
    pipeline.write_two_stage_policy()
    artifact = pipeline.build_artifact()
    now = datetime.now(UTC)
    run = RunInfo(run_id="run-1", source_commit="c" * 40)
    pipeline.store_predicate(
        StagePredicate(stage="source", started_at=now, finished_at=now, products=handed, run=run)
    )
    product = Artifact(
        name="dist/app-1.0.tar.gz",
        digest={"sha256": hashlib.sha256(artifact.read_bytes()).hexdigest()},
    )
    pipeline.store_predicate(
        StagePredicate(
            stage="build",
            started_at=now,
            finished_at=now,
            materials=received,
            products=[product],
            run=run,
        )
    )
    return artifact


def _many(count: int) -> list[Artifact]:
    return [
        Artifact(name=f"src/f{i:05d}", digest={"sha256": hashlib.sha256(b"%d" % i).hexdigest()})
        for i in range(count)
    ]


def test_many_files_handed_over_unchanged_pass_in_either_hex_case(pipeline: Pipeline) -> None:
    handed = _many(3000)
    received = [
        Artifact(name=a.name, digest={"sha256": a.digest["sha256"].upper()}) for a in handed
    ]
    assert pipeline.verify(_chain(pipeline, handed, received)).allowed


def test_one_changed_file_among_many_is_named(pipeline: Pipeline) -> None:
    handed = _many(3000)
    received = list(handed)
    received[1234] = Artifact(name=handed[1234].name, digest={"sha256": "0" * 64})
    received.append(Artifact(name="src/extra", digest={"sha256": "1" * 64}))
    verdict = pipeline.verify(_chain(pipeline, handed, received[1:]))
    assert codes(verdict) == {"verify/chain-broken"}
    assert verdict.reasons[0].message == (
        "materials of build differ from the products of source (changed since source: "
        "src/f01234; not produced by source: src/extra; produced by source but not used: "
        "src/f00000)"
    )


def test_a_repeated_name_keeps_its_last_digest(pipeline: Pipeline) -> None:
    handed = _many(10)
    forged = Artifact(name=handed[3].name, digest={"sha256": "2" * 64})
    # The same name twice in the materials: the last entry is the one compared.
    verdict = pipeline.verify(_chain(pipeline, handed, [*handed, forged]))
    assert codes(verdict) == {"verify/chain-broken"}
    assert "changed since source: src/f00003" in verdict.reasons[0].message
    assert pipeline.verify(_chain(pipeline, handed, [forged, *handed])).allowed


def test_an_envelope_listed_under_two_stages_is_opened_and_parsed_once(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build's envelope names the artifact, as the final stage's does: the quick look
    reads it for the final stage and again for its own stage; its signatures are checked and
    its payload parsed once."""
    parsed: list[str] = []
    opened: list[int] = []
    real_parse, real_open = evaluate.parse_attestation, evaluate.open_signed

    def counted(payload_type: str, payload: bytes, *args: object, **kwargs: bool) -> StageRecord:
        parsed.append(hashlib.sha256(payload).hexdigest())
        return real_parse(payload_type, payload)

    def counted_open(obj: object, what: str = "envelope") -> SignedDocument:
        opened.append(id(obj))
        return real_open(obj, what)

    monkeypatch.setattr(evaluate, "parse_attestation", counted)
    monkeypatch.setattr(evaluate, "open_signed", counted_open)
    artifact = pipeline.run_all(run_id="run-9")
    verdict = pipeline.verify(artifact)
    assert verdict.allowed
    assert len(parsed) == len(set(parsed)) == 3  # source, build, release: each once
    assert len(opened) == 3


class _Forgetful(dict):  # type: ignore[type-arg]
    """A cache that keeps nothing: every read takes the general path."""

    def __setitem__(self, key: object, value: object) -> None:
        return None


def _verify_without_reads(
    pipeline: Pipeline, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> Verdict:
    real = evaluate._Reads
    with monkeypatch.context() as patch:
        patch.setattr(evaluate, "_Reads", lambda: real(_Forgetful(), _Forgetful()))
        return pipeline.verify(artifact)


def test_a_tampered_envelope_listed_under_two_stages_is_refused_for_each(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What does not open is not kept: the build's envelope, its payload altered after
    signing, is refused as the final stage's candidate and again as the build's, with the
    reasons of a verify that keeps nothing it read."""
    artifact = pipeline.run_all(run_id="run-9")
    assert pipeline.verify(artifact) == _verify_without_reads(pipeline, artifact, monkeypatch)
    envelopes = pipeline.store / "envelopes"
    build = next(p for p in envelopes.iterdir() if b'"stage":"build"' in _payload(p))
    data = json.loads(build.read_bytes())
    data["payload"] = base64.b64encode(_payload(build).replace(b"run-9", b"run-8")).decode()
    build.write_text(json.dumps(data))
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/bad-signature"}
    assert "the payload or signature was altered" in verdict.reasons[0].message
    assert verdict == _verify_without_reads(pipeline, artifact, monkeypatch)


def _payload(path: Path) -> bytes:
    return base64.b64decode(json.loads(path.read_bytes())["payload"])
