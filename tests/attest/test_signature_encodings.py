"""DSSE signatures in every encoding a key may declare: ECDSA in DER or raw r||s, RSA with
RSASSA-PSS or PKCS#1 v1.5, Ed25519. Verified with cryptography; securesystemslib signs (and
checks DER) as the oracle where it accepts the same encoding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from securesystemslib.signer import CryptoSigner, Signature, SSlibKey

from gatekeeper.attest.dsse import pae, signature_verifies
from gatekeeper.attest.keys import load_public_key, parse_public_key
from gatekeeper.errors import InvalidInput

MESSAGE = pae("application/vnd.in-toto+json", b'{"_type":"https://in-toto.io/Statement/v1"}')


def _pem(public: Any) -> bytes:
    data: bytes = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


def _declared(public: Any, keytype: str, scheme: str) -> bytes:
    """An in-toto / securesystemslib JSON key that declares its scheme."""
    value = (
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
        if keytype == "ed25519"
        else _pem(public).decode()
    )
    return json.dumps(
        {
            "keytype": keytype,
            "scheme": scheme,
            "keyid_hash_algorithms": ["sha256"],
            "keyval": {"public": value},
        }
    ).encode()


def _raw(der: bytes, size: int) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


@pytest.mark.parametrize(
    ("curve", "digest", "size"),
    [(ec.SECP256R1(), hashes.SHA256(), 32), (ec.SECP384R1(), hashes.SHA384(), 48)],
)
def test_ecdsa_verifies_in_der_and_in_raw_r_s(curve: Any, digest: Any, size: int) -> None:
    private = ec.generate_private_key(curve)
    key = parse_public_key(_pem(private.public_key()), "ecdsa.pub")
    der = private.sign(MESSAGE, ec.ECDSA(digest))
    raw = _raw(der, size)
    assert signature_verifies(key, der, MESSAGE)
    assert signature_verifies(key, raw, MESSAGE)
    # securesystemslib accepts the DER form only: the oracle agrees where it can.
    key.verify_signature(Signature(key.keyid, der.hex()), MESSAGE)
    # Another message, a flipped bit in either form, a truncated raw form: nothing verifies.
    assert not signature_verifies(key, der, MESSAGE + b" ")
    assert not signature_verifies(key, raw[:-1] + bytes([raw[-1] ^ 1]), MESSAGE)
    assert not signature_verifies(key, raw[:-1], MESSAGE)
    # P-256/SHA-256 is not P-384/SHA-384: the curve fixes the hash.
    wrong_hash = private.sign(MESSAGE, ec.ECDSA(hashes.SHA512()))
    assert not signature_verifies(key, wrong_hash, MESSAGE)


def test_securesystemslib_ecdsa_signer_is_verified() -> None:
    signer = CryptoSigner.generate_ecdsa()
    signature = signer.sign(MESSAGE)
    key = parse_public_key(_pem(signer._private_key.public_key()), "sslib.pub")
    assert signature_verifies(key, bytes.fromhex(signature.signature), MESSAGE)


def test_rsa_pss_is_the_default_and_pkcs1v15_must_be_declared() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    pss = private.sign(
        MESSAGE, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
    )
    pkcs1 = private.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    pem_key = parse_public_key(_pem(private.public_key()), "rsa.pub")
    assert pem_key.scheme == "rsassa-pss-sha256"
    assert signature_verifies(pem_key, pss, MESSAGE)
    # SECURITY: the padding is what the key declares, never a fallback to the other one.
    assert not signature_verifies(pem_key, pkcs1, MESSAGE)
    declared = parse_public_key(
        _declared(private.public_key(), "rsa", "rsa-pkcs1v15-sha256"), "k.json"
    )
    assert declared.scheme == "rsa-pkcs1v15-sha256"
    assert signature_verifies(declared, pkcs1, MESSAGE)
    assert not signature_verifies(declared, pss, MESSAGE)
    # The oracle: securesystemslib verifies the same PKCS#1 v1.5 signature under the same key.
    declared.verify_signature(Signature(declared.keyid, pkcs1.hex()), MESSAGE)


@pytest.mark.parametrize(
    "scheme", ["rsassa-pss-sha256", "rsassa-pss-sha512", "rsa-pkcs1v15-sha384"]
)
def test_securesystemslib_rsa_signers_are_verified_in_their_scheme(scheme: str) -> None:
    signer = CryptoSigner.generate_rsa(scheme=scheme)
    signature = bytes.fromhex(signer.sign(MESSAGE).signature)
    public = signer._private_key.public_key()
    key = parse_public_key(_declared(public, "rsa", scheme), "k.json")
    assert key.keyid == SSlibKey.from_crypto(public, scheme=scheme).keyid
    assert signature_verifies(key, signature, MESSAGE)


def test_ed25519_json_key_verifies() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    key = parse_public_key(_declared(private.public_key(), "ed25519", "ed25519"), "k.json")
    assert signature_verifies(key, private.sign(MESSAGE), MESSAGE)
    assert not signature_verifies(key, private.sign(MESSAGE + b"x"), MESSAGE)


@pytest.mark.parametrize(
    ("keytype", "scheme", "message"),
    [
        ("rsa", "ecdsa-sha2-nistp256", "does not fit this rsa key"),
        ("ecdsa", "ecdsa-sha2-nistp384", "does not fit this ecdsa key"),
        ("rsa", "rsa-pkcs1v15-md5", "does not fit this rsa key"),
        ("ecdsa", "rsassa-pss-sha256", "keytype 'ecdsa', but keyval.public is a rsa key"),
        ("ed25519", "ed25519", "keyval.public is not a ed25519 public key"),
    ],
)
def test_a_scheme_the_key_cannot_use_is_refused(keytype: str, scheme: str, message: str) -> None:
    public: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=3072).public_key()
        if keytype == "rsa" or scheme.startswith("rsa")
        else ec.generate_private_key(ec.SECP256R1()).public_key()
    )
    data = json.dumps(
        {"keytype": keytype, "scheme": scheme, "keyval": {"public": _pem(public).decode()}}
    )
    with pytest.raises(InvalidInput, match=message):
        parse_public_key(data.encode(), "k.json")


def test_json_keys_with_a_private_part_or_missing_fields_are_refused(tmp_path: Path) -> None:
    public = _pem(ec.generate_private_key(ec.SECP256R1()).public_key()).decode()
    with pytest.raises(InvalidInput, match="holds a private key"):
        parse_public_key(
            json.dumps(
                {
                    "keytype": "ecdsa",
                    "scheme": "ecdsa-sha2-nistp256",
                    "keyval": {"public": public, "private": "x"},
                }
            ).encode(),
            "k.json",
        )
    with pytest.raises(InvalidInput, match=r"needs keytype, scheme and keyval\.public"):
        parse_public_key(b'{"keytype": "ecdsa"}', "k.json")
    path = tmp_path / "k.json"
    path.write_text(
        json.dumps(
            {"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256", "keyval": {"public": public}}
        )
    )
    assert load_public_key(path).scheme == "ecdsa-sha2-nistp256"


def test_a_small_rsa_key_is_refused_in_either_form() -> None:
    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    for data in (_pem(public), _declared(public, "rsa", "rsa-pkcs1v15-sha256")):
        with pytest.raises(InvalidInput, match="at least 3072 required"):
            parse_public_key(data, "small.pub")
