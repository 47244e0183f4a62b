"""Signing keys: generation, loading by URI (PEM file, environment, PKCS#11, KMS), key ids.

Keys are Ed25519 (default), ECDSA P-256/P-384 or RSA (PSS, >= 3072 bits). Signing and
verification go through securesystemslib's key abstraction, so key ids and signature
schemes are the ones in-toto uses: a key id is the sha256 of the canonical public key,
derived from the key itself, never taken from an envelope. Where the private key lives is
chosen by the ``--key`` URI's scheme (``attest/signers/``); the public key, and so the key
id, is the same whether it is read from a KMS, a token or the PEM exported from them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from securesystemslib.signer import SSlibKey

from gatekeeper._fileio import loads_json_strict, read_bounded
from gatekeeper.attest.signers import (
    GeneratedKey,
    KeyRef,
    LoadedSigner,
    backend_for,
    public_key_from_crypto,
    public_key_from_pem,
    public_key_pem,
)
from gatekeeper.attest.signers.base import MIN_RSA_BITS
from gatekeeper.attest.signers.pem import (
    KEY_TYPES,
    MAX_KEY_BYTES,
    PASSPHRASE_ENV,
    RSA_BITS,
    generate_private_key,
    write_keypair,
)
from gatekeeper.attest.signers.pkcs11 import PIN_ENV
from gatekeeper.errors import InvalidInput

__all__ = [
    "KEY_TYPES",
    "MAX_KEY_BYTES",
    "MIN_RSA_BITS",
    "PASSPHRASE_ENV",
    "PIN_ENV",
    "RSA_BITS",
    "GeneratedKey",
    "KeyRef",
    "LoadedSigner",
    "export_public_key",
    "generate_key",
    "generate_private_key",
    "load_public_key",
    "load_signer",
    "parse_public_key",
    "public_key_from_crypto",
    "public_key_pem",
    "write_keypair",
]


def _ref(key: str | KeyRef) -> KeyRef:
    return key if isinstance(key, KeyRef) else KeyRef(key)


def load_signer(key: str | KeyRef) -> LoadedSigner:
    """A signer for a ``--key`` URI: a PEM path, ``file:PATH``, ``env:NAME``, ``hsm:...``,
    ``awskms:...``, ``gcpkms:...`` or ``azurekms:...``.

    Raises:
        InvalidInput / SigningError: the key is missing, unreadable, encrypted without a
            passphrase, on a token that refuses the PIN, denied or unreachable in a KMS, or
            the scheme is unknown. There is never a default fallback.
    """
    ref = _ref(key)
    return backend_for(ref.uri).load(ref)


def export_public_key(key: str | KeyRef) -> SSlibKey:
    """The public key of any ``--key`` URI (what ``gatekeeper key export`` writes).

    Raises:
        InvalidInput / SigningError: as ``load_signer``.
    """
    ref = _ref(key)
    return backend_for(ref.uri).public_key(ref)


def generate_key(key: str | KeyRef, key_type: str | None, force: bool = False) -> GeneratedKey:
    """A new key at a ``--key`` URI: PEM files, or a key pair made on a PKCS#11 token.

    Raises:
        InvalidInput: the files exist (without ``force``), the id is taken on the token,
            the type does not fit, or the scheme's keys are made with the provider's tools.
    """
    ref = _ref(key)
    return backend_for(ref.uri).generate(ref, key_type, force)


def load_public_key(path: str | Path) -> SSlibKey:
    """Read a public key file: PEM, or an in-toto key that declares its scheme.

    Raises:
        InvalidInput: unreadable, a private key, not a public key, or an unsupported type.
    """
    return parse_public_key(read_bounded(path, MAX_KEY_BYTES), str(path))


def parse_public_key(data: bytes, source: str) -> SSlibKey:
    """A public key from a key file's bytes.

    Two forms: SubjectPublicKeyInfo PEM (the scheme follows from the key: RSA signs with
    RSASSA-PSS), or an in-toto / securesystemslib key (JSON with ``keytype``, ``scheme`` and
    ``keyval.public``) whose ``scheme`` declares how it signs, e.g. ``rsa-pkcs1v15-sha256``
    for an RSA key that signs with PKCS#1 v1.5. Other fields of the JSON form are ignored.

    Raises:
        InvalidInput: a private key, neither form, or a scheme the key cannot use.
    """
    if b"PRIVATE KEY" in data:
        raise InvalidInput(f"{source}: is a private key; give the public key (.pub)")
    if data.lstrip().startswith(b"{"):
        return _declared_key(data, source)
    return public_key_from_pem(data, source)


def _declared_key(data: bytes, source: str) -> SSlibKey:
    """An in-toto / securesystemslib JSON key. Raises InvalidInput."""
    try:
        obj: Any = loads_json_strict(data)
    except ValueError as exc:
        raise InvalidInput(f"{source}: not a PEM public key or a JSON key ({exc})") from exc
    keyval = obj.get("keyval") if isinstance(obj, dict) else None
    keytype, scheme = (obj.get("keytype"), obj.get("scheme")) if isinstance(obj, dict) else ("", "")
    public = keyval.get("public") if isinstance(keyval, dict) else None
    if not isinstance(keytype, str) or not isinstance(scheme, str) or not isinstance(public, str):
        raise InvalidInput(f"{source}: a JSON key needs keytype, scheme and keyval.public")
    if isinstance(keyval, dict) and keyval.get("private"):
        raise InvalidInput(f"{source}: holds a private key; give the public key only")
    try:
        crypto_key: Any = (
            ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))
            if keytype == "ed25519"
            else serialization.load_pem_public_key(public.encode("utf-8"))
        )
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidInput(f"{source}: keyval.public is not a {keytype} public key") from exc
    key = public_key_from_crypto(crypto_key, source, scheme=scheme)
    declared = "ecdsa" if keytype.startswith("ecdsa") else keytype
    if key.keytype != declared:
        raise InvalidInput(
            f"{source}: keytype {keytype!r}, but keyval.public is a {key.keytype} key"
        )
    return key
