"""Subjects are matched by any in-toto DigestSet algorithm: npm provenance names a tarball
by sha512 only; a file is hashed with another algorithm only when needed, and only an
algorithm that identifies content (not md5, not sha1) can match a file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.attest.dsse import sign_envelope
from gatekeeper.attest.keys import load_signer
from gatekeeper.attest.stage import envelope_bytes
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
from gatekeeper.verify.subjects import digest_subject, parse_digest
from tests.harness import Pipeline, codes


def _provenance(pipeline: Pipeline, digest: dict[str, str]) -> None:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "pkg:npm/app@1.0.0", "digest": digest}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {"buildType": "https://example.invalid/npm@v1"},
            "runDetails": {"builder": {"id": "https://example.invalid/builder"}},
        },
    }
    envelope = sign_envelope(
        json.dumps(statement).encode(), INTOTO_PAYLOAD_TYPE, [load_signer(pipeline.key("ci"))]
    )
    path = pipeline.root / f"prov-{len(list(pipeline.root.glob('prov-*')))}.json"
    path.write_bytes(envelope_bytes(envelope))
    assert main(["import", str(path), "--store", str(pipeline.store)]) == 0


@pytest.fixture
def npm(pipeline: Pipeline) -> Any:
    data = pipeline.policy_dict()
    data.pop("max_age")
    data["stages"] = [{"name": "build", "signed_by": ["ci"], "provenance": {}}]
    pipeline.write_policy(data)
    pipeline.tarball = pipeline.build_artifact("npm tarball bytes")
    return pipeline


def _hex(path: Path, alg: str) -> str:
    return hashlib.new(alg, path.read_bytes()).hexdigest()


def test_a_sha512_subject_names_the_file(npm: Any) -> None:
    _provenance(npm, {"sha512": _hex(npm.tarball, "sha512").upper()})  # hex case is free
    verdict = npm.verify(npm.tarball)
    assert verdict.allowed, verdict.reasons


def test_an_artifact_given_by_sha512_digest_verifies_and_is_logged_by_it(
    npm: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _provenance(npm, {"sha512": _hex(npm.tarball, "sha512")})
    digest = f"sha512:{_hex(npm.tarball, 'sha512')}"
    from gatekeeper.verify.evaluate import VerifyConfig, run_verify

    verdict = run_verify(
        VerifyConfig(policy_path=npm.policy_path, digests=[digest], store=str(npm.store))
    )
    assert verdict.allowed and verdict.subjects == [digest]
    other = f"sha512:{'0' * 128}"
    blocked = run_verify(
        VerifyConfig(policy_path=npm.policy_path, digests=[other], store=str(npm.store))
    )
    assert codes(blocked) == {"verify/subject-mismatch"}


@pytest.mark.parametrize("weak", ["md5", "sha1"])
def test_a_subject_named_only_by_a_weak_algorithm_never_matches_a_file(npm: Any, weak: str) -> None:
    _provenance(npm, {weak: _hex(npm.tarball, weak)})
    verdict = npm.verify(npm.tarball)
    assert codes(verdict) == {"verify/subject-mismatch"}


def test_a_subject_whose_algorithms_disagree_does_not_match(npm: Any) -> None:
    # sha256 names the file, sha512 another one: not this artifact.
    _provenance(npm, {"sha256": _hex(npm.tarball, "sha256"), "sha512": "0" * 128})
    verdict = npm.verify(npm.tarball)
    assert codes(verdict) == {"verify/subject-mismatch"}


def test_a_mismatch_names_every_digest_the_file_was_hashed_with(npm: Any) -> None:
    _provenance(npm, {"sha512": "1" * 128})
    verdict = npm.verify(npm.tarball)
    assert codes(verdict) == {"verify/subject-mismatch"}
    assert f"(nor sha512:{_hex(npm.tarball, 'sha512')})" in verdict.reasons[0].message


def test_the_file_is_hashed_again_only_when_sha256_does_not_name_it(
    npm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _provenance(npm, {"sha256": _hex(npm.tarball, "sha256")})
    _provenance(npm, {"sha512": "2" * 128})  # another artifact's provenance, by sha512
    from gatekeeper.verify import subjects

    def no_rehash(*_: Any) -> None:
        raise AssertionError("the file was hashed again although sha256 named it")

    monkeypatch.setattr(subjects.ArtifactSubject, "add_file_digests", no_rehash)
    assert npm.verify(npm.tarball).allowed


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sha512:abc", "a sha512 digest is 128 hex digits"),
        ("nothing", "give ALGORITHM:VALUE"),
        (":abc", "give ALGORITHM:VALUE"),
        ("sha256:" + "g" * 64, "a sha256 digest is 64 hex digits"),
    ],
)
def test_malformed_digests_are_usage_errors(spec: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_digest(spec)


def test_any_digest_set_algorithm_is_accepted_by_name() -> None:
    assert digest_subject("gce_image_id:8970095005306000053").digests == {
        "gce_image_id": "8970095005306000053"
    }
    assert (
        digest_subject("SHA512:" + "A" * 128).digests != {}
    )  # upper-case algorithm names are names
