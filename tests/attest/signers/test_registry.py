"""Key URIs pick their backend by scheme, from one registry, with no fallback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from securesystemslib.signer import CryptoSigner, Signature

from gatekeeper.attest.dsse import sign_envelope
from gatekeeper.attest.keys import KeyRef, load_public_key, load_signer, write_keypair
from gatekeeper.attest.signers import (
    EXTRAS,
    PEM,
    SIGNER_BACKENDS,
    GuardedSigner,
    LoadedSigner,
    backend_for,
)
from gatekeeper.cli import main
from gatekeeper.errors import InvalidInput, SigningError
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE


def test_every_documented_scheme_has_a_backend() -> None:
    assert set(SIGNER_BACKENDS) == {"file", "env", "hsm", "awskms", "gcpkms", "azurekms"}
    assert set(EXTRAS) <= set(SIGNER_BACKENDS)
    docs = (Path(__file__).parents[3] / "docs" / "attestations.md").read_text()
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    for scheme, extra in EXTRAS.items():
        assert f"{scheme}:" in docs
        assert f"'.[{extra}]'" in readme  # pip install '.[aws]' (gatekeeper[aws] from PyPI)


@pytest.mark.parametrize("uri", ["vault:secret/key", "gpg:ABCD", "file2:keys/ci", "pkcs11:id=2"])
def test_unknown_scheme_is_refused_without_fallback(uri: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown key scheme"):
        load_signer(uri)


def test_a_path_is_a_pem_file_even_with_a_colon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_keypair(Path("ci:2026"))
    assert backend_for("ci:2026") is PEM
    assert backend_for("keys/ci") is PEM
    assert load_signer("ci:2026").keyid == load_public_key("ci:2026.pub").keyid
    assert load_signer("file:ci:2026").keyid == load_public_key("ci:2026.pub").keyid


def test_a_remote_signature_that_does_not_verify_is_never_used(tmp_path: Path) -> None:
    """A token or KMS signing with another key (or over other bytes) fails attest, early."""
    write_keypair(tmp_path / "real")
    write_keypair(tmp_path / "other")
    real = load_signer(str(tmp_path / "real"))
    impostor = load_signer(str(tmp_path / "other")).signer
    bad = GuardedSigner(impostor, real.public_key, "awskms:alias/x", str)
    loaded = LoadedSigner(signer=bad, public_key=real.public_key, source="awskms:alias/x")
    with pytest.raises(SigningError, match="does not verify under its own public key"):
        sign_envelope(b"{}", INTOTO_PAYLOAD_TYPE, [loaded])


def test_a_signer_failure_keeps_its_own_reason(tmp_path: Path) -> None:
    write_keypair(tmp_path / "k")
    real = load_signer(str(tmp_path / "k"))

    class Failing(CryptoSigner):
        def sign(self, payload: bytes) -> Signature:
            raise ConnectionError("socket closed")

    inner = Failing(real.signer._inner._private_key, real.public_key)  # type: ignore[attr-defined]
    guarded = GuardedSigner(inner, real.public_key, "hsm:2", lambda exc: "the token is not present")
    loaded = LoadedSigner(signer=guarded, public_key=real.public_key, source="hsm:2")
    with pytest.raises(SigningError) as raised:
        sign_envelope(b"{}", INTOTO_PAYLOAD_TYPE, [loaded])
    assert str(raised.value) == "hsm:2: signing failed: the token is not present"


def test_passphrase_env_belongs_to_the_key_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["attest", "--stage", "s", "--repo", str(tmp_path), "--allow-empty"]
    assert main([*base, "--passphrase-env", "P", "--key", "k"]) == 2
    assert "--passphrase-env NAME must follow the --key it belongs to" in capsys.readouterr().err
    assert main([*base, "--key", "k", "--passphrase-env", "P", "--passphrase-env", "Q"]) == 2
    assert "--passphrase-env given twice for --key k" in capsys.readouterr().err


def test_keyref_defaults_to_no_secret() -> None:
    assert KeyRef("keys/ci").secret_env is None
    assert KeyRef("hsm:2?label=x").scheme == "hsm"


def test_hsm_without_python_pkcs11_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pkcs11", None)
    monkeypatch.setenv("HSM_PIN", "1234")
    with pytest.raises(InvalidInput, match=r"pip install 'gatekeeper\[hsm\]'"):
        load_signer(KeyRef("hsm:2?label=release", "HSM_PIN"))
