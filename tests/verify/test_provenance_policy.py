"""A stage's `provenance:` matcher on what the provenance signs: predicate type (SLSA v1,
v0.2, v0.1), builder, build type, source repository, ref and workflow; and the commit check,
which holds a foreign attestation to the commit it records itself."""

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
from gatekeeper.policy import parse_policy
from tests.harness import Pipeline, codes

BUILDER = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml@refs/tags/v1.2.1"
REPO = "https://github.com/acme/app"
COMMIT = "16fd7557ee886bdc622b95e6eb3b44de3ebf56df"
WORKFLOW = ".github/workflows/release.yml"


def _v02(
    artifact: Path, *, repo: str = REPO, ref: str = "refs/tags/v1.2.0", commit: str = COMMIT
) -> dict[str, Any]:
    """SLSA provenance v0.2 in a Statement v0.1, as slsa-github-generator writes it."""
    return {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [
            {
                "name": artifact.name,
                "digest": {"sha256": hashlib.sha256(artifact.read_bytes()).hexdigest()},
            }
        ],
        "predicate": {
            "builder": {"id": BUILDER},
            "buildType": "https://github.com/slsa-framework/slsa-github-generator/go@v1",
            "invocation": {
                "configSource": {
                    "uri": f"git+{repo}@{ref}",
                    "digest": {"sha1": commit},
                    "entryPoint": WORKFLOW,
                },
                "environment": {"github_event_name": "push"},
            },
            "metadata": {"buildInvocationId": "4242-1", "completeness": {"parameters": True}},
            "materials": [{"uri": f"git+{repo}@{ref}", "digest": {"sha1": commit}}],
        },
    }


def _import(pipeline: Pipeline, statement: dict[str, Any], name: str = "prov") -> None:
    envelope = sign_envelope(
        json.dumps(statement).encode(), INTOTO_PAYLOAD_TYPE, [load_signer(pipeline.key("ci"))]
    )
    path = pipeline.root / f"{name}.intoto.jsonl"
    path.write_bytes(envelope_bytes(envelope))
    assert main(["import", str(path), "--store", str(pipeline.store)]) == 0


def _policy(pipeline: Pipeline, **matcher: Any) -> None:
    data = pipeline.policy_dict()
    data.pop("max_age")
    matcher.setdefault("predicate_types", ["https://slsa.dev/provenance/v0.2"])
    data["stages"] = [{"name": "build", "signed_by": ["ci"], "provenance": matcher}]
    pipeline.write_policy(data)


def test_v02_provenance_stands_for_the_stage_of_its_source(pipeline: Pipeline) -> None:
    _policy(
        pipeline,
        builder_ids=[BUILDER],
        source_repositories=["git+https://github.com/acme/app.git"],  # spelled another way
        source_refs=["refs/tags/v*"],
        workflow_paths=["./.github/workflows/release.yml"],
    )
    artifact = pipeline.build_artifact()
    _import(pipeline, _v02(artifact))
    assert pipeline.verify(artifact).allowed


@pytest.mark.parametrize(
    ("matcher", "said"),
    [
        (
            {"source_repositories": ["https://github.com/acme/other"]},
            f"source repository {REPO} is not in source_repositories",
        ),
        (
            {"source_refs": ["refs/heads/main"]},
            "source ref refs/tags/v1.2.0 matches none of source_refs",
        ),
        (
            {"workflow_paths": [".github/workflows/nightly.yml"]},
            f"workflow {WORKFLOW} is not in workflow_paths",
        ),
        ({"predicate_types": ["https://slsa.dev/provenance/v1"]}, None),
    ],
)
def test_provenance_of_another_source_stands_for_no_stage(
    pipeline: Pipeline, matcher: dict[str, Any], said: str | None
) -> None:
    _policy(pipeline, **matcher)
    artifact = pipeline.build_artifact()
    _import(pipeline, _v02(artifact))
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/missing-stage"}
    if said is not None:
        assert said in verdict.reasons[0].message


def test_a_matcher_on_the_source_blocks_a_provenance_that_records_none(pipeline: Pipeline) -> None:
    _policy(pipeline, source_refs=["refs/tags/*"])
    artifact = pipeline.build_artifact()
    statement = _v02(artifact)
    del statement["predicate"]["invocation"]
    del statement["predicate"]["materials"]
    _import(pipeline, statement)
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/missing-stage"}
    assert "records no source ref" in verdict.reasons[0].message


def test_a_provenance_that_records_no_commit_does_not_block_on_the_ci_commit(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Imported links and provenance used to block in every CI run that sets GITHUB_SHA.
    _policy(pipeline)
    artifact = pipeline.build_artifact()
    statement = _v02(artifact)
    del statement["predicate"]["invocation"]
    del statement["predicate"]["materials"]
    _import(pipeline, statement)
    monkeypatch.setenv("GITHUB_SHA", "9" * 40)
    args = [
        "verify",
        "--policy",
        str(pipeline.policy_path),
        "--store",
        str(pipeline.store),
        "--no-log",
        str(artifact),
    ]
    assert main(args) == 0


def test_the_ci_commit_is_checked_against_the_commit_the_provenance_records(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _policy(pipeline)
    artifact = pipeline.build_artifact()
    _import(pipeline, _v02(artifact))
    args = [
        "verify",
        "--policy",
        str(pipeline.policy_path),
        "--store",
        str(pipeline.store),
        "--no-log",
        "--format",
        "json",
        str(artifact),
    ]
    monkeypatch.setenv("GITHUB_SHA", COMMIT.upper())  # hex case does not matter
    assert main(args) == 0
    monkeypatch.setenv("GITHUB_SHA", "9" * 40)
    capsys.readouterr()
    assert main(args) == 1
    reasons = json.loads(capsys.readouterr().out)["reasons"]
    assert [r["code"] for r in reasons] == ["verify/commit-mismatch"]
    assert (
        f"recorded commit {COMMIT[:12]}, but 999999999999 is being promoted"
        in reasons[0]["message"]
    )


def test_must_match_commit_requires_a_recorded_commit_and_a_commit_to_match(
    pipeline: Pipeline,
) -> None:
    _policy(pipeline, must_match_commit=True)
    artifact = pipeline.build_artifact()
    _import(pipeline, _v02(artifact))
    assert pipeline.verify(artifact, commit=COMMIT).allowed
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/commit-mismatch"}
    assert "no commit was given" in verdict.reasons[0].message
    assert codes(pipeline.verify(artifact, commit="8" * 40)) == {"verify/commit-mismatch"}


def test_must_match_commit_blocks_a_provenance_that_records_no_commit(pipeline: Pipeline) -> None:
    _policy(pipeline, must_match_commit=True)
    artifact = pipeline.build_artifact()
    statement = _v02(artifact)
    del statement["predicate"]["invocation"]
    del statement["predicate"]["materials"]
    _import(pipeline, statement)
    verdict = pipeline.verify(artifact, commit=COMMIT)
    assert codes(verdict) == {"verify/commit-mismatch"}
    assert "records no source commit, and the policy requires it" in verdict.reasons[0].message


def test_gatekeeper_stages_still_block_without_a_recorded_commit(pipeline: Pipeline) -> None:
    # Near miss: gatekeeper's own attestations always record their commit; one that does not
    # (an attestation from outside a repository) still blocks under --commit.
    artifact = pipeline.run_all(run_id="run-1")
    head = pipeline.repo.head.commit.hexsha
    assert pipeline.verify(artifact, commit=head).allowed
    assert codes(pipeline.verify(artifact, commit="7" * 40)) == {"verify/commit-mismatch"}


def test_source_refs_overlap_conservatively_and_strings_must_not_be_empty() -> None:
    base = """
version: 1
name: p
expires: 2099-01-01T00:00:00Z
keys: {ci: ci.pub}
stages:
  - name: build
    signed_by: [ci]
    provenance: {source_refs: ["refs/tags/v*"]}
  - name: nightly
    signed_by: [ci]
    provenance: {source_refs: ["%s"]}
"""
    with pytest.raises(InvalidInput, match="accept the same provenance"):
        parse_policy((base % "refs/heads/main").encode(), "p.yaml")
    distinct = base.replace('{source_refs: ["refs/tags/v*"]}', '{source_refs: ["refs/tags/v1"]}')
    parse_policy((distinct % "refs/heads/main").encode(), "p.yaml")
    with pytest.raises(InvalidInput, match="an empty string matches nothing"):
        parse_policy((distinct % "").encode(), "p.yaml")
    with pytest.raises(InvalidInput, match="must_match"):
        parse_policy(
            distinct.replace("{source_refs", "{must_match: true, source_refs")
            .replace("%s", "x")
            .encode(),
            "p.yaml",
        )


def test_one_key_declared_with_two_schemes_is_refused(pipeline: Pipeline, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    public = rsa.generate_private_key(public_exponent=65537, key_size=3072).public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (pipeline.root / "keys" / "legacy.pub").write_bytes(pem)
    declared = {
        "keytype": "rsa",
        "scheme": "rsa-pkcs1v15-sha256",
        "keyval": {"public": pem.decode()},
    }
    (pipeline.root / "keys" / "legacy.json").write_text(json.dumps(declared))
    data = pipeline.policy_dict()
    data["keys"] = {"ci": "keys/ci.pub", "a": "keys/legacy.pub", "b": "keys/legacy.json"}
    data["stages"] = [{"name": "release", "signed_by": ["a", "b"], "threshold": 2}]
    pipeline.write_policy(data)
    verdict = pipeline.verify(pipeline.build_artifact())
    assert codes(verdict) == {"verify/policy-invalid"}
    assert "one key declared with two schemes" in verdict.reasons[0].message


def test_policy_validate_shows_the_source_matcher(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    _policy(
        pipeline, source_repositories=[REPO], source_refs=["refs/tags/v*"], must_match_commit=True
    )
    assert main(["policy", "validate", str(pipeline.policy_path)]) == 0
    out = capsys.readouterr().out
    assert f"of {REPO} at refs/tags/v* (its recorded commit must be the one verified)" in out
