"""An e-mail identity (as ``cosign attest`` run by a person makes) through the whole verify.

The published cosign bundle (data/cosign-oci-attestation.sigstore.json) carries a Statement
v0.1 with cosign's own predicate, which no stage of a policy stands for, so its bundle-level
verdicts are in test_public_bundles.py. Here the stand-in instance certifies an e-mail identity
(a GitHub OAuth login, as Fulcio does for cosign users) for a SLSA provenance statement, and
``verify`` judges it end to end: it passes for that e-mail and issuer, and blocks for another
e-mail, another issuer, another digest and an altered payload.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from gatekeeper.cli import main
from tests.sigstore.conftest import verdict_json, write_policy
from tests.sigstore.standin import Instance

EMAIL = "release-manager@acme.example"
GITHUB_OAUTH = "https://github.com/login/oauth"
ARTIFACT = b"app"
STATEMENT = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "app.tar.gz", "digest": {"sha256": hashlib.sha256(ARTIFACT).hexdigest()}}],
    "predicateType": "https://slsa.dev/provenance/v1",
    "predicate": {
        "buildDefinition": {"buildType": "https://acme.example/make@v1", "externalParameters": {}},
        "runDetails": {"builder": {"id": "https://acme.example/laptop"}},
    },
}


def _bundle(tmp_path: Path, instance: Instance, payload: bytes | None = None) -> Path:
    data = json.dumps(STATEMENT).encode()
    bundle = instance.bundle(data, instance.email_token(EMAIL))
    if payload is not None:
        bundle["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    path = tmp_path / "email.sigstore.json"
    path.write_text(json.dumps(bundle))
    return path


def _verify(
    tmp_path: Path,
    instance: Instance,
    bundle: Path,
    subject: str = EMAIL,
    issuer: str = GITHUB_OAUTH,
    digest: str | None = None,
) -> int:
    (tmp_path / "root.json").write_text(json.dumps(instance.trusted_root()))
    key = {"identity": {"issuer": issuer, "subject": subject}, "trusted_root": "local"}
    policy = write_policy(tmp_path, {"manager": key}, trusted_roots={"local": "root.json"})
    digest = digest or f"sha256:{hashlib.sha256(ARTIFACT).hexdigest()}"
    args = ["verify", "--policy", str(policy), "--store", str(tmp_path / "s"), "--no-log"]
    return main([*args, "--format", "json", "--bundle", str(bundle), "--digest", digest])


def _reason(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    [reason] = verdict_json(capsys)["reasons"]
    return reason["code"], reason["message"]


def test_an_email_identity_passes_for_its_address_and_issuer(
    tmp_path: Path, instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _verify(tmp_path, instance, _bundle(tmp_path, instance)) == 0
    assert verdict_json(capsys)["verdict"] == "pass"


@pytest.mark.parametrize(
    ("subject", "issuer", "why"),
    [
        ("intern@acme.example", GITHUB_OAUTH, f"subject {EMAIL} is not intern@acme.example"),
        (EMAIL, "https://accounts.google.com", f"issuer {GITHUB_OAUTH} is not"),
    ],
)
def test_another_email_or_issuer_blocks(
    tmp_path: Path,
    instance: Instance,
    capsys: pytest.CaptureFixture[str],
    subject: str,
    issuer: str,
    why: str,
) -> None:
    bundle = _bundle(tmp_path, instance)
    assert _verify(tmp_path, instance, bundle, subject=subject, issuer=issuer) == 1
    code, message = _reason(capsys)
    assert code == "verify/untrusted-key"
    assert f"signed keyless by {EMAIL}" in message and why in message


def test_another_digest_blocks(
    tmp_path: Path, instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    other = f"sha256:{hashlib.sha256(b'another artifact').hexdigest()}"
    assert _verify(tmp_path, instance, _bundle(tmp_path, instance), digest=other) == 1
    code, _message = _reason(capsys)
    assert code == "verify/subject-mismatch"


def test_an_altered_payload_blocks(
    tmp_path: Path, instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    altered = json.loads(json.dumps(STATEMENT))
    altered["predicate"]["runDetails"]["builder"]["id"] = "https://evil.example/builder"
    bundle = _bundle(tmp_path, instance, payload=json.dumps(altered).encode())
    assert _verify(tmp_path, instance, bundle) == 1
    code, message = _reason(capsys)
    assert code == "verify/bad-signature"
    assert "the envelope's signature does not verify" in message
