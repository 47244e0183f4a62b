"""SLSA verification summaries: `verify --emit-vsa` signs one on pass only; `vsa verify`
checks signature, subject, result, policy digest and age, and blocks on any mismatch."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from securesystemslib.dsse import Envelope as SslibEnvelope

from gatekeeper.attest.dsse import sign_envelope
from gatekeeper.attest.keys import load_public_key, load_signer, write_keypair
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
from gatekeeper.verify import VsaCheck, check_vsa


@pytest.fixture
def gate(pipeline: Any) -> Any:
    """A pipeline that passed, the gate's key pair, and a summary signed by verify."""
    write_keypair(pipeline.keys / "gate")
    pipeline.artifact = pipeline.run_all(run_id="run-1")
    pipeline.vsa = pipeline.root / "vsa.dsse.json"
    code = main(
        [
            "verify",
            "--policy",
            str(pipeline.policy_path),
            "--store",
            str(pipeline.store),
            "--format",
            "json",
            "--emit-vsa",
            str(pipeline.vsa),
            "--key",
            pipeline.key("gate"),
            str(pipeline.artifact),
        ]
    )
    assert code == 0
    return pipeline


def _digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _statement(path: Path) -> dict[str, Any]:
    envelope = json.loads(path.read_text())
    return json.loads(base64.b64decode(envelope["payload"]))  # type: ignore[no-any-return]


def _vsa_verify(gate: Any, *extra: str, key: str = "gate") -> int:
    named = any(e in ("--policy", "--policy-digest") for e in extra)
    return main(
        [
            "vsa",
            "verify",
            "--key",
            f"{gate.key(key)}.pub",
            "--format",
            "json",
            *([] if named else ["--any-policy"]),
            *extra,
            str(gate.vsa),
        ]
    )


def _codes(capsys: pytest.CaptureFixture[str]) -> set[str]:
    return {r["code"] for r in json.loads(capsys.readouterr().out)["reasons"]}


def test_a_passing_verify_signs_a_vsa_v1(gate: Any) -> None:
    statement = _statement(gate.vsa)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/verification_summary/v1"
    assert statement["subject"] == [
        {"name": str(gate.artifact), "digest": {"sha256": _digest(gate.artifact)[7:]}}
    ]
    predicate = statement["predicate"]
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["slsaVersion"] == "1.0"
    # The pipeline's build stage recorded the artifact but ran no command: nothing was seen
    # being built, so level 1 is not claimed; and no dependency was verified, so the
    # summary says nothing about dependencies (`{}` would mean "none").
    assert predicate["verifiedLevels"] == ["SLSA_BUILD_LEVEL_0"]
    assert "dependencyLevels" not in predicate
    assert predicate["verifier"]["id"] == "https://gatekeeper.dev/verifier/v1"
    assert predicate["policy"]["digest"] == {"sha256": _digest(gate.policy_path)[7:]}
    assert predicate["resourceUri"] == str(gate.artifact)
    stored = {p.stem for p in (Path(gate.store) / "envelopes").glob("*.json")}
    inputs = {a["digest"]["sha256"] for a in predicate["inputAttestations"]}
    assert len(inputs) == 3 and inputs <= stored  # source, build and release
    verified = datetime.fromisoformat(predicate["timeVerified"])
    assert abs(datetime.now(UTC) - verified) < timedelta(minutes=1)


def test_the_summary_verifies_with_securesystemslib(gate: Any) -> None:
    envelope = SslibEnvelope.from_dict(json.loads(gate.vsa.read_text()))
    key = load_public_key(f"{gate.key('gate')}.pub")
    verified = envelope.verify([key], 1)
    assert list(verified) == [key.keyid]


def test_vsa_verify_passes_for_the_artifact_and_policy(
    gate: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _vsa_verify(gate, "--artifact", str(gate.artifact)) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "pass"
    assert "was not checked" in out["notes"][0]  # no policy given: said, not silently skipped
    assert (
        _vsa_verify(
            gate, "--image-digest", _digest(gate.artifact), "--policy", str(gate.policy_path)
        )
        == 0
    )
    assert (
        _vsa_verify(
            gate,
            "--image-digest",
            _digest(gate.artifact),
            "--policy-digest",
            _digest(gate.policy_path),
            "--max-age",
            "1h",
        )
        == 0
    )


def test_another_key_is_refused(gate: Any, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert _vsa_verify(gate, "--artifact", str(gate.artifact), key="ci") == 1
    assert _codes(capsys) == {"verify/bad-signature"}


def test_another_artifact_is_refused(gate: Any, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert _vsa_verify(gate, "--image-digest", "sha256:" + "0" * 64) == 1
    assert _codes(capsys) == {"verify/subject-mismatch"}


def test_another_policy_is_refused(gate: Any, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    gate.write_policy(max_age="30d")  # a weaker policy: another digest
    assert (
        _vsa_verify(gate, "--artifact", str(gate.artifact), "--policy", str(gate.policy_path)) == 1
    )
    assert _codes(capsys) == {"verify/vsa-policy-mismatch"}


def test_an_old_or_future_summary_is_refused(gate: Any) -> None:
    check = VsaCheck(
        path=gate.vsa,
        keys=[f"{gate.key('gate')}.pub"],
        subjects=[(str(gate.artifact), _digest(gate.artifact))],
        policy_digest=_digest(gate.policy_path),
        max_age=timedelta(days=1),
    )
    assert check_vsa(check).allowed
    later = check_vsa(VsaCheck(**{**check.__dict__, "now": datetime.now(UTC) + timedelta(days=2)}))
    assert [r.code for r in later.reasons] == ["verify/stale"]
    assert "old" in later.reasons[0].message
    earlier = check_vsa(
        VsaCheck(**{**check.__dict__, "now": datetime.now(UTC) - timedelta(hours=1)})
    )
    assert [r.code for r in earlier.reasons] == ["verify/stale"]
    assert "future" in earlier.reasons[0].message


def _sign_statement(gate: Any, statement: dict[str, Any], path: Path) -> None:
    payload = json.dumps(statement).encode()
    envelope = sign_envelope(payload, INTOTO_PAYLOAD_TYPE, [load_signer(gate.key("gate"))])
    path.write_text(json.dumps(envelope.model_dump(by_alias=True)))


def test_a_failed_result_is_refused_even_when_signed(
    gate: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    statement = _statement(gate.vsa)
    statement["predicate"]["verificationResult"] = "FAILED"
    _sign_statement(gate, statement, gate.vsa)
    capsys.readouterr()
    assert _vsa_verify(gate, "--artifact", str(gate.artifact)) == 1
    assert _codes(capsys) == {"verify/vsa-failed"}


def test_another_verifier_id_is_refused_when_one_is_required(
    gate: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert (
        _vsa_verify(
            gate,
            "--artifact",
            str(gate.artifact),
            "--verifier-id",
            "https://gatekeeper.dev/verifier/v1",
        )
        == 0
    )
    capsys.readouterr()
    assert (
        _vsa_verify(
            gate,
            "--artifact",
            str(gate.artifact),
            "--verifier-id",
            "https://other.example/verifier",
        )
        == 1
    )
    assert _codes(capsys) == {"verify/vsa-verifier-mismatch"}


@pytest.mark.parametrize(
    "mutate", ["stage-attestation", "not-json", "unsigned", "missing-field", "payload-type"]
)
def test_malformed_summaries_are_refused(
    gate: Any, capsys: pytest.CaptureFixture[str], mutate: str
) -> None:
    statement = _statement(gate.vsa)
    envelope = json.loads(gate.vsa.read_text())
    expected = "verify/malformed"
    if mutate == "stage-attestation":
        statement["predicateType"] = "https://gatekeeper.dev/attestation/stage/v1"
        _sign_statement(gate, statement, gate.vsa)
    elif mutate == "not-json":
        gate.vsa.write_text("{not json")
    elif mutate == "unsigned":
        envelope["signatures"] = []
        gate.vsa.write_text(json.dumps(envelope))
        expected = "verify/unsigned"
    elif mutate == "missing-field":
        del statement["predicate"]["policy"]
        _sign_statement(gate, statement, gate.vsa)
    else:
        payload = json.dumps(statement).encode()
        signed = sign_envelope(payload, "application/json", [load_signer(gate.key("gate"))])
        gate.vsa.write_text(json.dumps(signed.model_dump(by_alias=True)))
    capsys.readouterr()
    assert _vsa_verify(gate, "--artifact", str(gate.artifact)) == 1
    assert _codes(capsys) == {expected}


def test_a_blocked_verify_writes_no_summary_and_removes_a_stale_one(
    gate: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gate.vsa.exists()
    gate.artifact.write_text("tampered build")
    code = main(
        [
            "verify",
            "--policy",
            str(gate.policy_path),
            "--store",
            str(gate.store),
            "--format",
            "json",
            "--emit-vsa",
            str(gate.vsa),
            "--key",
            gate.key("gate"),
            str(gate.artifact),
        ]
    )
    assert code == 1
    assert not gate.vsa.exists()
    assert "no verification summary written" in capsys.readouterr().err


def test_usage_errors(gate: Any) -> None:
    base = [
        "verify",
        "--policy",
        str(gate.policy_path),
        "--store",
        str(gate.store),
        "--no-log",
        str(gate.artifact),
    ]
    assert main([*base, "--key", gate.key("gate")]) == 2  # --key without --emit-vsa
    assert main([*base, "--emit-vsa", str(gate.root / "x.json")]) == 2  # no key
    assert (
        main([*base, "--emit-vsa", str(gate.root / "x.json"), "--key", str(gate.root / "missing")])
        == 2
    )
    assert not (gate.root / "x.json").exists()
    assert main(["vsa", "verify", "--key", f"{gate.key('gate')}.pub", str(gate.vsa)]) == 2
    assert (
        main(
            [
                "vsa",
                "verify",
                "--key",
                f"{gate.key('gate')}.pub",
                "--artifact",
                str(gate.artifact),
                "--policy-digest",
                "md5:abc",
                str(gate.vsa),
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "vsa",
                "verify",
                "--key",
                f"{gate.key('gate')}.pub",
                "--artifact",
                str(gate.artifact),
                "--max-age",
                "forever",
                str(gate.vsa),
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "vsa",
                "verify",
                "--key",
                gate.key("gate"),
                "--artifact",
                str(gate.artifact),
                str(gate.vsa),
            ]
        )
        == 2
    )  # a private key is not a trust root


def _failing_signer(gate: Any) -> Any:
    """The gate's key, behind a signer that fails (as a KMS or token signer may)."""
    from dataclasses import replace

    from gatekeeper.attest.keys import load_signer

    class _Down:
        def sign(self, _payload: bytes) -> Any:
            raise ConnectionError("KMS unreachable")

    return replace(load_signer(gate.key("gate")), signer=_Down())


def test_a_summary_that_cannot_be_signed_blocks_and_is_logged_as_a_block(gate: Any) -> None:
    from gatekeeper.models.decision import DecisionEntry
    from gatekeeper.store import open_store
    from gatekeeper.verify import SummaryRequest, VerifyConfig, VerifyRequest, verify_artifacts

    assert gate.vsa.exists()  # from the passing run of the fixture
    outcome = verify_artifacts(
        VerifyRequest(
            config=VerifyConfig(
                policy_path=gate.policy_path, artifacts=[str(gate.artifact)], store=str(gate.store)
            ),
            summary=SummaryRequest(path=gate.vsa, signers=[_failing_signer(gate)]),
        )
    )
    assert outcome.verdict.verdict == "block" and outcome.exit_code == 3
    [reason] = outcome.verdict.reasons
    assert reason.code == "verify/internal-error" and "KMS unreachable" in reason.message
    assert not gate.vsa.exists()  # the stale summary of the earlier pass is gone
    last = open_store(str(gate.store)).decision_log().lines()[-1]
    assert DecisionEntry.model_validate_json(last).verdict == "block"


def test_a_decision_that_cannot_be_logged_writes_no_summary(
    gate: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gate.vsa.exists()
    log = gate.store / "log" / "decisions.jsonl"
    log.write_bytes(log.read_bytes() + b'{"torn":')  # a damaged tail is never appended to
    code = main(
        [
            "verify",
            "--policy",
            str(gate.policy_path),
            "--store",
            str(gate.store),
            "--format",
            "json",
            "--emit-vsa",
            str(gate.vsa),
            "--key",
            gate.key("gate"),
            str(gate.artifact),
        ]
    )
    out = capsys.readouterr()
    assert code == 3
    assert json.loads(out.out)["verdict"] == "block"
    assert "could not be logged" in out.err and "no verification summary written" in out.err
    assert not gate.vsa.exists()


def test_a_policy_must_be_named_or_any_policy_accepted_explicitly(
    gate: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Another (weaker) policy's summary must not pass a deploy step that named no policy.
    base = ["vsa", "verify", "--key", f"{gate.key('gate')}.pub", "--artifact", str(gate.artifact)]
    assert main([*base, str(gate.vsa)]) == 2
    assert "--any-policy" in capsys.readouterr().err
    assert main([*base, "--any-policy", "--format", "json", str(gate.vsa)]) == 0
    assert "was not checked" in json.loads(capsys.readouterr().out)["notes"][0]
    assert main([*base, "--any-policy", "--policy", str(gate.policy_path), str(gate.vsa)]) == 2
    with pytest.raises(InvalidInput, match="any-policy"):
        check_vsa(
            VsaCheck(
                path=gate.vsa,
                keys=[f"{gate.key('gate')}.pub"],
                subjects=[(str(gate.artifact), _digest(gate.artifact))],
            )
        )


def _verify_with_summary(gate: Any, *extra: str) -> int:
    return main(
        [
            "verify",
            "--policy",
            str(gate.policy_path),
            "--store",
            str(gate.store),
            "--format",
            "json",
            "--emit-vsa",
            str(gate.vsa),
            "--key",
            gate.key("gate"),
            *extra,
            str(gate.artifact),
        ]
    )


def test_a_verify_that_fails_unexpectedly_leaves_no_earlier_summary(
    gate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gatekeeper.verify.service as service

    def bug(*_args: object, **_kwargs: object) -> Any:
        raise RuntimeError("a bug while logging")

    assert gate.vsa.exists()
    monkeypatch.setattr(service, "record_decision", bug)
    assert _verify_with_summary(gate) == 3
    assert not gate.vsa.exists()  # the earlier pass's summary cannot stand for this run


def test_a_verify_refused_for_usage_leaves_no_earlier_summary(gate: Any) -> None:
    assert gate.vsa.exists()
    assert _verify_with_summary(gate, "--commit", "abc1234") == 2
    assert not gate.vsa.exists()


def test_a_summary_path_that_is_a_pipe_is_never_unlinked(tmp_path: Path) -> None:
    # `--emit-vsa /dev/null` names a device: there is no earlier summary in it to remove,
    # and unlinking it (as root) would delete the device node.
    from gatekeeper.verify.summary import remove_stale_summary

    fifo = tmp_path / "vsa.fifo"
    os.mkfifo(fifo)
    remove_stale_summary(fifo)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    stale = tmp_path / "vsa.json"
    stale.write_text("{}")
    link = tmp_path / "vsa-link.json"
    link.symlink_to(stale)
    remove_stale_summary(link)
    remove_stale_summary(stale)
    assert not link.exists() and not link.is_symlink() and not stale.exists()
