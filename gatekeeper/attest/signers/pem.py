"""Keys as PEM: a path, ``file:PATH``, or ``env:NAME`` (the PEM itself in a variable).

An encrypted key reads its passphrase from the variable its ``--passphrase-env`` names,
else from ``GATEKEEPER_KEY_PASSPHRASE``. The default variable is only a default: a key that
is not encrypted ignores it, while a key given its own ``--passphrase-env`` must be
encrypted (the flag says the user believes it is).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from securesystemslib.signer import CryptoSigner, SSlibKey

from gatekeeper._fileio import atomic_write, read_bounded
from gatekeeper.attest.signers.base import (
    GeneratedKey,
    GuardedSigner,
    KeyRef,
    LoadedSigner,
    public_key_from_crypto,
    secret_from_env,
)
from gatekeeper.errors import InvalidInput

KEY_TYPES = ("ed25519", "ecdsa-p256", "rsa")
RSA_BITS = 3072
PASSPHRASE_ENV = "GATEKEEPER_KEY_PASSPHRASE"  # noqa: S105 - a variable name
MAX_KEY_BYTES = 64 * 1024


def generate_private_key(key_type: str) -> Any:
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    raise InvalidInput(f"unknown key type {key_type!r} (one of: {', '.join(KEY_TYPES)})")


def write_keypair(
    path: Path, key_type: str = "ed25519", passphrase: bytes | None = None, force: bool = False
) -> SSlibKey:
    """Write PATH (private, PKCS#8 PEM, mode 0600) and PATH.pub; return the public key.

    Raises:
        InvalidInput: a file exists (without ``force``) or the type is unknown.
    """
    pub_path = Path(f"{path}.pub")
    if not force:
        for existing in (path, pub_path):
            if existing.exists():
                raise InvalidInput(f"{existing}: exists; pass --force to overwrite")
    private_key = generate_private_key(key_type)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    atomic_write(path, private_pem, mode=0o600)
    atomic_write(pub_path, public_pem, mode=0o644)
    return public_key_from_crypto(private_key.public_key(), str(pub_path))


def _is_encrypted(data: bytes) -> bool:
    # PKCS#8 "ENCRYPTED PRIVATE KEY", or a traditional PEM with a Proc-Type header.
    return b"ENCRYPTED" in data


def _private_from_pem(data: bytes, ref: KeyRef, source: str) -> Any:
    encrypted = _is_encrypted(data)
    secret = secret_from_env(ref, PASSPHRASE_ENV, "key's passphrase")
    if ref.secret_env and not encrypted:
        raise InvalidInput(
            f"{source}: --passphrase-env {ref.secret_env} is given but the key is not encrypted"
        )
    if encrypted and secret is None:
        raise InvalidInput(
            f"{source}: the key is encrypted; give --passphrase-env NAME after this --key "
            f"(NAME: the variable holding its passphrase), or set {PASSPHRASE_ENV}"
        )
    password = secret[0].encode() if encrypted and secret else None
    try:
        return serialization.load_pem_private_key(data, password=password)
    except TypeError as exc:  # encrypted after all, or not, against what the PEM said
        raise InvalidInput(f"{source}: not a PEM private key") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        if password is not None and secret is not None:
            raise InvalidInput(f"{source}: wrong passphrase (from {secret[1]})") from exc
        raise InvalidInput(f"{source}: not a PEM private key") from exc


def _private_pem(ref: KeyRef) -> tuple[bytes, str]:
    """The PEM bytes a ``PATH``, ``file:PATH`` or ``env:NAME`` names, and where from."""
    if ref.scheme == "env" and ":" in ref.uri:
        value = os.environ.get(ref.rest)
        if not value:
            raise InvalidInput(f"env:{ref.rest}: the environment variable is not set or empty")
        return value.encode(), f"env:{ref.rest}"
    path = ref.rest if ref.scheme == "file" and ":" in ref.uri else ref.uri
    return read_bounded(path, MAX_KEY_BYTES), path


def load_private_key(ref: KeyRef) -> tuple[Any, str]:
    """The private key a PEM reference names, decrypted, and where it came from.

    Raises:
        InvalidInput: missing, unreadable, not PEM, encrypted without a passphrase, a
            wrong passphrase, or a passphrase given for a key that is not encrypted.
    """
    data, source = _private_pem(ref)
    if b"PRIVATE KEY" not in data:
        raise InvalidInput(f"{source}: not a PEM private key")
    return _private_from_pem(data, ref, source), source


class PemBackend:
    """A path, ``file:PATH`` or ``env:NAME``."""

    def load(self, ref: KeyRef) -> LoadedSigner:
        private_key, source = load_private_key(ref)
        public = public_key_from_crypto(private_key.public_key(), source)
        try:
            signer = CryptoSigner(private_key, public)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"{source}: unsupported private key") from exc
        guarded = GuardedSigner(signer, public, source, lambda exc: type(exc).__name__)
        return LoadedSigner(signer=guarded, public_key=public, source=source)

    def public_key(self, ref: KeyRef) -> SSlibKey:
        private_key, source = load_private_key(ref)
        return public_key_from_crypto(private_key.public_key(), source)

    def generate(self, ref: KeyRef, key_type: str | None, force: bool) -> GeneratedKey:
        if ref.scheme == "env" and ":" in ref.uri:
            raise InvalidInput(f"{ref.uri}: keygen writes files; give a path")
        path = Path(ref.rest if ref.scheme == "file" and ":" in ref.uri else ref.uri)
        passphrase = None
        if ref.secret_env:
            secret = secret_from_env(ref, PASSPHRASE_ENV, "passphrase to encrypt the key with")
            passphrase = secret[0].encode() if secret else None
        public = write_keypair(path, key_type or "ed25519", passphrase, force=force)
        return GeneratedKey(public, f"{path} (private, 0600) and {path}.pub")


PEM = PemBackend()
