"""Key generation and loading: every supported type, encrypted keys, env keys, bad input."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gatekeeper.attest.keys import load_public_key, load_signer, write_keypair
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput


@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa-p256", "rsa"])
def test_keygen_writes_private_0600_and_public(tmp_path: Path, key_type: str) -> None:
    key_path = tmp_path / "keys" / "ci"
    assert main(["keygen", str(key_path), "--type", key_type]) == 0
    mode = stat.S_IMODE(os.stat(key_path).st_mode)
    assert mode == 0o600
    assert b"PRIVATE KEY" in key_path.read_bytes()
    public = load_public_key(f"{key_path}.pub")
    signer = load_signer(str(key_path))
    assert signer.keyid == public.keyid  # key id derived from the key, the same both ways
    assert len(public.keyid) == 64


def test_rsa_keys_are_3072_bits_pss(tmp_path: Path) -> None:
    write_keypair(tmp_path / "k", "rsa")
    pub = serialization.load_pem_public_key((tmp_path / "k.pub").read_bytes())
    assert isinstance(pub, rsa.RSAPublicKey) and pub.key_size == 3072
    assert load_public_key(tmp_path / "k.pub").scheme == "rsassa-pss-sha256"


def test_small_rsa_key_is_refused(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "small.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(InvalidInput, match="at least 3072"):
        load_public_key(tmp_path / "small.pub")


def test_keygen_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", str(tmp_path / "k")]) == 0
    before = (tmp_path / "k").read_bytes()
    assert main(["keygen", str(tmp_path / "k")]) == 2
    assert "exists" in capsys.readouterr().err
    assert (tmp_path / "k").read_bytes() == before


def test_encrypted_key_needs_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYPASS", "correct horse")
    assert main(["keygen", str(tmp_path / "k"), "--passphrase-env", "KEYPASS"]) == 0
    assert b"ENCRYPTED" in (tmp_path / "k").read_bytes()
    monkeypatch.delenv("GATEKEEPER_KEY_PASSPHRASE", raising=False)
    with pytest.raises(
        InvalidInput,
        match=r"encrypted; give --passphrase-env NAME after this --key.*or set GATEKEEPER_KEY_PASSPHRASE",
    ):
        load_signer(str(tmp_path / "k"))
    monkeypatch.setenv("GATEKEEPER_KEY_PASSPHRASE", "wrong")
    with pytest.raises(InvalidInput, match="wrong passphrase"):
        load_signer(str(tmp_path / "k"))
    monkeypatch.setenv("GATEKEEPER_KEY_PASSPHRASE", "correct horse")
    assert load_signer(str(tmp_path / "k")).keyid == load_public_key(tmp_path / "k.pub").keyid


def test_key_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_keypair(tmp_path / "k")
    monkeypatch.setenv("CI_SIGNING_KEY", (tmp_path / "k").read_text())
    assert load_signer("env:CI_SIGNING_KEY").keyid == load_public_key(tmp_path / "k.pub").keyid
    with pytest.raises(InvalidInput, match="env:MISSING_VAR: the environment variable is not set"):
        load_signer("env:MISSING_VAR")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"not a key", "not a PEM private key"),
        (
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "not a PEM private key",
        ),
    ],
)
def test_bad_private_keys(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "key"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message):
        load_signer(str(path))


def test_unknown_key_scheme_has_no_fallback(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown key scheme"):
        load_signer("vault:secret/key")


def test_private_key_given_as_public_is_refused(tmp_path: Path) -> None:
    write_keypair(tmp_path / "k")
    with pytest.raises(InvalidInput, match="is a private key"):
        load_public_key(tmp_path / "k")
