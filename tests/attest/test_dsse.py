"""DSSE: PAE, the specification's test vector, and interoperability with securesystemslib."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from securesystemslib import dsse as sslib_dsse
from securesystemslib.signer import CryptoSigner

from gatekeeper.attest.dsse import b64decode_strict, pae, sign_envelope, verify_envelope_signatures
from gatekeeper.attest.keys import load_public_key, load_signer, write_keypair
from gatekeeper.errors import MalformedInput
from gatekeeper.models.envelope import Envelope

# The test vector published in the DSSE protocol specification (protocol.md, "Test Vectors").
SPEC_X = 46950820868899156662930047687818585632848591499744589407958293238635476079160
SPEC_Y = 5640078356564379163099075877009565129882514886557779369047442380624545832820
SPEC_ENVELOPE = {
    "payload": "aGVsbG8gd29ybGQ=",
    "payloadType": "http://example.com/HelloWorld",
    "signatures": [
        {
            "sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKci"
            "JTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="
        }
    ],
}


def test_pae_matches_the_specification() -> None:
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("", b"") == b"DSSEv1 0  0 "
    # Lengths count bytes, not characters.
    assert pae("t\u00e9", b"\xff") == b"DSSEv1 3 t\xc3\xa9 1 \xff"


def test_specification_test_vector_verifies() -> None:
    envelope = Envelope.model_validate(SPEC_ENVELOPE)
    payload = b64decode_strict(envelope.payload, "payload")
    raw = b64decode_strict(envelope.signatures[0].sig, "sig")
    public = ec.EllipticCurvePublicNumbers(SPEC_X, SPEC_Y, ec.SECP256R1()).public_key()
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, pae(envelope.payload_type, payload), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        public.verify(der, pae(envelope.payload_type, b"hello world!"), ec.ECDSA(hashes.SHA256()))


def test_base64_accepts_standard_and_url_safe_and_rejects_garbage() -> None:
    assert b64decode_strict("-_8=", "x") == b64decode_strict("+/8=", "x") == b"\xfb\xff"
    assert b64decode_strict("aGk", "x") == b"hi"  # unpadded
    with pytest.raises(MalformedInput):
        b64decode_strict("not base64!", "x")


@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa-p256", "rsa"])
def test_our_envelopes_verify_with_securesystemslib(tmp_path: Path, key_type: str) -> None:
    write_keypair(tmp_path / "k", key_type)
    envelope = sign_envelope(
        b'{"hello": "world"}', "application/vnd.in-toto+json", [load_signer(str(tmp_path / "k"))]
    )
    theirs = sslib_dsse.Envelope.from_dict(json.loads(envelope.model_dump_json(by_alias=True)))
    accepted = theirs.verify([load_public_key(tmp_path / "k.pub")], 1)
    assert list(accepted) == [load_public_key(tmp_path / "k.pub").keyid]


def test_securesystemslib_envelopes_verify_with_us() -> None:
    signer = CryptoSigner.generate_ed25519()
    theirs = sslib_dsse.Envelope(b"payload bytes", "application/vnd.in-toto+json", {})
    theirs.sign(signer)
    envelope = Envelope.model_validate(theirs.to_dict())
    payload, checks = verify_envelope_signatures(envelope, {"ci": signer.public_key})
    assert payload == b"payload bytes"
    assert checks[0].verified_by == ("ci",)


def test_tampered_payload_does_not_verify(tmp_path: Path) -> None:
    write_keypair(tmp_path / "k")
    envelope = sign_envelope(
        b"original", "application/vnd.in-toto+json", [load_signer(str(tmp_path / "k"))]
    )
    forged = envelope.model_copy(update={"payload": "b3JpZ2luYWwh"})  # "original!"
    _, checks = verify_envelope_signatures(forged, {"ci": load_public_key(tmp_path / "k.pub")})
    assert checks[0].verified_by == ()


def test_payload_type_is_signed(tmp_path: Path) -> None:
    write_keypair(tmp_path / "k")
    envelope = sign_envelope(
        b"x", "application/vnd.in-toto+json", [load_signer(str(tmp_path / "k"))]
    )
    swapped = envelope.model_copy(update={"payload_type": "application/json"})
    _, checks = verify_envelope_signatures(swapped, {"ci": load_public_key(tmp_path / "k.pub")})
    assert checks[0].verified_by == ()


def test_key_listed_twice_signs_once(tmp_path: Path) -> None:
    write_keypair(tmp_path / "k")
    signer = load_signer(str(tmp_path / "k"))
    envelope = sign_envelope(b"x", "application/vnd.in-toto+json", [signer, signer])
    assert len(envelope.signatures) == 1
