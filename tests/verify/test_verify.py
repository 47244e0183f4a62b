"""The verifier: a pass, and every verify/ reason code blocking where its condition holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gatekeeper.attest.keys import load_signer, write_keypair
from gatekeeper.errors import InvalidInput
from gatekeeper.models.envelope import Envelope, Signature
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.statement import Artifact, RunInfo, StagePredicate
from gatekeeper.verify import evaluate
from tests.harness import Pipeline, b64, codes


def test_full_chain_passes(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "pass", verdict.reasons
    assert verdict.reasons == []


def test_pass_with_run_id_binding(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all(run_id="run-7")
    assert pipeline.verify(artifact).allowed


def test_policy_invalid(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    data = pipeline.policy_dict()
    data["stages"][0]["signed_bye"] = ["ci"]  # a typo must never weaken a gate
    pipeline.write_policy(data)
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/policy-invalid"}
    assert "signed_bye" in verdict.reasons[0].message


def test_policy_without_stages_blocks(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    data = pipeline.policy_dict()
    data["stages"] = []
    pipeline.write_policy(data)
    assert codes(pipeline.verify(artifact)) == {"verify/policy-invalid"}


def test_policy_key_file_missing_blocks(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    data = pipeline.policy_dict()
    data["keys"]["ci"] = "keys/absent.pub"
    pipeline.write_policy(data)
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/policy-invalid"}
    assert "absent.pub" in verdict.reasons[0].message


def test_policy_expired(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    pipeline.write_policy(expires="2020-01-01T00:00:00Z")
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/policy-expired"}


def test_policy_unsigned_and_signed(pipeline: Pipeline) -> None:
    from gatekeeper.cli import main

    artifact = pipeline.run_all()
    policy_key = str(pipeline.keys / "rm.pub")
    assert codes(pipeline.verify(artifact, policy_key=policy_key)) == {"verify/policy-unsigned"}
    assert main(["policy", "sign", "--key", pipeline.key("rm"), str(pipeline.policy_path)]) == 0
    assert pipeline.verify(artifact, policy_key=policy_key).allowed
    # Signed by a key other than the policy key.
    assert codes(pipeline.verify(artifact, policy_key=str(pipeline.keys / "ci.pub"))) == {
        "verify/policy-unsigned"
    }
    # Edited after signing.
    pipeline.policy_path.write_text(pipeline.policy_path.read_text().replace("7d", "700d"))
    verdict = pipeline.verify(artifact, policy_key=policy_key)
    assert codes(verdict) == {"verify/policy-unsigned"}
    assert "differs from the one that was signed" in verdict.reasons[0].message


def test_missing_stage(pipeline: Pipeline) -> None:
    artifact = pipeline.build_artifact()
    pipeline.attest("build", materials=["src/**"], products=["dist/*"])
    pipeline.attest("release", keys=["ci", "rm"], materials=["dist/*"], products=["dist/*"])
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/missing-stage"}
    assert any(r.code == "verify/missing-stage" and r.stage == "source" for r in verdict.reasons)


def test_empty_store_is_missing_stage(pipeline: Pipeline) -> None:
    artifact = pipeline.build_artifact()
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/missing-stage"}


def test_unsigned(pipeline: Pipeline) -> None:
    pipeline.attest("source", products=["src/**"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", materials=["src/**"], products=["dist/*"])
    result = pipeline.attest(
        "release", keys=["ci", "rm"], materials=["dist/*"], products=["dist/*"]
    )
    for path in (pipeline.store / "envelopes").iterdir():
        data = json.loads(path.read_text())
        if path.stem == result.envelope_id:
            data["signatures"] = []
            path.write_text(json.dumps(data))
    assert "verify/unsigned" in codes(pipeline.verify(artifact))


def test_bad_signature_on_tampered_payload(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    path = next(
        p
        for p in (pipeline.store / "envelopes").iterdir()
        if b'"stage":"build"'
        in __import__("base64").b64decode(json.loads(p.read_text())["payload"])
    )
    data = json.loads(path.read_text())
    payload = (
        __import__("base64")
        .b64decode(data["payload"])
        .replace(b'"gatekeeper_version":"', b'"gatekeeper_version":"9')
    )
    assert payload != __import__("base64").b64decode(data["payload"])
    data["payload"] = b64(payload)
    path.write_text(json.dumps(data))
    verdict = pipeline.verify(artifact)
    assert "verify/bad-signature" in codes(verdict)
    assert pipeline.verify(artifact).verdict == "block"


def test_untrusted_key(pipeline: Pipeline) -> None:
    pipeline.attest("source", keys=["other"], products=["src/**"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", keys=["rm"], materials=["src/**"], products=["dist/*"])
    pipeline.attest("release", keys=["ci", "rm"], materials=["dist/*"], products=["dist/*"])
    verdict = pipeline.verify(artifact)
    by_stage = {r.stage: r for r in verdict.reasons}
    assert by_stage["source"].code == "verify/untrusted-key"
    assert "does not know" in by_stage["source"].message
    assert by_stage["build"].code == "verify/untrusted-key"
    assert "release-manager" in by_stage["build"].message  # a policy key, not trusted for build


def test_threshold(pipeline: Pipeline) -> None:
    pipeline.attest("source", products=["src/**"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", materials=["src/**"], products=["dist/*"])
    pipeline.attest("release", keys=["ci"], materials=["dist/*"], products=["dist/*"])
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/threshold"}


def test_same_signature_repeated_counts_once(pipeline: Pipeline) -> None:
    pipeline.attest("source", products=["src/**"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", materials=["src/**"], products=["dist/*"])
    result = pipeline.attest("release", keys=["ci"], materials=["dist/*"], products=["dist/*"])
    sig = result.envelope.signatures[0]
    rm_keyid = load_signer(pipeline.key("rm")).keyid
    doubled = result.envelope.model_copy(
        update={"signatures": [sig, Signature(keyid=rm_keyid, sig=sig.sig)]}
    )
    (pipeline.store / "envelopes" / f"{result.envelope_id}.json").unlink()
    pipeline.store_envelope(doubled, "release", result.predicate.products[0].digest["sha256"])
    assert "verify/threshold" in codes(pipeline.verify(artifact))


def test_two_policy_names_for_one_key_count_once(pipeline: Pipeline) -> None:
    pipeline.attest("source", products=["src/**"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", materials=["src/**"], products=["dist/*"])
    pipeline.attest("release", keys=["ci"], materials=["dist/*"], products=["dist/*"])
    data = pipeline.policy_dict()
    data["keys"]["ci-again"] = "keys/ci.pub"
    data["stages"][2]["signed_by"] = ["ci", "ci-again"]
    pipeline.write_policy(data)
    assert codes(pipeline.verify(artifact)) == {"verify/threshold"}


def test_chain_broken_when_source_changes_between_stages(pipeline: Pipeline) -> None:
    pipeline.attest("source", products=["src/**"])
    (pipeline.repo_path / "src" / "app.py").write_text("print('backdoor')\n")
    artifact = pipeline.build_artifact()
    pipeline.attest("build", materials=["src/**"], products=["dist/*"])
    pipeline.attest("release", keys=["ci", "rm"], materials=["dist/*"], products=["dist/*"])
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/chain-broken"}
    assert "src/app.py" in verdict.reasons[0].message


def test_subject_mismatch(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    artifact.write_text("a different artifact")
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/subject-mismatch"}


def test_commit_mismatch(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    head = pipeline.repo.head.commit.hexsha
    assert pipeline.verify(artifact, commit=head).allowed
    assert pipeline.verify(artifact, commit=head.upper()).allowed
    verdict = pipeline.verify(artifact, commit="0" * 40)
    assert codes(verdict) == {"verify/commit-mismatch"}


@pytest.mark.parametrize("length", [7, 12, 39])
def test_an_abbreviated_commit_is_refused(pipeline: Pipeline, length: int) -> None:
    # A prefix names every commit that shares it (an attacker can mine one that does).
    artifact = pipeline.run_all()
    head = pipeline.repo.head.commit.hexsha
    with pytest.raises(InvalidInput, match="full commit id"):
        pipeline.verify(artifact, commit=head[:length])


def test_run_mismatch_blocks_replayed_stage(pipeline: Pipeline) -> None:
    pipeline.attest("source", run_id="run-1", products=["src/**"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", run_id="run-2", materials=["src/**"], products=["dist/*"])
    pipeline.attest(
        "release", keys=["ci", "rm"], run_id="run-2", materials=["dist/*"], products=["dist/*"]
    )
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/run-mismatch"}
    assert "run-1" in verdict.reasons[0].message and "run-2" in verdict.reasons[0].message


def test_run_mismatch_on_another_commit(pipeline: Pipeline) -> None:
    from tests.conftest import commit_files

    pipeline.attest("source", products=["src/**"])
    commit_files(pipeline.repo, {"docs.md": "new commit\n"}, "docs")
    artifact = pipeline.build_artifact()
    pipeline.attest("build", materials=["src/**"], products=["dist/*"])
    pipeline.attest("release", keys=["ci", "rm"], materials=["dist/*"], products=["dist/*"])
    assert codes(pipeline.verify(artifact)) == {"verify/run-mismatch"}


def test_right_run_is_chosen_among_several(pipeline: Pipeline) -> None:
    # An older run's source attestation is in the store too; the matching one is used.
    pipeline.attest("source", run_id="old", products=["src/**"])
    artifact = pipeline.run_all(run_id="new")
    assert pipeline.verify(artifact).allowed


def test_stage_failed(pipeline: Pipeline) -> None:
    pipeline.attest("source", products=["src/**"])
    artifact = pipeline.build_artifact()
    result = pipeline.attest(
        "build", materials=["src/**"], products=["dist/*"], command=["sh", "-c", "exit 3"]
    )
    assert result.exit_code == 3
    pipeline.attest("release", keys=["ci", "rm"], materials=["dist/*"], products=["dist/*"])
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/stage-failed"}
    assert "exited with 3" in verdict.reasons[0].message


def test_stale(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    later = datetime.now(UTC) + timedelta(days=8)
    verdict = pipeline.verify(artifact, now=later)
    assert codes(verdict) == {"verify/stale"}
    assert len(verdict.reasons) == 3


def test_attestation_from_the_future_is_stale(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    earlier = datetime.now(UTC) - timedelta(hours=1)
    assert codes(pipeline.verify(artifact, now=earlier)) == {"verify/stale"}


def _predicate(pipeline: Pipeline, stage: str, **fields: object) -> StagePredicate:
    now = datetime.now(UTC)
    base: dict[str, object] = {
        "stage": stage,
        "started_at": now,
        "finished_at": now,
        "run": RunInfo(source_commit=pipeline.repo.head.commit.hexsha),
    }
    base.update(fields)
    return StagePredicate.model_validate(base)


def _single_stage_policy(pipeline: Pipeline, **stage: object) -> None:
    data = pipeline.policy_dict()
    data["stages"] = [{"name": "scan", "signed_by": ["ci"], **stage}]
    pipeline.write_policy(data)


def _finding(rule: str, severity: Severity, path: str) -> Finding:
    return Finding.make(rule, severity, "planted", path=path, line=3, key="k")


def test_audit_missing(pipeline: Pipeline) -> None:
    artifact = pipeline.build_artifact()
    digest = {"sha256": __import__("hashlib").sha256(artifact.read_bytes()).hexdigest()}
    _single_stage_policy(pipeline, requires=["secrets", "deps"])
    pipeline.store_predicate(
        _predicate(
            pipeline,
            "scan",
            products=[Artifact(name="dist/app-1.0.tar.gz", digest=digest)],
            audited=["secrets"],
        )
    )
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/audit-missing"}
    assert "deps" in verdict.reasons[0].message


def test_audit_failed_and_exceptions(pipeline: Pipeline) -> None:
    artifact = pipeline.build_artifact()
    digest = {"sha256": __import__("hashlib").sha256(artifact.read_bytes()).hexdigest()}
    _single_stage_policy(pipeline)
    findings = [
        _finding("secrets/generic-assignment", Severity.HIGH, "tests/fixtures/a.env"),
        _finding("deps/new-dependency", Severity.INFO, "requirements.txt"),
    ]
    pipeline.store_predicate(
        _predicate(
            pipeline,
            "scan",
            products=[Artifact(name="dist/app-1.0.tar.gz", digest=digest)],
            audited=["secrets"],
            findings=findings,
        )
    )
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/audit-failed"}
    assert "secrets/generic-assignment" in verdict.reasons[0].message

    data = pipeline.policy_dict()
    data["stages"] = [{"name": "scan", "signed_by": ["ci"]}]
    data["exceptions"] = [
        {
            "rule": "secrets/generic-assignment",
            "path": "tests/fixtures/**",
            "reason": "test data",
            "expires": "2099-01-31",
        }
    ]
    pipeline.write_policy(data)
    assert pipeline.verify(artifact).allowed

    data["exceptions"][0]["expires"] = "2021-01-31"
    pipeline.write_policy(data)
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/exception-expired"}

    del data["exceptions"]
    data["audits"] = {"rules": {"secrets/generic-assignment": {"severity": "low"}}}
    pipeline.write_policy(data)
    assert pipeline.verify(artifact).allowed
    data["audits"] = {"block_at": "info"}
    pipeline.write_policy(data)
    assert len(pipeline.verify(artifact).reasons) == 2


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda env: env.model_copy(update={"payload": "%%%not base64"}), "base64"),
        (lambda env: env.model_copy(update={"payload_type": "application/json"}), "payload type"),
    ],
)
def test_malformed_envelopes(pipeline: Pipeline, mutate: object, needle: str) -> None:
    artifact = pipeline.run_all()
    data = pipeline.store / "envelopes"
    for path in data.iterdir():
        env = Envelope.model_validate_json(path.read_text())
        path.write_text(mutate(env).model_dump_json(by_alias=True))  # type: ignore[operator]
    verdict = pipeline.verify(artifact)
    assert "verify/malformed" in codes(verdict)
    assert needle in " ".join(r.message for r in verdict.reasons)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"_type": "https://in-toto.io/Statement/v1", "_type": "link"}',  # duplicate keys
        b'{"_type": "https://example.com/NotAStatement"}',
        b'["not", "an", "object"]',
        b'{"_type": "https://in-toto.io/Statement/v1", '
        b'"subject": [{"name": "a", "digest": {"sha256": "00"}}],'
        b' "predicateType": "https://example.com/unknown", "predicate": {}}',
        b"\xff\xfe not utf-8",
    ],
)
def test_malformed_payloads_signed_by_a_trusted_key(pipeline: Pipeline, payload: bytes) -> None:
    from gatekeeper.attest.dsse import sign_envelope

    artifact = pipeline.build_artifact()
    _single_stage_policy(pipeline)
    envelope = sign_envelope(
        payload, "application/vnd.in-toto+json", [load_signer(pipeline.key("ci"))]
    )
    digest = __import__("hashlib").sha256(artifact.read_bytes()).hexdigest()
    pipeline.store_envelope(envelope, "scan", digest)
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert "verify/malformed" in codes(verdict)


def test_garbage_in_store_is_malformed(pipeline: Pipeline) -> None:
    artifact = pipeline.build_artifact()
    _single_stage_policy(pipeline)
    pipeline.store_envelope(b"{not json", "scan")
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert codes(verdict) == {"verify/subject-mismatch", "verify/malformed"}


def test_internal_error_fails_closed(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    artifact = pipeline.run_all()

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(evaluate, "_verify_subject", boom)
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert codes(verdict) == {"verify/internal-error"}
    assert "disk on fire" in verdict.reasons[0].message


def test_keyid_hint_naming_trusted_key_does_not_help(pipeline: Pipeline, tmp_path: Path) -> None:
    write_keypair(tmp_path / "attacker")
    pipeline.attest("source", products=["src/**"])
    artifact = pipeline.build_artifact()
    pipeline.attest("build", materials=["src/**"], products=["dist/*"])
    from gatekeeper.attest.stage import AttestConfig, run_attest

    forged = run_attest(
        AttestConfig(
            stage="release",
            keys=[str(tmp_path / "attacker")],
            repo=pipeline.repo_path,
            store=str(tmp_path / "scratch"),
            materials=["dist/*"],
            products=["dist/*"],
            environ={},
        )
    )
    ci_id = load_signer(pipeline.key("ci")).keyid
    rm_id = load_signer(pipeline.key("rm")).keyid
    sig = forged.envelope.signatures[0].sig
    lying = forged.envelope.model_copy(
        update={"signatures": [Signature(keyid=ci_id, sig=sig), Signature(keyid=rm_id, sig=sig)]}
    )
    pipeline.store_envelope(lying, "release", forged.predicate.products[0].digest["sha256"])
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert codes(verdict) == {"verify/bad-signature"}


def test_every_artifact_must_pass(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    other = pipeline.repo_path / "unrelated.bin"
    other.write_text("never attested")
    verdict = pipeline.verify(artifact, other)
    assert codes(verdict) == {"verify/subject-mismatch"}


def test_attested_status_excuses_nothing(pipeline: Pipeline) -> None:
    artifact = pipeline.build_artifact()
    digest = {"sha256": __import__("hashlib").sha256(artifact.read_bytes()).hexdigest()}
    _single_stage_policy(pipeline)
    marked = _finding("secrets/github-token", Severity.CRITICAL, "app.env").model_copy(
        update={"status": "baseline"}
    )
    pipeline.store_predicate(
        _predicate(
            pipeline,
            "scan",
            products=[Artifact(name="dist/app-1.0.tar.gz", digest=digest)],
            audited=["secrets"],
            findings=[marked],
        )
    )
    verdict = pipeline.verify(artifact)
    assert codes(verdict) == {"verify/audit-failed"}
