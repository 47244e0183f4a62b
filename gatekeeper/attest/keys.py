"""Signing keys: generation, loading (file, environment, KMS) and key ids.

Keys are Ed25519 (default), ECDSA P-256 or RSA (PSS, >= 3072 bits), as PEM. Signing and
verification go through securesystemslib's key abstraction, so key ids and signature
schemes are the ones in-toto uses: a key id is the sha256 of the canonical public key,
derived from the key itself, never taken from an envelope.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from securesystemslib.signer import CryptoSigner, Signer, SSlibKey

from gatekeeper._fileio import atomic_write, read_bounded
from gatekeeper.errors import InvalidInput, SigningError

KEY_TYPES = ("ed25519", "ecdsa-p256", "rsa")
RSA_BITS = 3072
MIN_RSA_BITS = 3072
PASSPHRASE_ENV = "GATEKEEPER_KEY_PASSPHRASE"  # noqa: S105 - a variable name
MAX_KEY_BYTES = 64 * 1024
# securesystemslib signer URI schemes gatekeeper passes through (cloud KMS, HSM).
KMS_SCHEMES = ("gcpkms", "awskms")


@dataclass(frozen=True)
class LoadedSigner:
    signer: Signer
    public_key: SSlibKey
    source: str  # where it came from, for messages (never the key material)

    @property
    def keyid(self) -> str:
        return str(self.public_key.keyid)


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


def public_key_from_crypto(public_key: Any, source: str) -> SSlibKey:
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < MIN_RSA_BITS:
        raise InvalidInput(
            f"{source}: RSA key of {public_key.key_size} bits; at least {MIN_RSA_BITS} required"
        )
    if isinstance(public_key, ec.EllipticCurvePublicKey) and not isinstance(
        public_key.curve, ec.SECP256R1 | ec.SECP384R1
    ):
        raise InvalidInput(f"{source}: unsupported ECDSA curve {public_key.curve.name}")
    try:
        return SSlibKey.from_crypto(public_key)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{source}: unsupported public key type") from exc


def load_public_key(path: str | Path) -> SSlibKey:
    """Read a PEM public key (a private key file is refused).

    Raises:
        InvalidInput: unreadable, not PEM, or an unsupported type.
    """
    data = read_bounded(path, MAX_KEY_BYTES)
    if b"PRIVATE KEY" in data:
        raise InvalidInput(f"{path}: is a private key; give the public key (.pub)")
    try:
        public_key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidInput(f"{path}: not a PEM public key") from exc
    return public_key_from_crypto(public_key, str(path))


def _private_from_pem(data: bytes, source: str, passphrase_env: str) -> Any:
    passphrase = os.environ.get(passphrase_env)
    password = passphrase.encode() if passphrase else None
    try:
        return serialization.load_pem_private_key(data, password=password)
    except TypeError as exc:
        if password is None:
            raise InvalidInput(
                f"{source}: the key is encrypted; set {passphrase_env} to its passphrase"
            ) from exc
        raise InvalidInput(
            f"{source}: the key is not encrypted but {passphrase_env} is set"
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        if password is not None and b"ENCRYPTED" in data:
            raise InvalidInput(f"{source}: wrong passphrase in {passphrase_env}") from exc
        raise InvalidInput(f"{source}: not a PEM private key") from exc


def _private_pem(spec: str) -> tuple[bytes, str]:
    """The PEM bytes a ``PATH``, ``file:PATH`` or ``env:NAME`` spec names, and where from."""
    scheme, sep, rest = spec.partition(":")
    if sep and scheme == "env":
        value = os.environ.get(rest)
        if not value:
            raise InvalidInput(f"env:{rest}: the environment variable is not set or empty")
        return value.encode(), f"env:{rest}"
    if sep and scheme == "file":
        return read_bounded(rest, MAX_KEY_BYTES), rest
    if sep and len(scheme) > 1 and not Path(spec).exists():
        raise InvalidInput(
            f"{spec}: unknown key scheme {scheme!r} (use a path, file:, env: or a KMS URI)"
        )
    return read_bounded(spec, MAX_KEY_BYTES), spec


def load_signer(spec: str, *, passphrase_env: str = PASSPHRASE_ENV) -> LoadedSigner:
    """Load a signer from ``PATH``, ``file:PATH``, ``env:NAME`` (PEM in a variable) or a KMS URI.

    Raises:
        InvalidInput: the key is missing, unreadable, encrypted without a passphrase, or
            the scheme is unknown. There is never a default fallback.
    """
    scheme, sep, _ = spec.partition(":")
    if sep and scheme in KMS_SCHEMES:
        return _load_kms_signer(spec)
    data, source = _private_pem(spec)
    if b"PRIVATE KEY" not in data:
        raise InvalidInput(f"{source}: not a PEM private key")
    private_key = _private_from_pem(data, source, passphrase_env)
    public = public_key_from_crypto(private_key.public_key(), source)
    try:
        signer = CryptoSigner(private_key, public)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{source}: unsupported private key") from exc
    return LoadedSigner(signer=signer, public_key=public, source=source)


def _load_kms_signer(uri: str) -> LoadedSigner:
    """A KMS/HSM-backed signer through securesystemslib (its optional cloud libraries needed)."""
    from securesystemslib.signer import SIGNER_FOR_URI_SCHEME

    scheme = uri.partition(":")[0]
    cls = SIGNER_FOR_URI_SCHEME.get(scheme)
    importer = getattr(cls, "import_", None)
    if cls is None or importer is None:
        raise InvalidInput(f"{uri}: no securesystemslib signer for scheme {scheme!r}")
    try:
        priv_uri, public = importer(uri.partition(":")[2])
        signer = Signer.from_priv_key_uri(priv_uri, public)
    except Exception as exc:  # the cloud SDKs raise their own types; any failure is a refusal
        raise SigningError(f"{uri}: cannot load KMS key: {type(exc).__name__}: {exc}") from exc
    if not isinstance(public, SSlibKey):
        raise SigningError(f"{uri}: KMS key type not supported")
    return LoadedSigner(signer=signer, public_key=public, source=uri)
