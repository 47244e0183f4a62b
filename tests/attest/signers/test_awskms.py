"""awskms: keys against moto's KMS server on 127.0.0.1: real keys, real signatures."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatekeeper.attest.dsse import sign_envelope, verify_envelope_signatures
from gatekeeper.attest.keys import KeyRef, export_public_key, load_public_key, load_signer
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput, SigningError
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
from tests.attest.signers.conftest import aws_environment, kms_key


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    return code, text


def _attest(tmp_path: Path, *key: str) -> list[str]:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "a.txt").write_text("a\n")
    return ["attest", "--stage", "source", "--repo", str(tmp_path), "--store",
            str(tmp_path / "store"), "--product", "src/*", *key]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "scheme"),
    [("ECC_NIST_P256", "ecdsa-sha2-nistp256"), ("RSA_3072", "rsassa-pss-sha256")],
)
def test_kms_key_signs_and_verifies_under_its_exported_pem(
    kms: Any, tmp_path: Path, spec: str, scheme: str, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"awskms:{kms_key(kms, spec)}"
    code, text = _run(["key", "export", uri, "-o", str(tmp_path / "kms.pub")], capsys)
    assert code == 0, text
    public = load_public_key(tmp_path / "kms.pub")
    assert public.scheme == scheme
    loaded = load_signer(uri)
    assert loaded.keyid == public.keyid  # the KMS key and its PEM are one key
    payload = b'{"_type": "https://in-toto.io/Statement/v1"}' * 200  # larger than RAW allows
    envelope = sign_envelope(payload, INTOTO_PAYLOAD_TYPE, [loaded])
    _, checks = verify_envelope_signatures(envelope, {"kms": public})
    assert checks[0].verified_by == ("kms",)


def test_alias_arn_and_id_are_one_key_and_sign_once(kms: Any, tmp_path: Path) -> None:
    key_id = kms_key(kms)
    kms.create_alias(AliasName="alias/release", TargetKeyId=key_id)
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    signers = [load_signer(f"awskms:{k}") for k in (key_id, "alias/release", arn)]
    assert len({s.keyid for s in signers}) == 1
    envelope = sign_envelope(b"{}", INTOTO_PAYLOAD_TYPE, signers)
    assert len(envelope.signatures) == 1


def test_a_threshold_counts_a_kms_key_once_under_two_names(
    kms: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"awskms:{kms_key(kms)}"
    for name in ("kms.pub", "same-key.pub"):
        assert main(["key", "export", uri, "-o", str(tmp_path / name)]) == 0
    artifact = tmp_path / "src" / "a.txt"
    assert main(_attest(tmp_path, "--key", uri, "--run-id", "r1")) == 0
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "name": "p",
                "expires": "2099-01-01T00:00:00Z",
                "keys": {"a": "kms.pub", "b": "same-key.pub"},
                "stages": [{"name": "source", "signed_by": ["a", "b"], "threshold": 2}],
            }
        )
    )
    capsys.readouterr()
    code = main(
        [
            "verify",
            "--policy",
            str(policy),
            "--store",
            str(tmp_path / "store"),
            "--no-log",
            "--format",
            "json",
            str(artifact),
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [r["code"] for r in report["reasons"]] == ["verify/threshold"]


def test_a_key_its_policy_denies_blocks_with_a_clear_error(
    kms: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "kms:DescribeKey", "Resource": "*"}
        ],
    }
    uri = f"awskms:{kms_key(kms, Policy=json.dumps(deny))}"
    code, text = _run(_attest(tmp_path, "--key", uri), capsys)
    assert code == 2
    assert "access denied by AWS KMS (DescribeKey)" in text
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("state", ["Disabled", "PendingDeletion"])
def test_a_disabled_or_deleted_key_blocks(
    kms: Any, tmp_path: Path, state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key_id = kms_key(kms)
    if state == "Disabled":
        kms.disable_key(KeyId=key_id)
    else:
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    code, text = _run(_attest(tmp_path, "--key", f"awskms:{key_id}"), capsys)
    assert code == 2
    assert f"the key is {state} in AWS KMS" in text


def test_an_unreachable_endpoint_blocks_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nothing listens here once the socket closes
    aws_environment(monkeypatch, f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    key = "awskms:alias/release"
    code, text = _run(_attest(tmp_path, "--key", key), capsys)
    assert code == 2
    assert f"{key}: cannot reach AWS KMS" in text and f"127.0.0.1:{closed}" in text
    assert not (tmp_path / "store").exists()


def test_no_credentials_is_a_clear_error(kms: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    key_id = kms_key(kms)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(SigningError, match="no AWS credentials"):
        load_signer(f"awskms:{key_id}")


def test_small_rsa_and_encryption_keys_are_refused(kms: Any) -> None:
    with pytest.raises(InvalidInput, match="RSA key of 2048 bits; at least 3072"):
        load_signer(f"awskms:{kms_key(kms, 'RSA_2048')}")
    encrypting = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")
    with pytest.raises(InvalidInput, match="usage is ENCRYPT_DECRYPT, not SIGN_VERIFY"):
        load_signer(f"awskms:{encrypting['KeyMetadata']['KeyId']}")


def test_a_passphrase_for_a_kms_key_is_a_mistake(kms: Any) -> None:
    with pytest.raises(InvalidInput, match="--passphrase-env does not apply"):
        load_signer(KeyRef(f"awskms:{kms_key(kms)}", "SOME_VAR"))


@pytest.mark.parametrize("uri", ["awskms:", "awskms:key id", "awskms:alias/x?y", "awskms:#1"])
def test_malformed_awskms_uris_are_refused(uri: str) -> None:
    with pytest.raises(InvalidInput, match="not an AWS KMS key URI"):
        export_public_key(uri)


def test_without_boto3_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(InvalidInput, match=r"pip install 'gatekeeper\[aws\]'"):
        load_signer("awskms:alias/release")


def test_kms_keys_are_made_with_aws_tools(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(["keygen", "awskms:alias/release"], capsys)
    assert code == 2 and "aws kms create-key" in text


def test_a_key_disabled_while_the_build_runs_fails_attest_and_stores_nothing(
    kms: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_id = kms_key(kms)
    disable = f"import boto3; boto3.client('kms').disable_key(KeyId='{key_id}')"
    argv = [*_attest(tmp_path, "--key", f"awskms:{key_id}"), "--", sys.executable, "-c", disable]
    code, text = _run(argv, capsys)
    assert code == 2
    assert f"awskms:{key_id}: signing failed: AWS KMS refused Sign: DisabledException" in text
    assert "Failed to sign" not in text  # reported once, by gatekeeper, not again by the library
    assert not list((tmp_path / "store").glob("envelopes/*"))
