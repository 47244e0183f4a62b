"""Crafted envelopes: every classic DSSE / signature bypass must block with a clear reason.

Each test first proves the untouched pipeline passes, then swaps in one crafted envelope for
a genuine one and asserts the verdict is a block naming why.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from gatekeeper.attest.dsse import sign_envelope, verify_envelope_signatures
from gatekeeper.attest.keys import load_public_key, load_signer, write_keypair
from gatekeeper.attest.stage import envelope_bytes
from gatekeeper.cli import main
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE, POLICY_PAYLOAD_TYPE, Envelope, Signature
from tests.adversarial.conftest import b64, envelope_json, payload_of, stage_envelope
from tests.harness import Pipeline, codes


def _passing(pipeline: Pipeline) -> Path:
    artifact = pipeline.run_all(run_id="run-1")
    assert pipeline.verify(artifact).allowed
    return artifact


def _replace(pipeline: Pipeline, stage: str, data: bytes) -> None:
    """Put ``data`` where the genuine envelope of ``stage`` was (same index markers)."""
    stage_envelope(pipeline, stage).write_bytes(data)


def _messages(verdict: object) -> str:
    return " ".join(r.message for r in verdict.reasons)  # type: ignore[attr-defined]


def test_duplicate_key_in_signed_payload_is_rejected(pipeline: Pipeline) -> None:
    artifact = _passing(pipeline)
    genuine = payload_of(stage_envelope(pipeline, "release"))
    # A lenient parser keeps the last "predicate" (the genuine one) and would pass; another
    # keeps the first. The signature is valid: both trusted keys signed these exact bytes.
    crafted = b'{"predicate":{"stage":"release","exit_code":0},' + genuine[1:]
    assert json.loads(crafted) == json.loads(genuine)
    env = sign_envelope(
        crafted,
        INTOTO_PAYLOAD_TYPE,
        [load_signer(pipeline.key("ci")), load_signer(pipeline.key("rm"))],
    )
    _replace(pipeline, "release", envelope_bytes(env))
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert "verify/malformed" in codes(verdict)
    assert "duplicate key 'predicate'" in _messages(verdict)


def test_envelope_with_two_payloads_is_rejected(pipeline: Pipeline, tmp_path: Path) -> None:
    artifact = _passing(pipeline)
    path = stage_envelope(pipeline, "build")
    env = envelope_json(path)
    forged = b64(payload_of(path).replace(b'"exit_code"', b'"exit_kode"'))
    # Two "payload" keys: the forged one first, the genuine (signed) one last.
    sigs = json.dumps(env["signatures"])
    text = (
        f'{{"payload": "{forged}", "payloadType": "{env["payloadType"]}", '
        f'"signatures": {sigs}, "payload": "{env["payload"]}"}}'
    )
    assert json.loads(text)["payload"] == env["payload"]  # what a lenient parser would see
    path.write_text(text)
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert "verify/malformed" in codes(verdict)
    assert "duplicate key 'payload'" in _messages(verdict)
    # The same through the CLI: exit 1 and a machine-readable reason.
    out = tmp_path / "verdict.json"
    rc = main(
        [
            "verify",
            "--policy",
            str(pipeline.policy_path),
            "--store",
            str(pipeline.store),
            "--format",
            "json",
            "--output",
            str(out),
            str(artifact),
        ]
    )
    assert rc == 1
    report = json.loads(out.read_text())
    assert report["verdict"] == "block"
    assert "verify/malformed" in {r["code"] for r in report["reasons"]}


def test_duplicate_signatures_key_in_envelope_is_rejected(pipeline: Pipeline) -> None:
    artifact = _passing(pipeline)
    path = stage_envelope(pipeline, "release")
    env = envelope_json(path)
    only_ci = [env["signatures"][0]]
    text = (
        f'{{"payload": "{env["payload"]}", "payloadType": "{env["payloadType"]}", '
        f'"signatures": {json.dumps(only_ci)}, "signatures": {json.dumps(env["signatures"])}}}'
    )
    path.write_text(text)
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert "duplicate key 'signatures'" in _messages(verdict)


def test_payload_type_swapped_after_signing(pipeline: Pipeline) -> None:
    artifact = _passing(pipeline)
    path = stage_envelope(pipeline, "release")
    genuine = payload_of(path)
    # The trusted keys once signed these bytes as something else (a policy document)...
    both = [load_signer(pipeline.key("ci")), load_signer(pipeline.key("rm"))]
    signed_as_policy = sign_envelope(genuine, POLICY_PAYLOAD_TYPE, both)
    # ...and an attacker relabels them as an in-toto statement.
    swapped = signed_as_policy.model_copy(update={"payload_type": INTOTO_PAYLOAD_TYPE})
    path.write_bytes(envelope_bytes(swapped))
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert "verify/bad-signature" in codes(verdict)
    # Left unswapped, the payload type itself is refused.
    path.write_bytes(envelope_bytes(signed_as_policy))
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert "verify/malformed" in codes(verdict)
    assert "payload type" in _messages(verdict)


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rsa") / "rsa"
    write_keypair(path, "rsa")
    return path


def test_rsa_signature_presented_as_ed25519_key(pipeline: Pipeline, rsa_key: Path) -> None:
    artifact = _passing(pipeline)
    path = stage_envelope(pipeline, "source")
    payload = payload_of(path)
    rsa_signed = sign_envelope(payload, INTOTO_PAYLOAD_TYPE, [load_signer(str(rsa_key))])
    ci_id = load_signer(pipeline.key("ci")).keyid
    # The envelope names the Ed25519 key; the signature is RSA-PSS. The key in the policy
    # decides the algorithm, so the signature is checked as Ed25519 and fails.
    lying = rsa_signed.model_copy(
        update={"signatures": [Signature(keyid=ci_id, sig=rsa_signed.signatures[0].sig)]}
    )
    ci_pub = load_public_key(pipeline.key("ci") + ".pub")
    _, checks = verify_envelope_signatures(lying, {"ci": ci_pub})
    assert checks[0].verified_by == ()
    path.write_bytes(envelope_bytes(lying))
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert codes(verdict) >= {"verify/bad-signature"}
    assert "claims key ci" in _messages(verdict)


def test_rsa_key_trusted_elsewhere_does_not_count_for_ed25519_stage(
    pipeline: Pipeline, rsa_key: Path
) -> None:
    data = pipeline.policy_dict()
    (pipeline.keys / "auditor.pub").write_bytes(Path(f"{rsa_key}.pub").read_bytes())
    data["keys"]["auditor"] = "keys/auditor.pub"
    data["stages"][2]["signed_by"] = ["ci", "release-manager", "auditor"]
    pipeline.write_policy(data)
    artifact = _passing(pipeline)
    path = stage_envelope(pipeline, "source")
    rsa_signed = sign_envelope(payload_of(path), INTOTO_PAYLOAD_TYPE, [load_signer(str(rsa_key))])
    ci_id = load_signer(pipeline.key("ci")).keyid
    lying = rsa_signed.model_copy(
        update={"signatures": [Signature(keyid=ci_id, sig=rsa_signed.signatures[0].sig)]}
    )
    path.write_bytes(envelope_bytes(lying))
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    reasons = {r.stage: r for r in verdict.reasons}
    assert reasons["source"].code == "verify/untrusted-key"
    assert "auditor" in reasons["source"].message


def test_keyid_of_trusted_key_on_signature_by_known_untrusted_key(pipeline: Pipeline) -> None:
    artifact = _passing(pipeline)
    path = stage_envelope(pipeline, "build")
    by_rm = sign_envelope(payload_of(path), INTOTO_PAYLOAD_TYPE, [load_signer(pipeline.key("rm"))])
    ci_id = load_signer(pipeline.key("ci")).keyid
    lying = by_rm.model_copy(
        update={"signatures": [Signature(keyid=ci_id, sig=by_rm.signatures[0].sig)]}
    )
    path.write_bytes(envelope_bytes(lying))
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    reasons = {r.stage: r for r in verdict.reasons}
    assert reasons["build"].code == "verify/untrusted-key"
    assert "release-manager" in reasons["build"].message


def test_same_signature_reencoded_never_reaches_a_threshold(pipeline: Pipeline) -> None:
    artifact = _passing(pipeline)
    path = stage_envelope(pipeline, "release")
    env = Envelope.model_validate_json(path.read_bytes())
    ci_id = load_signer(pipeline.key("ci")).keyid
    rm_id = load_signer(pipeline.key("rm")).keyid
    ci_sig = next(s for s in env.signatures if s.keyid == ci_id).sig
    raw = base64.b64decode(ci_sig)
    # One signature three ways: standard base64, URL-safe unpadded (DSSE allows both), and
    # with surrounding whitespace; each claims a different key.
    variants = [
        Signature(keyid=ci_id, sig=ci_sig),
        Signature(keyid=rm_id, sig=base64.urlsafe_b64encode(raw).decode().rstrip("=")),
        Signature(keyid="", sig=f" {ci_sig}\n"),
    ]
    path.write_bytes(envelope_bytes(env.model_copy(update={"signatures": variants})))
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert codes(verdict) == {"verify/threshold"}
    assert "1 of the 2" in _messages(verdict)


def test_unknown_signature_field_is_ignored_as_dsse_says(pipeline: Pipeline) -> None:
    # DSSE: consumers ignore unknown fields (cosign and slsa-github-generator write `cert`).
    # The field is not signed and gatekeeper reads nothing from it, so it changes nothing.
    artifact = _passing(pipeline)
    path = stage_envelope(pipeline, "release")
    env = envelope_json(path)
    env["signatures"][0]["cert"] = "-----BEGIN CERTIFICATE-----"
    env["extension"] = {"x": 1}
    path.write_text(json.dumps(env))
    assert pipeline.verify(artifact).verdict == "pass"


@pytest.mark.parametrize(
    "field", ["Payload", "PAYLOADTYPE", "Signatures", "signatures.Sig", "signatures.KEYID"]
)
def test_field_spelled_like_a_known_one_in_another_case_is_rejected(
    pipeline: Pipeline, field: str
) -> None:
    # A case-insensitive parser (Go's encoding/json) would read `Payload` as the payload:
    # two tools would then see two statements in one file.
    artifact = _passing(pipeline)
    path = stage_envelope(pipeline, "release")
    env = envelope_json(path)
    if field.startswith("signatures."):
        env["signatures"][0][field.partition(".")[2]] = "x"
    else:
        env[field] = env[field.lower()] if field.lower() in env else "x"
    path.write_text(json.dumps(env))
    verdict = pipeline.verify(artifact)
    assert verdict.verdict == "block"
    assert "verify/malformed" in codes(verdict)
    assert "only in case" in _messages(verdict)


def test_nan_and_invalid_utf8_in_envelope_are_rejected(pipeline: Pipeline) -> None:
    artifact = _passing(pipeline)
    path = stage_envelope(pipeline, "release")
    original = path.read_bytes()
    for crafted in (
        original.replace(b'"payloadType"', b'"x": NaN, "payloadType"'),
        original.replace(b'"payloadType"', b'"\xff\xfe": 1, "payloadType"'),
    ):
        path.write_bytes(crafted)
        verdict = pipeline.verify(artifact)
        assert verdict.verdict == "block"
        assert "verify/malformed" in codes(verdict)


@pytest.mark.parametrize("kind", ["fifo", "symlink", "directory"])
def test_store_entries_that_are_not_files_block_without_hanging(
    pipeline: Pipeline, tmp_path: Path, kind: str
) -> None:
    import os
    import threading

    artifact = _passing(pipeline)
    path = stage_envelope(pipeline, "release")
    genuine = path.read_bytes()
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)  # a plain open() would block forever
    elif kind == "symlink":
        outside = tmp_path / "outside.json"
        outside.write_bytes(genuine)  # even a genuine envelope is not read through a link
        os.symlink(outside, path)
    else:
        path.mkdir()
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(pipeline.verify(artifact)), daemon=True)
    worker.start()
    worker.join(20)
    assert result, "verify hung on a crafted store entry"
    verdict = result[0]
    assert verdict.verdict == "block"  # type: ignore[attr-defined]
    assert "cannot read" in _messages(verdict)


LONE_SURROGATE_LINK = (
    '{"_type": "link", "name": "st\\ud800age", "materials": {}, '
    '"products": {"a\\udfff": {"sha256": "' + "0" * 64 + '"}}}'
)


def test_import_of_a_lone_surrogate_link_is_a_clean_error(
    pipeline: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "\ud800" is valid JSON syntax but not Unicode text: it could never be written back.
    env = {
        "payload": b64(LONE_SURROGATE_LINK.encode()),
        "payloadType": INTOTO_PAYLOAD_TYPE,
        "signatures": [{"keyid": "x", "sig": "AAAA"}],
    }
    path = tmp_path / "link.json"
    path.write_text(json.dumps(env))
    assert main(["import", str(path), "--store", str(pipeline.store)]) == 2
    err = capsys.readouterr().err
    assert "lone surrogate" in err and "internal error" not in err


def test_lone_surrogate_names_signed_by_trusted_keys_are_malformed(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    artifact = _passing(pipeline)
    path = stage_envelope(pipeline, "release")
    genuine = payload_of(path)
    crafted = genuine.replace(b'"name":"dist/app-1.0.tar.gz"', b'"name":"dist/\\ud800.tar.gz"')
    assert crafted != genuine
    env = sign_envelope(
        crafted,
        INTOTO_PAYLOAD_TYPE,
        [load_signer(pipeline.key("ci")), load_signer(pipeline.key("rm"))],
    )
    path.write_bytes(envelope_bytes(env))
    out = tmp_path / "v.json"
    rc = main(
        [
            "verify",
            "--no-log",
            "--policy",
            str(pipeline.policy_path),
            "--store",
            str(pipeline.store),
            "--format",
            "json",
            "--output",
            str(out),
            str(artifact),
        ]
    )
    assert rc == 1
    report = json.loads(out.read_text(encoding="utf-8"))
    assert "verify/malformed" in {r["code"] for r in report["reasons"]}
