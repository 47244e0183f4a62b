"""A signed policy binds the key files it names: replacing one after signing blocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekeeper.attest.dsse import sign_envelope
from gatekeeper.attest.keys import load_signer, write_keypair
from gatekeeper.attest.stage import envelope_bytes
from gatekeeper.cli import main
from gatekeeper.models.envelope import POLICY_PAYLOAD_TYPE
from gatekeeper.verify.policy_signature import POLICY_SIGNATURE_TYPE
from tests.harness import Pipeline, codes


def _sign(pipeline: Pipeline) -> str:
    """Sign the pipeline's policy with a policy key of its own; the public key's path."""
    write_keypair(pipeline.keys / "policy")
    assert main(["policy", "sign", "--key", pipeline.key("policy"), str(pipeline.policy_path)]) == 0
    return str(pipeline.keys / "policy.pub")


def test_signed_policy_passes(pipeline: Pipeline) -> None:
    artifact = pipeline.run_all()
    assert pipeline.verify(artifact, policy_key=_sign(pipeline)).allowed


def test_key_file_replaced_after_signing_blocks(pipeline: Pipeline) -> None:
    policy_key = _sign(pipeline)
    # The attacker swaps keys/ci.pub (and keys/rm.pub) for their own keys and attests a
    # whole pipeline with them: the policy text and its signature are untouched.
    for name in ("ci", "rm"):
        write_keypair(pipeline.keys / name, force=True)
    artifact = pipeline.run_all()
    verdict = pipeline.verify(artifact, policy_key=policy_key)
    assert verdict.verdict == "block"
    assert codes(verdict) == {"verify/policy-unsigned"}
    message = verdict.reasons[0].message
    assert "ci.pub (key ci)" in message and "differs from the one signed" in message
    # Without the policy key nothing binds the keys: the swap is the policy's business.
    assert pipeline.verify(artifact).allowed


def test_signature_payload_lists_the_policy_and_its_key_files(pipeline: Pipeline) -> None:
    _sign(pipeline)
    envelope = json.loads(Path(f"{pipeline.policy_path}.sig").read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    import base64

    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == POLICY_SIGNATURE_TYPE
    names = {s["name"] for s in statement["subject"]}
    assert names == {"policy.yaml", "keys/ci.pub", "keys/rm.pub"}
    assert statement["predicate"]["keys"] == {"ci": "keys/ci.pub", "release-manager": "keys/rm.pub"}


def test_signature_of_the_policy_text_only_is_refused_with_a_reason(pipeline: Pipeline) -> None:
    # What `policy sign` wrote before key files were bound: the policy's bytes alone.
    artifact = pipeline.run_all()
    write_keypair(pipeline.keys / "policy")
    legacy = sign_envelope(
        pipeline.policy_path.read_bytes(),
        POLICY_PAYLOAD_TYPE,
        [load_signer(pipeline.key("policy"))],
    )
    Path(f"{pipeline.policy_path}.sig").write_bytes(envelope_bytes(legacy))
    verdict = pipeline.verify(artifact, policy_key=str(pipeline.keys / "policy.pub"))
    assert codes(verdict) == {"verify/policy-unsigned"}
    assert "sign the policy again" in verdict.reasons[0].message


def test_policy_edited_to_name_another_key_file_blocks(pipeline: Pipeline) -> None:
    policy_key = _sign(pipeline)
    artifact = pipeline.run_all()
    data = pipeline.policy_dict()
    data["keys"]["ci"] = "keys/other.pub"
    pipeline.write_policy(data)
    verdict = pipeline.verify(artifact, policy_key=policy_key)
    assert "verify/policy-unsigned" in codes(verdict)
    assert "differs from the one that was signed" in verdict.reasons[0].message


def test_a_stage_envelope_is_not_a_policy_signature(pipeline: Pipeline) -> None:
    # The policy key signs something else (an attestation); presented as POLICY.sig it fails.
    artifact = pipeline.run_all()
    write_keypair(pipeline.keys / "policy")
    result = pipeline.attest("source", keys=["policy"], products=["src/**"])
    Path(f"{pipeline.policy_path}.sig").write_bytes(envelope_bytes(result.envelope))
    verdict = pipeline.verify(artifact, policy_key=str(pipeline.keys / "policy.pub"))
    assert "verify/policy-unsigned" in codes(verdict)
    assert "not a policy signature" in verdict.reasons[0].message


def test_policy_sign_refuses_a_policy_whose_key_file_is_missing(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    write_keypair(pipeline.keys / "policy")
    (pipeline.keys / "rm.pub").unlink()
    code = main(["policy", "sign", "--key", pipeline.key("policy"), str(pipeline.policy_path)])
    assert code == 2
    assert "rm.pub" in capsys.readouterr().err
    assert not Path(f"{pipeline.policy_path}.sig").exists()
